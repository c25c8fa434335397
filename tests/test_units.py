"""The systemd units (checked by systemd's own tools) and `va install` into a prefix."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from va.service import install

ROOT = Path(__file__).resolve().parent.parent
UNITS = ("va-server.service", "va-client.service")
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def _directives(text: str) -> dict:
    """key -> list of values, in order (Environment= and others may repeat)."""
    found: dict = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def _verify(unit: Path) -> list:
    """What `systemd-analyze verify` says about this unit (other units' complaints left out)."""
    result = subprocess.run(
        ["systemd-analyze", "verify", unit.name], cwd=unit.parent, capture_output=True, text=True, timeout=120
    )
    lines = (result.stdout + result.stderr).splitlines()
    complaints = [line for line in lines if unit.name in line or unit.stem in line]
    if result.returncode != 0:
        complaints.append(f"exit status {result.returncode}: {lines}")
    return complaints


def _render(name: str, directory: Path) -> Path:
    """The unit as `va install` writes it, ExecStart= running this interpreter (which exists)."""
    unit = directory / name
    unit.write_text(install.render_unit((ROOT / "systemd" / name).read_text(), [sys.executable, "-m", "va"]))
    return unit


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_unit_passes_systemd_analyze_verify(tmp_path, name):
    assert _verify(_render(name, tmp_path)) == []


@needs_analyze
def test_verify_catches_a_broken_unit(tmp_path):
    unit = _render("va-client.service", tmp_path)
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    assert any("Unknown key" in line for line in _verify(unit))
    unit.write_text(install.render_unit((ROOT / "systemd" / unit.name).read_text(), ["/nonexistent/va"]))
    assert any("not executable" in line for line in _verify(unit))


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_unit_is_hardened(tmp_path, name):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", name],
        cwd=_render(name, tmp_path).parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    if level is None:
        pytest.skip(f"this systemd-analyze cannot score offline: {result.stderr.strip()}")
    assert float(level.group(1)) < 3.0, result.stdout


@pytest.mark.parametrize("name, subcommand", [("va-server.service", "server"), ("va-client.service", "client")])
def test_unit_is_a_notify_daemon_with_watchdog_and_reload(name, subcommand):
    unit = _directives((ROOT / "systemd" / name).read_text())
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"]
    assert unit["ExecStart"] == [f"/usr/local/bin/va {subcommand} --config /etc/va/config.yaml"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["WatchdogSec"] == ["30"] and unit["Restart"] == ["on-failure"] and unit["RestartSec"] == ["2"]
    assert unit["User"] == ["va"] and "PYTHONUNBUFFERED=1" in unit["Environment"]


def test_client_unit_reaches_the_sound_devices_and_not_pulls_in_the_server():
    unit = _directives((ROOT / "systemd" / "va-client.service").read_text())
    assert unit["SupplementaryGroups"] == ["audio"]
    assert "char-alsa rw" in unit["DeviceAllow"]
    assert unit["RestrictRealtime"] == ["no"]
    assert "PrivateDevices" not in unit
    assert "va-server.service" in unit["After"][0]  # ordered after a local server...
    assert not any("va-server" in v for v in unit.get("Wants", []) + unit.get("Requires", []))  # ...not tied to one


@needs_analyze
def test_client_unit_with_the_sound_server_drop_in_passes_verify(tmp_path):
    drop_in = (ROOT / "systemd" / "sound-server.conf").read_text()
    assert "Environment=PULSE_SERVER=unix:/run/va-audio/native" in drop_in.splitlines()
    unit = _render("va-client.service", tmp_path)
    service = drop_in[drop_in.index("[Service]") + len("[Service]"):]
    unit.write_text(unit.read_text().replace("[Install]", service.strip() + "\n\n[Install]"))  # as systemd merges it
    assert _verify(unit) == []
    assert "unix:/run/va-audio/native" in _directives(unit.read_text())["Environment"][-1]


def _install(prefix: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "INVOCATION_ID")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "va", "install", "--prefix", str(prefix), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_into_a_prefix_places_units_config_and_commands_dir(tmp_path):
    result = _install(tmp_path, "--server")
    assert result.returncode == 0, result.stderr
    for name, subcommand in (("va-server.service", "server"), ("va-client.service", "client")):
        [exec_start] = _directives((tmp_path / "etc/systemd/system" / name).read_text())["ExecStart"]
        program, *arguments = exec_start.split()
        assert Path(program).is_absolute() and os.access(program, os.X_OK), exec_start
        assert arguments[-3:] == [subcommand, "--config", "/etc/va/config.yaml"]
    config = tmp_path / "etc/va/config.yaml"
    assert config.read_text() == (ROOT / "config/config.yaml").read_text()
    assert (tmp_path / "etc/va/commands").is_dir()
    if shutil.which("systemd-analyze"):
        assert _verify(tmp_path / "etc/systemd/system/va-client.service") == []


def test_install_keeps_an_existing_config_and_installs_only_the_client_by_default(tmp_path):
    config = tmp_path / "etc/va/config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("keyword: jarvis\n")
    result = _install(tmp_path)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == "keyword: jarvis\n"
    assert sorted(p.name for p in (tmp_path / "etc/systemd/system").iterdir()) == ["va-client.service"]


def test_installed_units_run_the_console_script_beside_the_interpreter(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "va"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    monkeypatch.setattr(sys, "argv", ["/somewhere/pytest"])
    assert install.va_command() == [str(script)]
    text = install.render_unit("ExecStart=/usr/local/bin/va client --config /etc/va/config.yaml\n", install.va_command())
    assert text == f"ExecStart={script} client --config /etc/va/config.yaml\n"


def test_shipped_files_are_found():
    assert install.data_file("systemd", "va-client.service").is_file()
    assert install.data_file("config", "config.yaml").is_file()
