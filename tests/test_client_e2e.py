"""`va client --input` against a real `va server`: real processes, real model, real speech.

The client runs the test command module tests/client_commands/recorder.py, which appends one
JSON line per call to $VA_RECORDER_FILE, so each test sees exactly which commands ran, how many
times and with what arguments.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest
from procs import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RECORDER = ROOT / "tests" / "client_commands" / "recorder.py"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
TIMEOUT = 180.0  # seconds for any one wait: a bound on failure, not a measurement

COMMAND_FILES = [entry for entry in MANIFEST if entry["command"] and not entry["noisy"]]
NOTHING_FILES = [entry for entry in MANIFEST if not entry["command"]]


# --- helpers ------------------------------------------------------------------------------------


def write_config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""\
keyword: computer
server_url: ws://127.0.0.1:{port}
server:
  host: 127.0.0.1
  port: {port}
  model: tiny.en
commands:
  modules: []
  paths: [{json.dumps(str(RECORDER))}]
client:
  reconnect_min_delay: 0.1
  reconnect_max_delay: 1.0
"""
    )
    return config


def environment(tmp_path: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("VA_CONFIG", None)
    env.pop("INVOCATION_ID", None)  # log to stderr, where the tests read it
    env.pop("JOURNAL_STREAM", None)
    env.pop("NOTIFY_SOCKET", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["VA_RECORDER_FILE"] = str(tmp_path / "ran.jsonl")
    env.update(extra)
    return env


def wait_until(condition: Callable[[], bool], what: str, process: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


_STARTED: List["Process"] = []


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    yield
    while _STARTED:
        _STARTED.pop().stop(signal.SIGKILL)


class Process:
    """A `python -m va ...` subprocess whose stderr goes to a file the test can read while it runs."""

    def __init__(self, tmp_path: Path, name: str, args: List[str], env: Dict[str, str]) -> None:
        _STARTED.append(self)
        self.log = tmp_path / f"{name}.log"
        self._out = open(self.log, "ab")
        self.popen = subprocess.Popen([sys.executable, "-m", "va", *args], cwd=tmp_path, env=env,
                                      stdout=self._out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self) -> int:
        try:
            return self.popen.wait(TIMEOUT)
        finally:
            self._out.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal it (if it still runs) and wait for it."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(TIMEOUT)
        self._out.close()


def start_server(tmp_path: Path, config: Path, port: int) -> Process:
    server = Process(tmp_path, "server", ["server", "--config", str(config)], environment(tmp_path))
    wait_until(lambda: healthy(port), "the server's /health", server.popen)
    return server


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return json.load(response).get("status") == "ok"
    except (OSError, ValueError):
        return False


def start_client(tmp_path: Path, config: Path, files: List[dict], **env: str) -> Process:
    paths = [str(FIXTURES / entry["file"]) for entry in files]
    return Process(tmp_path, "client", ["client", "--config", str(config), "--input", *paths], environment(tmp_path, **env))


def ran(tmp_path: Path) -> collections.Counter:
    """(name, args) -> how many times it ran."""
    path = tmp_path / "ran.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return collections.Counter((entry["name"], json.dumps(entry["args"], sort_keys=True)) for entry in map(json.loads, lines))


def expected(files: List[dict]) -> collections.Counter:
    return collections.Counter(
        (entry["command"], json.dumps(entry["args"], sort_keys=True)) for entry in files if entry["command"]
    )


def phrase_records(log: str) -> List[str]:
    return re.findall(r"INFO va\.client\.assistant: Heard .*", log) + re.findall(r"WARNING va\.client\.assistant: Heard .*", log)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def config(tmp_path: Path, port: int) -> Path:
    return write_config(tmp_path, port)


# --- tests --------------------------------------------------------------------------------------


def test_spoken_commands_run_with_their_arguments_and_the_rest_run_nothing(tmp_path, config, port):
    files = COMMAND_FILES + NOTHING_FILES
    server = start_server(tmp_path, config, port)
    try:
        client = start_client(tmp_path, config, files)
        assert client.wait() == 0, client.text()
    finally:
        server.stop()
    log = client.text()
    assert ran(tmp_path) == expected(files), log
    records = phrase_records(log)
    assert len(records) == len(files), log  # one record per phrase
    assert sum("no keyword" in record for record in records) == sum(not e["text"].startswith("computer") for e in NOTHING_FILES)
    assert all("after end of speech: transcript" in record for record in records)


def test_without_keyword_or_with_an_unknown_request_nothing_runs(tmp_path, config, port):
    server = start_server(tmp_path, config, port)
    try:
        client = start_client(tmp_path, config, NOTHING_FILES)
        assert client.wait() == 0, client.text()
    finally:
        server.stop()
    log = client.text()
    assert ran(tmp_path) == collections.Counter()
    assert len(phrase_records(log)) == len(NOTHING_FILES), log
    assert "no keyword" in log and "no command matched" in log


def test_a_server_killed_and_restarted_loses_no_phrase_and_runs_none_twice(tmp_path, config, port):
    files = [entry for entry in COMMAND_FILES if entry["voice"] == "joe"]
    server = start_server(tmp_path, config, port)
    # real-time playback, so that phrases keep coming while the server is down
    client = start_client(tmp_path, config, files, VA_INPUT_PACE="1")
    try:
        wait_until(lambda: sum(ran(tmp_path).values()) >= 1, "the first command", client.popen)
        server.popen.kill()  # SIGKILL: no close frame, replies in flight are lost
        server.stop()
        # a phrase is heard while the server is down: it must wait in the queue
        wait_until(lambda: "Holding a phrase until the server is back" in client.text(), "a phrase held", client.popen)
        server = start_server(tmp_path, config, port)
        assert client.wait() == 0, client.text()
    finally:
        client.stop()
        server.stop()
    log = client.text()
    assert ran(tmp_path) == expected(files), log  # every phrase ran, and ran once
    assert log.count("Connected to ws://") >= 2, log
    assert len(phrase_records(log)) == len(files), log


def test_a_client_started_before_the_server_waits_for_it(tmp_path, config, port):
    files = COMMAND_FILES[:3]
    client = start_client(tmp_path, config, files)
    try:
        wait_until(lambda: "Retrying the server" in client.text(), "the client to retry", client.popen)
        assert ran(tmp_path) == collections.Counter()
        server = start_server(tmp_path, config, port)
        try:
            assert client.wait() == 0, client.text()
        finally:
            server.stop()
    finally:
        client.stop()
    assert ran(tmp_path) == expected(files), client.text()


def test_without_a_microphone_the_client_says_what_to_do(tmp_path, config):
    from va.client.microphone import list_devices

    if list_devices():
        pytest.skip("this machine has a microphone")
    client = Process(tmp_path, "client", ["client", "--config", str(config)], environment(tmp_path))
    assert client.wait() == 2
    assert "va devices" in client.text() and "--input" in client.text()


SEED = ROOT.parent / "shared" / "reference" / "seed_server.py"


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed snippet is not at {SEED}")
def test_the_client_talks_to_the_seed_server_too(tmp_path, config, port):
    """The original snippet rejects our hello (it asserts every message is audio_input): the
    client notices, reconnects without it, and its commands still run, each once."""
    from va.stt.models import openai_checkpoint

    env = environment(tmp_path, SEED_MODEL=str(openai_checkpoint("tiny.en")), SEED_PORT=str(port))
    log = tmp_path / "seed.log"
    with open(log, "ab") as out:
        seed = subprocess.Popen([sys.executable, str(SEED)], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _port_open(port), "the seed server's port", seed)
        files = [entry for entry in COMMAND_FILES if entry["voice"] == "joe"][:2]
        client = start_client(tmp_path, config, files)
        assert client.wait() == 0, client.text()
    finally:
        seed.kill()
        seed.wait(TIMEOUT)
    assert ran(tmp_path) == expected(files), client.text()
    assert "Talking to it without hello" in client.text()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
