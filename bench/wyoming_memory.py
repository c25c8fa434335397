"""What unauthenticated Wyoming peers cost a real `va server`: 50 connections sending audio at
384 kHz as fast as the socket takes it (never audio-stop), then leaving; the server's RSS and CPU
before, during and after, and a well-behaved client's transcript latency during and after.

    .venv/bin/python -m bench.wyoming_memory [--root PATH] [--attackers 50] [--seconds 5] [--cap 64]

--root runs another checkout's va (e.g. an export of an older commit) with the same attack, so a
change can be measured before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "tests" / "fixtures"


def status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def utterance(port: int, pcm: bytes) -> float:
    from wyoming.asr import Transcribe
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    started = time.monotonic()
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for offset in range(0, len(pcm), 2048):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=pcm[offset : offset + 2048]).event())
        await client.write_event(AudioStop().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 600)
            if event is None or event.type in ("transcript", "error"):
                if event is None or event.type == "error":
                    raise RuntimeError(f"no transcript: {event}")
                return (time.monotonic() - started) * 1000


async def attacker(port: int, rate: int, seconds: int, hold: asyncio.Event, sent: list) -> None:
    from wyoming.audio import AudioChunk, AudioStart
    from wyoming.event import async_write_event

    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await async_write_event(AudioStart(rate=rate, width=2, channels=1).event(), writer)
        block = bytes(rate // 10 * 2)
        for _ in range(seconds * 10):
            await async_write_event(AudioChunk(rate=rate, width=2, channels=1, audio=block).event(), writer)
        sent.append(1)  # all of its audio is out
        await hold.wait()
        writer.close()
    except (ConnectionError, asyncio.IncompleteReadError):
        sent.append(1)  # refused


async def attack(pid: int, port: int, pcm: bytes, args: argparse.Namespace) -> dict:
    await utterance(port, pcm)  # warm
    before, cpu = status(pid, "VmRSS"), cpu_seconds(pid)
    hold, sent = asyncio.Event(), []
    started = time.monotonic()
    tasks = [asyncio.create_task(attacker(port, 384000, args.seconds, hold, sent)) for _ in range(args.attackers)]
    await asyncio.sleep(0.5)
    during_ms = await utterance(port, pcm)
    peak = status(pid, "VmRSS")
    while len(sent) < args.attackers:
        peak = max(peak, status(pid, "VmRSS"))
        await asyncio.sleep(0.1)
    for _ in range(20):  # the server may still be reading what the sockets hold
        peak = max(peak, status(pid, "VmRSS"))
        await asyncio.sleep(0.1)
    attack_s, attack_cpu = time.monotonic() - started, cpu_seconds(pid) - cpu
    hold.set()
    await asyncio.gather(*tasks)
    await asyncio.sleep(3.0)
    after = status(pid, "VmRSS")
    after_ms = await utterance(port, pcm)
    return {"before_mb": before / 2**20, "peak_mb": peak / 2**20, "after_mb": after / 2**20,
            "hwm_mb": status(pid, "VmHWM") / 2**20, "attack_s": attack_s, "attack_cpu_s": attack_cpu,
            "during_ms": during_ms, "after_ms": after_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--attackers", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--cap", type=int, default=64, help="server.wyoming.max_connections; 0 for a va that has no such setting")
    args = parser.parse_args()
    with wave.open(str(CLIP / "add-joe.wav"), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "server.yaml"
        cap = f"    max_connections: {args.cap}\n" if args.cap else ""  # 0: a va without the setting
        config.write_text(f"server:\n  port: 0\n  device: cpu\n  wyoming:\n    port: 0\n{cap}")
        log = open(Path(tmp) / "server.log", "w+b")
        env = {**os.environ, "PYTHONPATH": str(args.root)}
        for name in ("VA_CONFIG", "JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET"):
            env.pop(name, None)
        server = subprocess.Popen([sys.executable, "-m", "va", "server", "--config", str(config)], cwd=tmp, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            port = None
            while port is None:
                if server.poll() is not None:
                    raise SystemExit(Path(log.name).read_text())
                found = re.search(r"Wyoming speech-to-text on 127\.0\.0\.1:(\d+)", Path(log.name).read_text())
                port = int(found.group(1)) if found else time.sleep(0.2)
            result = asyncio.run(attack(server.pid, port, pcm, args))
        finally:
            server.terminate()
            server.wait(60)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{args.attackers} connections x {args.seconds} s at 384 kHz ({args.root}): RSS {result['before_mb']:.0f} MB "
          f"before, {result['peak_mb']:.0f} MB during (peak {result['hwm_mb']:.0f}), {result['after_mb']:.0f} MB after; "
          f"server CPU {result['attack_cpu_s']:.1f} s in {result['attack_s']:.1f} s; a client's transcript "
          f"{result['during_ms']:.0f} ms during, {result['after_ms']:.0f} ms after; load {load}")


if __name__ == "__main__":
    main()
