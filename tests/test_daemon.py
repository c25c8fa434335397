"""va.service.daemon and va.service.journal: real daemon processes talking sd_notify to a socket this test owns.

The main test runs the real `va server`. The others run a small stand-in service (this file,
run as a script) where a behaviour is easier to provoke than with the server: start() failing,
start() never returning, run() finishing on its own, healthy() saying no.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WAIT = 120.0  # safety net for every wait; nothing here is expected to take more than seconds


class NotifySocket:
    """The systemd end of sd_notify: an abstract AF_UNIX datagram socket that keeps every message."""

    def __init__(self) -> None:
        self.address = f"@va-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.address[1:])
        self.messages: list[dict] = []  # one dict per datagram: {"READY": "1", "STATUS": "..."}

    def wait_for(self, predicate, process, what: str, log: Path | None = None) -> dict:
        """The first message (not yet returned) matching `predicate`; fails after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            self.sock.settimeout(0.5)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                if process.poll() is not None:
                    break
                continue
            message = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append(message)
            if predicate(message):
                return message
        output = log.read_text() if log else ""
        pytest.fail(f"no {what}; exit code {process.poll()}; got {self.messages}\n{output}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket():
    listener = NotifySocket()
    yield listener
    listener.close()


def _environment(notify: NotifySocket, watchdog_usec: int = 200_000) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "INVOCATION_ID", "VA_CONFIG")}
    env.update(PYTHONPATH=str(ROOT), NOTIFY_SOCKET=notify.address, WATCHDOG_USEC=str(watchdog_usec))
    return env


def _spawn(arguments: list, env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen([sys.executable, *arguments], env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=WAIT)


def _listening_port(log: Path) -> int:
    """The port the server says it listens on ("listening on ws://127.0.0.1:PORT")."""
    found = re.search(r"listening on wss?://[^ ]+:(\d+)", log.read_text())
    assert found, log.read_text()
    return int(found.group(1))


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=WAIT) as response:
        return json.load(response)


# --- the real server ------------------------------------------------------------------------


@pytest.mark.slow
def test_server_daemon_lifecycle(tmp_path, notify_socket):
    """READY only when serving, watchdog pings, a broken reload keeps it running, SIGTERM exits 0."""
    config = tmp_path / "config.yaml"
    good = "server:\n  port: 0\n  device: cpu\n  model: tiny.en\n  warmup: false\n"  # the server picks one
    config.write_text(good)
    log = tmp_path / "server.log"
    process = _spawn(["-m", "va", "server", "--config", str(config)], _environment(notify_socket), log)
    try:
        ready = notify_socket.wait_for(lambda m: "READY" in m, process, "READY=1", log)
        assert ready["READY"] == "1"
        port = _listening_port(log)
        assert _health(port)["status"] == "ok"  # READY=1 means it serves
        notify_socket.wait_for(lambda m: m.get("WATCHDOG") == "1", process, "WATCHDOG=1", log)

        config.write_text(good + "commands:\n  threshold: lots\n")
        process.send_signal(signal.SIGHUP)
        notify_socket.wait_for(lambda m: "RELOADING" in m, process, "RELOADING=1", log)
        after_bad = notify_socket.wait_for(lambda m: "READY" in m, process, "READY=1 after reload", log)
        assert "reload failed" in after_bad["STATUS"]
        assert "config.yaml:7: commands.threshold" in after_bad["STATUS"]
        assert process.poll() is None
        assert _health(port)["status"] == "ok"
        notify_socket.wait_for(lambda m: m.get("WATCHDOG") == "1", process, "WATCHDOG=1 after reload", log)

        config.write_text(good + "  batch_size: 4\n")
        process.send_signal(signal.SIGHUP)
        notify_socket.wait_for(lambda m: "RELOADING" in m, process, "second RELOADING=1", log)
        after_good = notify_socket.wait_for(lambda m: "READY" in m, process, "READY=1 after good reload", log)
        assert "reload failed" not in after_good["STATUS"]

        process.send_signal(signal.SIGTERM)
        notify_socket.wait_for(lambda m: m.get("STOPPING") == "1", process, "STOPPING=1", log)
        assert process.wait(timeout=WAIT) == 0
    finally:
        _stop(process)
    output = log.read_text()
    assert "commands.threshold must be a number from 0 to 100, got 'lots'" in output
    assert f"Configuration reloaded from {config}" in output


# --- the stand-in service -------------------------------------------------------------------


class StandInService:
    """A Service whose behaviour the test picks; its status() shows the keyword it runs with."""

    name = "stand-in"

    def __init__(self, settings, behaviour: str) -> None:
        self.settings, self.behaviour = settings, behaviour
        self.stopped = asyncio.Event()
        self.ticks = 0

    async def start(self) -> None:
        if self.behaviour == "start-fails":
            raise RuntimeError("no microphone found")
        if self.behaviour == "start-hangs":
            await asyncio.Event().wait()

    async def run(self) -> None:
        if self.behaviour != "finishes":
            await self.stopped.wait()

    async def stop(self) -> None:
        print("stop() called", flush=True)
        self.stopped.set()

    async def reload(self, settings) -> None:
        self.settings = settings

    def recalibrate(self) -> None:
        print("recalibrate() called", flush=True)

    def status(self) -> str:
        self.ticks += 1
        tick = f" tick {self.ticks}" if self.behaviour == "unhealthy" else ""
        return f"keyword={self.settings.keyword}{tick}"

    def healthy(self) -> bool:
        return self.behaviour != "unhealthy"


def _stand_in(behaviour: str, config: Path, notify: NotifySocket, log: Path, **env) -> subprocess.Popen:
    environment = {**_environment(notify), **env}
    return _spawn([__file__, behaviour, str(config)], environment, log)


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("keyword: computer\n")
    return path


def test_reload_applies_a_valid_config_and_keeps_the_old_one_on_error(tmp_path, config, notify_socket):
    log = tmp_path / "out.log"
    process = _stand_in("ok", config, notify_socket, log)
    try:
        assert notify_socket.wait_for(lambda m: "READY" in m, process, "READY", log)["STATUS"] == "keyword=computer"
        config.write_text("keyword: computer\nkeyword_typo: 1\n")
        process.send_signal(signal.SIGHUP)
        kept = notify_socket.wait_for(lambda m: "READY" in m, process, "READY after bad reload", log)
        assert kept["STATUS"].startswith("keyword=computer (reload failed, old configuration kept:")
        assert "config.yaml:2: unknown key keyword_typo" in kept["STATUS"]
        config.write_text("keyword: jarvis\n")
        process.send_signal(signal.SIGHUP)
        applied = notify_socket.wait_for(lambda m: "READY" in m, process, "READY after good reload", log)
        assert applied["STATUS"] == "keyword=jarvis"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 0
    finally:
        _stop(process)
    assert log.read_text().count("stop() called") == 1


def test_sigusr1_asks_the_service_to_recalibrate_and_it_keeps_running(tmp_path, config, notify_socket):
    log = tmp_path / "out.log"
    process = _stand_in("ok", config, notify_socket, log)
    try:
        notify_socket.wait_for(lambda m: "READY" in m, process, "READY", log)
        process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + WAIT
        while "recalibrate() called" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "recalibrate() called" in log.read_text()
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 0
    finally:
        _stop(process)


def test_failed_start_exits_1_with_the_reason_and_never_ready(tmp_path, config, notify_socket):
    log = tmp_path / "out.log"
    process = _stand_in("start-fails", config, notify_socket, log)
    try:
        failed = notify_socket.wait_for(lambda m: "Failed" in m.get("STATUS", ""), process, "failure STATUS", log)
        assert failed["STATUS"] == "Failed to start: no microphone found"
        assert process.wait(timeout=WAIT) == 1
    finally:
        _stop(process)
    assert not any("READY" in m for m in notify_socket.messages)
    assert "no microphone found" in log.read_text()


def test_sigterm_while_starting_exits_0(tmp_path, config, notify_socket):
    log = tmp_path / "out.log"
    process = _stand_in("start-hangs", config, notify_socket, log)
    try:
        notify_socket.wait_for(lambda m: m.get("STATUS", "").startswith("Starting"), process, "Starting", log)
        process.send_signal(signal.SIGTERM)
        notify_socket.wait_for(lambda m: m.get("STOPPING") == "1", process, "STOPPING=1", log)
        assert process.wait(timeout=WAIT) == 0
    finally:
        _stop(process)
    assert not any("READY" in m for m in notify_socket.messages)


def test_service_that_finishes_stops_cleanly(tmp_path, config, notify_socket):
    log = tmp_path / "out.log"
    process = _stand_in("finishes", config, notify_socket, log)
    try:
        notify_socket.wait_for(lambda m: m.get("STOPPING") == "1", process, "STOPPING=1", log)
        assert process.wait(timeout=WAIT) == 0
    finally:
        _stop(process)
    assert log.read_text().count("stop() called") == 1


def test_unhealthy_service_gets_no_watchdog_pings(tmp_path, config, notify_socket):
    log = tmp_path / "out.log"
    process = _stand_in("unhealthy", config, notify_socket, log)
    try:
        notify_socket.wait_for(lambda m: "READY" in m, process, "READY", log)
        # Each heartbeat sends WATCHDOG=1 (when healthy) and then a STATUS with a new tick.
        for _ in range(3):
            notify_socket.wait_for(lambda m: "tick" in m.get("STATUS", ""), process, "heartbeat", log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 0
    finally:
        _stop(process)
    assert not any("WATCHDOG" in m for m in notify_socket.messages)
    assert "Service is unhealthy" in log.read_text()


# --- notify() without libsystemd, and the log handlers --------------------------------------


@pytest.mark.parametrize("abstract", [True, False])
def test_fallback_notify_reaches_path_and_abstract_sockets(tmp_path, abstract):
    from va.service.daemon import _send_datagram

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        name = f"va-test-{uuid.uuid4().hex}"
        address = f"@{name}" if abstract else str(tmp_path / "notify")
        sock.bind("\0" + name if abstract else address)
        sock.settimeout(WAIT)
        assert _send_datagram("READY=1\nSTATUS=fine", address)
        assert sock.recv(1024) == b"READY=1\nSTATUS=fine"


def test_notify_outside_systemd_or_without_a_listener_is_a_no_op(monkeypatch):
    from va.service.daemon import _send_datagram, notify

    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    assert _send_datagram("READY=1", None) is False
    monkeypatch.setenv("NOTIFY_SOCKET", f"@va-test-gone-{uuid.uuid4().hex}")  # systemd went away
    assert notify("READY=1") is False
    assert _send_datagram("READY=1", os.environ["NOTIFY_SOCKET"]) is False


def test_watchdog_interval_is_half_of_watchdog_usec():
    from va.service.daemon import watchdog_interval

    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None  # another process's
    assert watchdog_interval({}) is None


def test_uppercase_extras_become_journal_fields(monkeypatch):
    from va.service.journal import journal_handler

    sent = []
    handler = journal_handler(sender_function=lambda MESSAGE, **fields: sent.append((MESSAGE, fields)))
    logger = logging.getLogger("va.test.journal")
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "propagate", False)
    try:
        logger.warning("running %s", "set_timer", extra={"VA_COMMAND": "set_timer", "VA_ARGS": '{"minutes": 25}'})
    finally:
        logger.removeHandler(handler)
    [(message, fields)] = sent
    assert message == "running set_timer"
    assert fields["VA_COMMAND"] == "set_timer"
    assert fields["VA_ARGS"] == '{"minutes": 25}'
    assert fields["SYSLOG_IDENTIFIER"] == "va"
    assert fields["PRIORITY"] == "4"


def test_setup_logging_picks_journald_only_under_systemd(monkeypatch):
    from systemd.journal import JournalHandler

    from va.service.journal import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)
        monkeypatch.delenv("INVOCATION_ID", raising=False)
        assert not isinstance(setup_logging(debug=False), JournalHandler)
        monkeypatch.setenv("INVOCATION_ID", "0123")
        assert isinstance(setup_logging(debug=False), JournalHandler)
        monkeypatch.setitem(sys.modules, "systemd.journal", None)  # systemd-python missing
        handler = setup_logging(debug=False)
        record = logging.LogRecord("va.x", logging.INFO, __file__, 1, "hello\nworld", None, None)
        assert handler.format(record) == "<6>va.x: hello\n<6>world"
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def _stand_in_main(behaviour: str, config_path: str) -> int:
    from va.config import load_settings
    from va.service.daemon import run_service
    from va.service.journal import setup_logging

    setup_logging(debug=False)
    return run_service(StandInService(load_settings(config_path), behaviour), config_path)


if __name__ == "__main__":
    sys.exit(_stand_in_main(*sys.argv[1:]))
