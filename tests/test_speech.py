"""va answers out loud, through a real sound server: Piper's joe speaks the reply into a
PulseAudio null sink whose monitor is also the microphone (va hears itself at full level, the
worst room there is). `parecord` reads the sink's monitor, so the tests hear what a person would.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import time
import wave
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import pytest

from procs import FIXTURES, Process, environment, pcm, start_server, wait_until, write_config
from sound_server import PulseAudio, unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(unavailable() is not None, reason=str(unavailable())),
    pytest.mark.skipif(importlib.util.find_spec("piper") is None, reason="piper-tts is not installed (va[speech])"),
]

TALKER = Path(__file__).resolve().parent / "client_commands" / "talker.py"
FRAME = 480  # 30 ms at 16 kHz


@pytest.fixture(scope="module")
def pulse(tmp_path_factory) -> Iterator[PulseAudio]:
    with PulseAudio(tmp_path_factory.mktemp("pulse")) as server:
        yield server


@pytest.fixture(scope="module")
def server_port(tmp_path_factory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("server")
    server = start_server(folder, write_config(folder / "server.yaml", 0))
    yield server.port
    server.stop()


def _client(tmp_path: Path, pulse: PulseAudio, port: int, reply: str, **speech: object) -> Process:
    config = write_config(tmp_path / "config.yaml", port, {
        "commands": {"paths": [str(TALKER)]},
        "microphone": {"calibrate_seconds": 0.5},
        "speech": {"enabled": True, **speech},
        "sounds": {"heard": False, "refused": False, "failed": False},
    })
    env = environment(tmp_path, **pulse.env, VA_TALKER_REPLY=reply)
    client = Process(tmp_path, "client", ["client", "--config", str(config)], env)
    wait_until(lambda: "va-client is ready" in client.text(), "the client to load its voice and reach the server", client)
    return client


def _runs(tmp_path: Path) -> list:
    path = tmp_path / "ran.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Recording:
    """`parecord` of the sink's monitor: what came out of va's speaker, and the command played in."""

    def __init__(self, pulse: PulseAudio, path: Path, device: str = "va_speech.monitor") -> None:
        self.path = path
        self._process = subprocess.Popen(["parecord", f"--device={device}", "--rate=16000", "--channels=1",
                                          "--format=s16le", "--file-format=wav", str(path)], env={**pulse_env(pulse)})
        wait_until(lambda: path.exists() and path.stat().st_size > 16000, "parecord to be recording")

    def stop(self) -> np.ndarray:
        self._process.terminate()
        self._process.wait(30)
        with wave.open(str(self.path)) as wav:
            return np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float32)


def pulse_env(pulse: PulseAudio) -> dict:
    import os

    return {**os.environ, **pulse.env}


FLOOR = 500.0
"""A 30 ms frame this loud (RMS of s16 samples) is sound, not the sink's quiet."""


def loud_seconds(audio: np.ndarray, floor: Optional[float] = None) -> float:
    """Seconds of 30 ms frames above `floor`, or above a tenth of the loudest."""
    frames = audio[: len(audio) // FRAME * FRAME].reshape(-1, FRAME)
    levels = np.sqrt((frames ** 2).mean(axis=1))
    return float((levels > (floor if floor is not None else levels.max() / 10)).sum()) * FRAME / 16000


def segments(audio: np.ndarray, quiet: float = 0.5) -> list:
    """(start, end) in seconds of each stretch of sound: 30 ms frames above a tenth of the loudest,
    stretches closer than `quiet` s joined (a pause between words is not the end of a reply)."""
    frames = audio[: len(audio) // FRAME * FRAME].reshape(-1, FRAME)
    levels = np.sqrt((frames ** 2).mean(axis=1))
    loud = np.flatnonzero(levels > levels.max() / 10)
    found: list = []
    for index in loud:
        if found and index - found[-1][1] <= quiet * 16000 / FRAME:
            found[-1][1] = index
        else:
            found.append([index, index])
    return [(start * FRAME / 16000, (end + 1) * FRAME / 16000) for start, end in found]


def _spoken(text: str, tmp_path: Path) -> np.ndarray:
    """The reply as `va say --to` writes it, at 16 kHz: what the speaker should play."""
    import sys

    wav = tmp_path / "reply.wav"
    subprocess.run([sys.executable, "-m", "va", "say", "--to", str(wav), text], check=True, capture_output=True,
                   env=environment(tmp_path), timeout=120)
    converted = tmp_path / "reply-16k.raw"
    subprocess.run(["sox", str(wav), "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", str(converted)], check=True)
    return np.frombuffer(converted.read_bytes(), np.int16).astype(np.float32)


def test_the_reply_is_played_in_full_once_and_a_reply_with_the_keyword_runs_nothing(tmp_path, pulse, server_port):
    reply = "Computer, what time is it? It is ten past four."  # the command's own words, keyword first
    client = _client(tmp_path, pulse, server_port, reply)
    recording = Recording(pulse, tmp_path / "speaker.wav")
    try:
        pulse.play(FIXTURES / "time-joe.wav")
        wait_until(lambda: client.text().count("Played the reply") >= 1 or "Stopped playing" in client.text(),
                   "the reply to be played", client)
        time.sleep(3)  # long enough for the reply, heard again, to have run a second time
    finally:
        played = recording.stop()
        client.stop()
    assert len(_runs(tmp_path)) == 1, client.text()[-3000:]
    assert "Stopped playing" not in client.text()
    command = np.frombuffer(pcm("time-joe.wav"), np.int16).astype(np.float32)
    # the sink plays at full scale, so one floor serves the recording, the command and the reply
    got = loud_seconds(played, FLOOR) - loud_seconds(command, FLOOR)
    expected = loud_seconds(_spoken(reply, tmp_path), FLOOR)
    print(f"played {got / expected:.2f} of the reply's sound")
    # in full, and once (not twice)
    assert 0.8 * expected <= got < 1.4 * expected, (got, expected)


def test_barge_in_the_keyword_said_over_a_reply_stops_it_and_is_heard(tmp_path, pulse, server_port):
    reply = " ".join(["The forecast for today: sunny in the morning, clouds later, and a light wind from the west."] * 3)
    client = _client(tmp_path, pulse, server_port, reply, volume=0.05)
    pulse.play(FIXTURES / "time-joe.wav")
    wait_until(lambda: "Playing the reply" in client.text(), "the reply to start", client)
    time.sleep(1.0)  # into the reply
    person = FIXTURES / "time-joe-high.wav"  # the person, louder than va's speaker at the microphone
    started = time.time()
    pulse.play(person)
    wait_until(lambda: len(_runs(tmp_path)) >= 2, "the barged-in phrase to run", client)
    client.stop()
    log = client.text()
    assert "Stopped playing the reply" in log, log[-3000:]
    assert log.index("Stopped playing the reply") < log.rindex("ran what_time_is_it"), log[-3000:]
    onset = started + _first_loud(np.frombuffer(pcm(person.name), np.int16).astype(np.float32))
    waited = _log_time(log, "Stopped playing the reply") - onset
    print(f"barge-in: the reply stopped {waited * 1000:.0f} ms after the person began")
    assert waited < 1.0, waited  # the goal is 0.3 s (bench: tests measure, not time); paplay's own start is in it


def _first_loud(audio: np.ndarray, floor: float = 300.0) -> float:
    frames = audio[: len(audio) // FRAME * FRAME].reshape(-1, FRAME)
    return float(np.argmax(np.sqrt((frames ** 2).mean(axis=1)) > floor)) * FRAME / 16000


def _log_time(log: str, marker: str) -> float:
    line = next(line for line in log.splitlines() if marker in line)
    stamp = re.match(r"(\d+-\d+-\d+ \d+:\d+:\d+),(\d+)", line)
    assert stamp is not None, line
    return time.mktime(time.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")) + int(stamp.group(2)) / 1000
