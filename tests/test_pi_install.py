"""The Pi steps of docs/getting-started.md ("On each Pi"), word for word, in a fresh Debian 13 system.

debootstrap builds the system (cached, see debian_root.py); the page's block installs the client
in it exactly as written; then `va client --input` in the chroot, as user va with warnings as
errors, sends a spoken command to a real `va server` on the host (the chroot shares the host's
loopback) and the command runs. Python is Debian 13's own: 3.13.

Then the microphone as the service would reach it: user va, exactly the environment that
va-client.service and the shipped drop-in systemd/sound-server.conf give it, a PulseAudio on the
host offering the socket /run/va-audio/native to group audio (as the README tells a Pi's session
to), `microphone.device: pulse`, and a phrase played into that PulseAudio: the client hears it.

VA_TEST_DEBIAN=bookworm,trixie runs it on Debian 12 (Python 3.11) as well.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
from pathlib import Path
from typing import Dict

import pytest

from debian_root import DebianRoot, timed, unavailable
from sound_server import PulseAudio
from sound_server import unavailable as no_sound_server
from procs import start_server, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(unavailable() is not None, reason=str(unavailable())),
    pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None, reason="no engine for the host's va server"),
]

ROOT = Path(__file__).resolve().parent.parent
SUITES = os.environ.get("VA_TEST_DEBIAN", "trixie").split(",")
PYTHON = {"bookworm": "3.11", "trixie": "3.13"}
SOURCE = "/usr/local/src/va"  # the clone, where user va may read the fixtures
NOT_COPIED = [".git", ".venv", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".mypy_cache", ".hypothesis", ".cache"]
TOKEN = "pi-install-test-token"
AUDIO_GID = 29  # Debian's static gid of group audio, the same in the host and the chroot
RAN = re.compile(r"Heard '[^']*': ran what_time_is_it\(\)")


def readme_pi_block() -> str:
    """The shell block after "On each Pi" in docs/getting-started.md's "A Pi and a server elsewhere"."""
    text = (ROOT / "docs" / "getting-started.md").read_text()
    section = text[text.index("## A Pi and a server elsewhere"):]
    after = section[section.index("On each Pi"):]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block, "no sh block after 'On each Pi' in docs/getting-started.md"
    return block.group(1)


def config(port: int, server: bool) -> str:
    common = f"token: {TOKEN}\ncommands:\n  modules: [clock]\n  paths: []\n"
    if server:
        return common + f"server:\n  host: 127.0.0.1\n  port: {port}\n  model: tiny.en\n"
    return common + f"server_url: ws://127.0.0.1:{port}\n"


@pytest.mark.timeout(1800)  # a cold run debootstraps and downloads; a bound on failure, not a measurement
@pytest.mark.parametrize("suite", SUITES)
def test_the_readme_pi_steps_give_a_client_that_runs_a_spoken_command(tmp_path, suite):
    times: list = []
    block = readme_pi_block()
    assert "pip install" in block and "va install" in block
    with DebianRoot(suite, tmp_path / "root") as debian:
        times.append(f"{suite} base system (debootstrap, or unpacked from the cache): {debian.setup_seconds:.1f} s")
        debian.copy_in(ROOT, SOURCE, NOT_COPIED)
        with timed("the Pi block of docs/getting-started.md", times):
            install = debian.run(f"cd {SOURCE}\n{block}")
        assert install.returncode == 0, install.stdout + install.stderr
        assert "not started" in install.stderr  # va install says what it could not do without systemd
        version = debian.run("/opt/va/bin/python -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'", check=True)
        assert version.stdout.strip() == PYTHON.get(suite, version.stdout.strip())

        (tmp_path / "server.yaml").write_text(config(0, server=True))
        server = start_server(tmp_path, tmp_path / "server.yaml")
        port = server.port
        (debian.path / "etc/va/config.yaml").write_text(config(port, server=False))  # keeps root:va 0640
        try:
            with timed("va check + va client --input", times):
                check = debian.run("sudo -u va /opt/va/bin/va check --config /etc/va/config.yaml")
                client = debian.run(
                    f"cd / && sudo -u va /opt/va/bin/python -W error -m va client --config /etc/va/config.yaml "
                    f"--input {SOURCE}/tests/fixtures/time-joe.wav"
                )
            if no_sound_server() is None:
                with timed("as user va, through a sound server", times), PulseAudio(tmp_path / "pulse") as pulse:
                    devices, heard = hear_as_the_service(debian, pulse, port, tmp_path)
        finally:
            server.stop()
        with timed("bash setup.sh client", times):
            setup = debian.run(f"cd {SOURCE} && bash setup.sh client && .venv/bin/va --version")
    print("\n".join(times))
    assert check.returncode == 0, check.stdout + check.stderr
    assert client.returncode == 0, client.stdout + client.stderr
    assert RAN.search(client.stderr), client.stderr
    assert setup.returncode == 0 and "va 0" in setup.stdout, setup.stdout + setup.stderr
    if no_sound_server() is None:
        assert "sound server: PulseAudio or PipeWire ($PULSE_SERVER) at unix:/run/va-audio/native" in devices, devices
        assert RAN.search(heard), heard


def unit_environment(*files: Path) -> Dict[str, str]:
    """The Environment= of a unit and its drop-ins, %S and %C expanded as systemd does for a system unit."""
    env: Dict[str, str] = {}
    for file in files:
        for line in file.read_text().splitlines():
            if line.startswith("Environment="):
                for item in shlex.split(line[len("Environment="):]):
                    key, _, value = item.partition("=")
                    env[key] = value.replace("%S", "/var/lib").replace("%C", "/var/cache")
    return env


def hear_as_the_service(debian: DebianRoot, pulse: PulseAudio, port: int, tmp_path: Path):
    """`va devices` and `va client` (microphone) as user va with the unit's environment: (devices, client log)."""
    debian.run("apt-get install -y -q --no-install-recommends libasound2-plugins >/dev/null && install -d -o va -g va /var/lib/va", check=True)
    sockets = debian.path / "run/va-audio"
    sockets.mkdir(mode=0o750)
    os.chown(sockets, 0, AUDIO_GID)
    loaded = pulse.pactl("load-module", "module-native-protocol-unix", f"socket={sockets / 'native'}", "auth-anonymous=1")
    assert loaded.returncode == 0, loaded.stderr
    env = unit_environment(ROOT / "systemd/va-client.service", ROOT / "systemd/sound-server.conf")
    as_va = "sudo -u va env -i PATH=/usr/bin:/bin " + " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    config = debian.path / "etc/va/config.yaml"
    config.write_text(config.read_text() + "microphone: {device: pulse, calibrate_seconds: 1}\n")
    devices = debian.run(f"{as_va} /opt/va/bin/va devices --config /etc/va/config.yaml")
    log = tmp_path / "service-client.log"
    client = debian.popen(f"cd / && exec {as_va} /opt/va/bin/va client --config /etc/va/config.yaml", log)
    try:
        wait_until(lambda: "va-client is ready" in log.read_text(), "the client as user va to be ready", client)
        pulse.play(ROOT / "tests/fixtures/time-joe.wav")
        wait_until(lambda: RAN.search(log.read_text()) is not None, "the command heard through the sound server", client)
    finally:
        client.terminate()
        client.wait(60)
    return devices.stdout + devices.stderr, log.read_text()
