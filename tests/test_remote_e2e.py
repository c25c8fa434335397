"""Commands across clients, end to end: a real `va server`, two real `va client` processes (the
living room and the kitchen), the real model and spoken audio.

The kitchen stays connected by playing a long silence in real time (VA_INPUT_PACE=1); each
client runs tests/client_commands/household.py, which records every call in its own file, so a
test sees which process ran what, and how many times.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import wave
from pathlib import Path
from typing import Iterator, List

import pytest

from procs import FIXTURES, TIMEOUT, Process, environment, start_server, stop_all, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLD = ROOT / "tests" / "client_commands" / "household.py"
RADIO_ON = FIXTURES / "remote-radio-on-joe.wav"  # "computer, kitchen, turn on the radio"
RADIO_OFF = FIXTURES / "remote-radio-off-joe.wav"  # "computer, kitchen, turn off the radio"


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    yield
    stop_all()


def write_config(tmp_path: Path, port: int, name: str, extra: str = "") -> Path:
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"""\
keyword: computer
server_url: ws://127.0.0.1:{port}
server: {{host: 127.0.0.1, port: {port}, model: tiny.en}}
commands:
  modules: []
  paths: [{json.dumps(str(HOUSEHOLD))}]
client:
  name: {name}
  reconnect_min_delay: 0.1
  reconnect_max_delay: 1.0
{extra}"""
    )
    return config


KITCHEN_RULES = """\
remote:
  allow:
    living-room: [turn_on]
"""


def silence(tmp_path: Path, seconds: int = 900) -> Path:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(seconds * 32000))
    return path


def start_client(tmp_path: Path, name: str, config: Path, files: List[Path], **env: str) -> Process:
    args = ["client", "--config", str(config), "--input", *map(str, files)]
    return Process(tmp_path, name, args, environment(tmp_path, VA_RECORDER_FILE=str(tmp_path / f"{name}.jsonl"), **env))


def start_kitchen(tmp_path: Path, port: int, server: Process) -> Process:
    """The kitchen, connected and listed in the server's directory."""
    joined = server.text().count("kitchen joined")
    kitchen = start_client(tmp_path, "kitchen", write_config(tmp_path, port, "kitchen", KITCHEN_RULES),
                           [silence(tmp_path)], VA_INPUT_PACE="1")
    wait_until(lambda: server.text().count("kitchen joined") > joined, "the kitchen in the directory", kitchen.popen)
    return kitchen


def ran(tmp_path: Path, name: str) -> List[dict]:
    path = tmp_path / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def va(tmp_path: Path, config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "va", *args, "--config", str(config)], cwd=tmp_path,
                          env=environment(tmp_path), capture_output=True, text=True, timeout=TIMEOUT)
    return done.stdout


def test_said_in_the_living_room_it_runs_in_the_kitchen_once_and_a_refused_one_nowhere(tmp_path):
    server = start_server(tmp_path, write_config(tmp_path, 0, "server"))
    port = server.port
    kitchen = start_kitchen(tmp_path, port, server)
    living = write_config(tmp_path, port, "living-room")
    shown = va(tmp_path, living, "match", "Computer, kitchen, turn on the radio.")
    listed = va(tmp_path, living, "commands")
    origin = start_client(tmp_path, "living-room", living, [RADIO_ON, RADIO_OFF])
    assert origin.wait() == 0, origin.text()
    kitchen.stop()
    server.stop()

    assert "command: kitchen: turn_on(device='the radio')" in shown, shown
    assert "on kitchen (online):" in listed and "[kitchen: turn_on]" in listed, listed
    calls = ran(tmp_path, "kitchen")
    assert [(call["name"], call["args"]) for call in calls] == [("turn_on", {"device": "the radio"})], kitchen.text()
    assert calls[0]["pid"] == kitchen.popen.pid
    assert ran(tmp_path, "living-room") == [], origin.text()  # nowhere else
    origin_log, target_log = origin.text(), kitchen.text()
    assert "ran kitchen: turn_on(device='the radio') -> 'turn_on done'" in origin_log, origin_log
    assert "refused kitchen: turn_off(device='the radio'): remote.allow does not let living-room run turn_off" in origin_log
    assert "Request from living-room: ran turn_on(device='the radio')" in target_log, target_log
    assert "Request from living-room: refused turn_off(device='the radio')" in target_log, target_log
    assert target_log.count("Request from living-room") == 2  # one record per request


def test_a_kitchen_that_is_away_gives_offline_at_once_and_runs_nothing_when_it_comes_back(tmp_path):
    server = start_server(tmp_path, write_config(tmp_path, 0, "server"))
    port = server.port
    kitchen = start_kitchen(tmp_path, port, server)
    kitchen.stop(signal.SIGKILL)  # no goodbye: the server notices the connection drop
    wait_until(lambda: "kitchen left" in server.text(), "the server to notice", server.popen)
    origin = start_client(tmp_path, "living-room", write_config(tmp_path, port, "living-room"), [RADIO_ON])
    assert origin.wait() == 0, origin.text()
    assert "offline kitchen: turn_on(device='the radio'): kitchen is offline" in origin.text(), origin.text()

    back = start_kitchen(tmp_path, port, server)
    # what the server would send it comes before the directory on the same connection
    wait_until(lambda: "Directory:" in back.text(), "the kitchen to get the directory", back.popen)
    back.stop()
    server.stop()
    assert ran(tmp_path, "kitchen") == [], back.text()
    assert ran(tmp_path, "living-room") == []
