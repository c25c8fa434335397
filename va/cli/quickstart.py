"""`bash setup.sh run`: the server and the assistant together, on the embedded defaults.

Starts `va server`, waits until it answers /health, then runs `va client` on the microphone. A
machine without a microphone (a container, CI) gets the sample phrases from tests/fixtures instead,
so the whole path still runs end to end.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from va.config import load_settings
from va.service.journal import setup_logging

_LOGGER = logging.getLogger(__name__)
_SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def main(argv: list[str]) -> int:
    setup_logging(debug="--debug" in argv)
    settings = load_settings(_config_arg(argv))
    server = subprocess.Popen([sys.executable, "-m", "va", "server", *argv])
    try:
        if not _wait_healthy(settings.server.host, settings.server.port, server):
            _LOGGER.error("va server did not come up; see its log above")
            return 1
        client = [sys.executable, "-m", "va", "client", *argv]
        if not _has_microphone():
            samples = sorted(str(path) for path in _SAMPLES.glob("*-joe.wav"))
            _LOGGER.warning("no microphone here: playing %d sample phrases from %s instead", len(samples), _SAMPLES)
            client += ["--input", *samples]
        return subprocess.call(client)
    except KeyboardInterrupt:
        return 130
    finally:
        server.terminate()
        server.wait(timeout=30)


def _config_arg(argv: list[str]) -> str | None:
    if "--config" in argv:
        index = argv.index("--config")
        return argv[index + 1] if index + 1 < len(argv) else None
    return None


def _wait_healthy(host: str, port: int, server: subprocess.Popen, timeout: float = 180) -> bool:
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{port}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                _LOGGER.info("server ready: %s", json.load(response))
                return True
        except OSError:
            time.sleep(0.5)
    return False


def _has_microphone() -> bool:
    try:
        from va.client.microphone import list_devices

        return bool(list_devices())
    except Exception:  # PyAudio missing or no sound system at all
        return False


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
