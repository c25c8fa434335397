"""The README's "Raspberry Pi client" steps, word for word, in a fresh Debian 13 system.

debootstrap builds the system (cached, see debian_root.py); the README's block installs the client
in it exactly as written; then `va client --input` in the chroot, as user va with warnings as
errors, sends a spoken command to a real `va server` on the host (the chroot shares the host's
loopback) and the command runs. Python is Debian 13's own: 3.13.

VA_TEST_DEBIAN=bookworm,trixie runs it on Debian 12 (Python 3.11) as well.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from debian_root import DebianRoot, timed, unavailable
from test_client_e2e import free_port, start_server

pytestmark = [pytest.mark.slow, pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))]

ROOT = Path(__file__).resolve().parent.parent
SUITES = os.environ.get("VA_TEST_DEBIAN", "trixie").split(",")
PYTHON = {"bookworm": "3.11", "trixie": "3.13"}
SOURCE = "/usr/local/src/va"  # the clone, where user va may read the fixtures
NOT_COPIED = [".git", ".venv", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".mypy_cache"]
TOKEN = "pi-install-test-token"


def readme_pi_block() -> str:
    """The shell block after "On each Pi" in the README's Raspberry Pi section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Raspberry Pi client"):]
    after = section[section.index("On each Pi"):]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block, "no sh block after 'On each Pi' in the README"
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
        with timed("README block", times):
            install = debian.run(f"cd {SOURCE}\n{block}")
        assert install.returncode == 0, install.stdout + install.stderr
        assert "not started" in install.stderr  # va install says what it could not do without systemd
        version = debian.run("/opt/va/bin/python -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'", check=True)
        assert version.stdout.strip() == PYTHON.get(suite, version.stdout.strip())

        port = free_port()
        (tmp_path / "server.yaml").write_text(config(port, server=True))
        (debian.path / "etc/va/config.yaml").write_text(config(port, server=False))  # keeps root:va 0640
        server = start_server(tmp_path, tmp_path / "server.yaml", port)
        try:
            with timed("va check + va client --input", times):
                check = debian.run("sudo -u va /opt/va/bin/va check --config /etc/va/config.yaml")
                client = debian.run(
                    f"cd / && sudo -u va /opt/va/bin/python -W error -m va client --config /etc/va/config.yaml "
                    f"--input {SOURCE}/tests/fixtures/time-joe.wav"
                )
        finally:
            server.stop()
        with timed("bash setup.sh client", times):
            setup = debian.run(f"cd {SOURCE} && bash setup.sh client && .venv/bin/va --version")
    print("\n".join(times))
    assert check.returncode == 0, check.stdout + check.stderr
    assert client.returncode == 0, client.stdout + client.stderr
    assert re.search(r"Heard '[^']*': ran what_time_is_it\(\)", client.stderr), client.stderr
    assert setup.returncode == 0 and "va 0" in setup.stdout, setup.stdout + setup.stderr
