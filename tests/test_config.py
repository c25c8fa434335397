"""va.config: the example file, the defaults, and an error message naming file, line and key."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from va.config import loader as config_module
from va.config import ConfigError, Settings, load_settings, parse_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "config.yaml"


def _va(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "INVOCATION_ID", "VA_CONFIG")}
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [(env or {}).get("PYTHONPATH"), str(ROOT)]))
    return subprocess.run(
        [sys.executable, "-m", "va", *arguments], env=environment, capture_output=True, text=True, timeout=120
    )


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_settings(text)
    return str(raised.value)


def test_example_config_is_the_defaults_but_for_paths():
    settings = load_settings(EXAMPLE)
    assert settings.source == str(EXAMPLE)
    assert settings.commands.paths == ("/etc/va/commands",)
    example = dataclasses.replace(settings, source=None, commands=dataclasses.replace(settings.commands, paths=()))
    assert example == Settings()


def _keys(cls, prefix=""):
    for field in dataclasses.fields(cls):
        if "section" in field.metadata:
            yield from _keys(field.metadata["section"], f"{prefix}{field.name}.")
        elif field.metadata:
            yield prefix + field.name


def test_example_config_has_every_key_with_a_comment():
    """Each key is in the example, and each group of keys sits under a comment."""
    lines = EXAMPLE.read_text().splitlines()
    present, sections, documented = set(), [], False
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            documented = stripped.startswith("#")
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        key, _, value = stripped.partition(":")
        sections[depth:] = [key]
        if not value.strip():
            documented = False  # a section header: the keys under it need their own comment
            continue
        assert documented, f"config.yaml: {'.'.join(sections)} has no comment above it"
        present.add(".".join(sections))
    assert present == set(_keys(Settings))


def test_defaults_match_the_contract():
    settings = Settings()
    assert settings.keyword == "computer"
    assert settings.server_url == ("ws://127.0.0.1:8001",)
    assert settings.commands.modules == ("clock", "system")
    assert (settings.server.engine, settings.server.model, settings.server.port) == ("faster-whisper", "tiny.en", 8001)
    assert settings.microphone.energy_threshold is None
    assert (settings.microphone.vad, settings.microphone.vad_level) == ("webrtc", 2)
    assert settings.source is None


def test_bad_value_is_reported_by_the_cli_with_file_line_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("keyword: computer\ncommands:\n  threshold: lots\n")
    result = _va("check", "--config", str(bad))
    assert result.returncode != 0
    assert f"{bad}:3: commands.threshold must be a number from 0 to 100, got 'lots'" in result.stderr


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: cannot read the configuration: No such file"):
        load_settings(tmp_path / "nope.yaml")


def test_unknown_key_suggests_the_close_one():
    message = _error("keyword: computer\nserver:\n  engine: faster-whisper\n  modle: base.en\n")
    assert message.startswith("config.yaml:4: unknown key server.modle (did you mean server.model?)")
    assert "allowed here: host, port, engine, model" in message


def test_unknown_top_level_key():
    assert _error("kyeword: jarvis\n").startswith("config.yaml:1: unknown key kyeword (did you mean keyword?)")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("keyword: ''", "config.yaml:1: keyword must be a non-empty string, got ''"),
        ("keyword: 12", "config.yaml:1: keyword must be a non-empty string, got 12"),
        ("token: ''", "config.yaml:1: token must be null or a non-empty string, got ''"),
        ("server_url: http://x:8001", "config.yaml:1: server_url must be a ws:// or wss:// URL, got 'http://x:8001'"),
        ("server_url: []", "server_url must be a ws:// or wss:// URL or a non-empty list of them, got an empty list"),
        ("server_url:\n  - ws://a:1\n  - 5", "config.yaml:3: server_url[1] must be a ws:// or wss:// URL, got 5"),
        ("server_url: ws://a:1/?token=s3cret", "server_url must be a ws:// or wss:// URL without ?token= (set `token:` "
                                               "instead; it is sent as a header), got 'ws://a:1/?token=***'"),
        ("commands:\n  threshold: 101", "config.yaml:2: commands.threshold must be a number from 0 to 100, got 101"),
        ("commands:\n  threshold: true", "commands.threshold must be a number from 0 to 100, got true"),
        ("commands:\n  timeout: 0", "config.yaml:2: commands.timeout must be a positive number, got 0"),
        ("commands:\n  allow_power: 'yes please'", "commands.allow_power must be true or false, got 'yes please'"),
        ("commands:\n  modules: clock", "commands.modules must be a list of strings, got 'clock'"),
        ("commands:\n  modules: [clock, my-lights]", "commands.modules[1] must be a Python module name"),
        ("server:\n  port: 65536", "config.yaml:2: server.port must be a whole number from 0 to 65535, got 65536"),
        ("server:\n  port: '8001'", "server.port must be a whole number from 0 to 65535, got '8001'"),
        ("server:\n  engine: whisper.cpp", "server.engine must be one of: faster-whisper, openai-whisper, got 'whisper.cpp'"),
        ("server:\n  device: gpu", "config.yaml:2: server.device must be one of: auto, cpu, cuda, got 'gpu'"),
        ("server:\n  beam_size: 0", "server.beam_size must be a whole number of at least 1, got 0"),
        ("server:\n  warmup: null", "server.warmup must be true or false, got null"),
        ("server:\n  tls:\n    cert: /c.pem\n", "config.yaml:3: server.tls.cert and server.tls.key must be given together"),
        ("server:\n  tls: [a, b]", "config.yaml:2: server.tls must be a mapping of keys, got a list"),
        ("microphone:\n  energy_threshold: loud", "microphone.energy_threshold must be 'auto' or a positive number, got 'loud'"),
        ("microphone:\n  energy_threshold: 0", "microphone.energy_threshold must be 'auto' or a positive number, got 0"),
        ("microphone:\n  device: -1", "microphone.device must be null (the default input), a device index"),
        ("microphone:\n  calibrate_seconds: -1", "microphone.calibrate_seconds must be a number of at least 0, got -1"),
        ("client:\n  reconnect_min_delay: 60", "client.reconnect_min_delay must not exceed client.reconnect_max_delay"),
        ("client:\n  queue_size: 1.5", "client.queue_size must be a whole number of at least 1, got 1.5"),
        ("keyword: a\nkeyword: b", "config.yaml:2: keyword is given twice (first on line 1)"),
        ("1: one", "config.yaml:1: keys must be names, got 1"),
        ("- keyword", "config.yaml:1: the top level must be a mapping"),
        ("keyword: [", "config.yaml:1: not valid YAML"),
    ],
)
def test_wrong_values_name_line_key_and_what_is_allowed(text, expected):
    assert expected in _error(text)


def test_server_url_string_or_list():
    assert parse_settings("server_url: wss://speech.lan:443/stt").server_url == ("wss://speech.lan:443/stt",)
    settings = parse_settings("server_url: [ws://a:8001, 'wss://b']")
    assert settings.server_url == ("ws://a:8001", "wss://b")


def test_values_are_typed():
    settings = parse_settings(
        "microphone:\n  device: USB Audio\n  energy_threshold: 300\nserver:\n  port: 0\n"
        "  tls:\n    cert: /etc/va/cert.pem\n    key: /etc/va/key.pem\ntoken: s3cret\n"
    )
    assert settings.microphone.device == "USB Audio"
    assert settings.microphone.energy_threshold == 300.0
    assert settings.server.port == 0
    assert (settings.server.tls.cert, settings.server.tls.key) == ("/etc/va/cert.pem", "/etc/va/key.pem")
    assert settings.token == "s3cret"
    assert parse_settings("microphone:\n  device: 2").microphone.device == 2
    assert parse_settings("microphone:\n  energy_threshold: auto").microphone.energy_threshold is None


def test_empty_file_and_empty_sections_give_the_defaults():
    assert parse_settings("") == Settings()
    assert parse_settings("# only a comment\n") == Settings()
    assert parse_settings("commands:\nserver:\n") == Settings()


def test_va_config_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / "env.yaml"
    path.write_text("keyword: jarvis\n")
    monkeypatch.setenv("VA_CONFIG", str(path))
    settings = load_settings(None)
    assert (settings.keyword, settings.source) == ("jarvis", str(path))


def test_without_any_file_the_defaults_are_used_and_said(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("VA_CONFIG", raising=False)
    monkeypatch.setattr(config_module, "DEFAULT_PATH", tmp_path / "absent.yaml")
    with caplog.at_level("INFO", logger="va.config"):
        assert load_settings(None) == Settings()
    assert "using the built-in defaults" in caplog.text


def test_etc_file_is_read_when_present(tmp_path, monkeypatch):
    etc = tmp_path / "config.yaml"
    etc.write_text("keyword: friday\n")
    monkeypatch.delenv("VA_CONFIG", raising=False)
    monkeypatch.setattr(config_module, "DEFAULT_PATH", etc)
    assert load_settings(None).keyword == "friday"


def test_settings_are_frozen_and_replaceable():
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.keyword = "x"
    changed = dataclasses.replace(settings, server=dataclasses.replace(settings.server, port=0))
    assert changed.server.port == 0 and settings.server.port == 8001


def test_va_check_passes_the_example_and_lists_its_commands(tmp_path):
    (tmp_path / "commands").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(EXAMPLE.read_text().replace("/etc/va/commands", str(tmp_path / "commands")))
    result = _va("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"configuration: {config}" in result.stdout
    assert "set timer" in result.stdout and "[clock.set_timer]" in result.stdout
    assert result.stdout.rstrip().endswith("ok")


def test_va_check_names_the_end_of_speech_detector_and_fails_without_its_package(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("commands:\n  modules: [clock]\n")
    result = _va("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "end of speech: webrtc, vad_level 2" in result.stdout
    missing = tmp_path / "missing"  # a webrtcvad that is not there, as on a client installed without va[client]
    missing.mkdir()
    (missing / "webrtcvad.py").write_text("raise ImportError('No module named webrtcvad')\n")
    result = _va("check", "--config", str(config), env={"PYTHONPATH": str(missing)})
    assert result.returncode == 1
    assert "microphone.vad 'webrtc' needs webrtcvad-wheels: pip install 'va[client]'" in result.stdout
    config.write_text("commands:\n  modules: [clock]\nmicrophone:\n  vad: energy\n")
    result = _va("check", "--config", str(config), env={"PYTHONPATH": str(missing)})
    assert result.returncode == 0 and "end of speech: energy" in result.stdout  # energy needs no package


def test_va_check_fails_when_a_command_module_does_not_load(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("commands:\n  modules: [clock, no_such_module]\n")
    result = _va("check", "--config", str(config))
    assert result.returncode == 1
    assert "no_such_module" in result.stdout
    assert "[clock.set_timer]" in result.stdout  # the others still load
