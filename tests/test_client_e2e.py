"""`va client --input` against a real `va server`: real processes, real model, real speech.

The client runs the test command module tests/client_commands/recorder.py, which appends one
JSON line per call to $VA_RECORDER_FILE, so each test sees exactly which commands ran, how many
times and with what arguments.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import psutil
import pytest
from procs import (FIXTURES, ROOT, TIMEOUT, Process, environment, refused_port, start_server, stop_all, wait_until,
                   write_config)
from procs import start_client as start_files

pytestmark = pytest.mark.slow

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())

COMMAND_FILES = [entry for entry in MANIFEST if entry["command"] and not entry["noisy"]]
NOTHING_FILES = [entry for entry in MANIFEST if not entry["command"]]


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    yield
    stop_all()


def start_client(tmp_path: Path, config: Path, files: List[dict], **env: str) -> Process:
    return start_files(tmp_path, config, [entry["file"] for entry in files], **env)


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
def server(tmp_path: Path) -> Process:
    """A `va server` on the port it picked."""
    return start_server(tmp_path, write_config(tmp_path / "server.yaml"))


@pytest.fixture
def config(tmp_path: Path, server: Process) -> Path:
    """The client's config: the server's port."""
    return write_config(tmp_path / "config.yaml", server.port)


# --- tests --------------------------------------------------------------------------------------


def test_spoken_commands_run_with_their_arguments_and_the_rest_run_nothing(tmp_path, server, config):
    files = COMMAND_FILES + NOTHING_FILES
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


def test_without_keyword_or_with_an_unknown_request_nothing_runs(tmp_path, server, config):
    try:
        client = start_client(tmp_path, config, NOTHING_FILES)
        assert client.wait() == 0, client.text()
    finally:
        server.stop()
    log = client.text()
    assert ran(tmp_path) == collections.Counter()
    assert len(phrase_records(log)) == len(NOTHING_FILES), log
    assert "no keyword" in log and "no command matched" in log


def test_a_server_killed_and_restarted_loses_no_phrase_and_runs_none_twice(tmp_path, server, config):
    files = [entry for entry in COMMAND_FILES if entry["voice"] == "joe"]
    # real-time playback, so that phrases keep coming while the server is down
    client = start_client(tmp_path, config, files, VA_INPUT_PACE="1")
    try:
        wait_until(lambda: sum(ran(tmp_path).values()) >= 1, "the first command", client)
        server.popen.kill()  # SIGKILL: no close frame, replies in flight are lost
        server.stop()
        # a phrase is heard while the server is down: it must wait in the queue
        wait_until(lambda: "Holding a phrase until the server is back" in client.text(), "a phrase held", client)
        server = start_server(tmp_path, write_config(tmp_path / "server.yaml", server.port))  # where the client looks
        assert client.wait() == 0, client.text()
    finally:
        client.stop()
        server.stop()
    log = client.text()
    assert ran(tmp_path) == expected(files), log  # every phrase ran, and ran once
    assert log.count("Connected to ws://") >= 2, log
    assert len(phrase_records(log)) == len(files), log


def test_a_client_started_before_the_server_waits_for_it(tmp_path):
    files = COMMAND_FILES[:3]
    with refused_port() as port:  # nothing listens there until the server starts on it
        config = write_config(tmp_path / "config.yaml", port)
        client = start_client(tmp_path, config, files)
        wait_until(lambda: "Retrying the server" in client.text(), "the client to retry", client)
        assert ran(tmp_path) == collections.Counter()
    try:
        server = start_server(tmp_path, config)
        try:
            assert client.wait() == 0, client.text()
        finally:
            server.stop()
    finally:
        client.stop()
    assert ran(tmp_path) == expected(files), client.text()


def test_without_a_microphone_the_client_says_what_to_do(tmp_path):
    from va.client.microphone import list_devices

    if list_devices():
        pytest.skip("this machine has a microphone")
    client = Process(tmp_path, "client", ["client", "--config", str(write_config(tmp_path / "config.yaml"))])
    assert client.wait() == 2
    assert "va devices" in client.text() and "--input" in client.text()


SEED = ROOT.parent / "shared" / "reference" / "seed_server.py"


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed snippet is not at {SEED}")
def test_the_client_talks_to_the_seed_server_too(tmp_path):
    """The original snippet rejects our hello (it asserts every message is audio_input): the
    client notices, reconnects without it, and its commands still run, each once."""
    from va.stt.models import openai_checkpoint

    env = environment(tmp_path, SEED_MODEL=str(openai_checkpoint("tiny.en")), SEED_PORT="0")  # it binds port 0
    log = tmp_path / "seed.log"
    with open(log, "ab") as out:
        seed = subprocess.Popen([sys.executable, str(SEED)], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        port = wait_until(lambda: _listening_port(seed.pid), "the seed server's port", seed)
        files = [entry for entry in COMMAND_FILES if entry["voice"] == "joe"][:2]
        client = start_client(tmp_path, write_config(tmp_path / "config.yaml", port), files)
        assert client.wait() == 0, client.text()
    finally:
        seed.kill()
        seed.wait(TIMEOUT)
    assert ran(tmp_path) == expected(files), client.text()
    assert "Talking to it without hello" in client.text()


def _listening_port(pid: int) -> int:
    """The IPv4 loopback port the process listens on, read from the OS (it prints none)."""
    listening = [c.laddr.port for c in psutil.Process(pid).net_connections("inet4") if c.status == psutil.CONN_LISTEN]
    return listening[0] if listening else 0
