"""va as Home Assistant's conversation agent, timed: a real `va server` whose Wyoming text runs the
commands of a real `va client` (the recorder commands of tests/client_commands, kept connected by
silence played in real time), and the `wyoming` package's client sending what Home Assistant's
Wyoming conversation entity sends. Per request: from the moment the text is written to the
moment the command function starts in the client's process (both read CLOCK_MONOTONIC), and to
the `handled` answer.

    .venv/bin/python -m bench.wyoming_handle [--requests 20] [--talkers 2]

--talkers N keeps N speech-to-text clients talking to the same server meanwhile (one fixture
clip after another, each on its own connection, as Home Assistant's satellites would), so the
worker is busy decoding while the requests run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
RECORDER = ROOT / "tests" / "client_commands"
TEXTS = ("Set a 5 minute timer.", "What time is it?", "Set a 10 minute timer.", "what time is it")


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share / 100 * (len(ordered) - 1))))]


def start(tmp: Path, name: str, args: List[str], **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    for key in ("VA_CONFIG", "JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET"):
        environment.pop(key, None)
    log = open(tmp / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "va", *args], cwd=tmp, env=environment, stdout=log, stderr=subprocess.STDOUT)


def wait_for(path: Path, pattern: str, process: subprocess.Popen, timeout: float = 300) -> "re.Match[str]":
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"))
        if found:
            return found
        if process.poll() is not None:
            raise SystemExit(path.read_text(errors="replace")[-3000:])
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {pattern!r}")


async def ask(port: int, text: str) -> tuple:
    from wyoming.asr import Transcript
    from wyoming.client import AsyncTcpClient

    sent = time.monotonic()
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcript(text, context={"conversation_id": "bench"}, language="en").event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 120)
            if event is None:
                raise ConnectionError("closed")
            if event.type in ("handled", "not-handled"):
                return sent, time.monotonic(), event


async def talk(port: int, pcm: bytes, stop: asyncio.Event, count: list) -> None:
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    while not stop.is_set():
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            for offset in range(0, len(pcm), 2048):
                await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=pcm[offset : offset + 2048]).event())
            await client.write_event(AudioStop().event())
            while (event := await asyncio.wait_for(client.read_event(), 120)) is not None and event.type != "transcript":
                pass
            count.append(1)


async def measure(port: int, requests: int, talkers: int) -> tuple:
    with wave.open(str(ROOT / "tests" / "fixtures" / "add-joe.wav"), "rb") as clip:
        pcm = clip.readframes(clip.getnframes())
    stop, count = asyncio.Event(), []
    background = [asyncio.create_task(talk(port, pcm, stop, count)) for _ in range(talkers)]
    await asyncio.sleep(1.0 if talkers else 0)
    times = []
    for index in range(requests):
        sent, answered, event = await ask(port, TEXTS[index % len(TEXTS)])
        assert event.type == "handled", event
        times.append((sent, answered))
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*background)
    return times, len(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--talkers", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "server.yaml").write_text("server:\n  port: 0\n  device: cpu\n  wyoming:\n    port: 0\n    commands_client: kitchen\n")
        server = start(tmp, "server", ["server", "--config", str(tmp / "server.yaml")])
        kitchen = None
        try:
            ws_port = int(wait_for(tmp / "server.log", r"listening on ws://127\.0\.0\.1:(\d+)", server).group(1))
            port = int(wait_for(tmp / "server.log", r"Wyoming speech-to-text on 127\.0\.0\.1:(\d+)", server).group(1))
            with wave.open(str(tmp / "silence.wav"), "wb") as out:
                out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
                out.writeframes(bytes(600 * 32000))
            (tmp / "kitchen.yaml").write_text(
                f"server_url: ws://127.0.0.1:{ws_port}\ncommands:\n  modules: []\n  paths: [{json.dumps(str(RECORDER))}]\n"
                "client:\n  name: kitchen\nremote:\n  allow:\n    home-assistant: [set_timer, what_time_is_it]\n")
            kitchen = start(tmp, "kitchen", ["client", "--config", str(tmp / "kitchen.yaml"), "--input", str(tmp / "silence.wav")],
                            VA_INPUT_PACE="1", VA_RECORDER_FILE=str(tmp / "ran.jsonl"))
            wait_for(tmp / "server.log", r"kitchen joined", server)
            times, transcripts = asyncio.run(measure(port, args.requests, args.talkers))
            ran = [json.loads(line) for line in (tmp / "ran.jsonl").read_text().splitlines()]
        finally:
            for process in (kitchen, server):
                if process is not None:
                    process.terminate()
                    process.wait(60)
    assert len(ran) == args.requests, ran
    started = [(call["at"] - sent) * 1000 for call, (sent, _) in zip(ran, times)]
    answered = [(done - sent) * 1000 for sent, done in times]
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{args.requests} requests, {args.talkers} talkers ({transcripts} transcripts meanwhile): text to command started p50 {percentile(started, 50):.1f} ms, "
          f"p90 {percentile(started, 90):.1f} ms (max {max(started):.1f}); text to handled p50 "
          f"{percentile(answered, 50):.1f} ms, p90 {percentile(answered, 90):.1f} ms; load {load}")


if __name__ == "__main__":
    main()
