"""What unauthenticated Wyoming peers may take from a real `va server` process: memory (audio
resampled to 16 kHz as it arrives, a connection cap, a byte budget, the heap given back) and log
lines (a header nested 50,000 deep is one bounded line per burst, no traceback). A well-behaved
client is served during and after the attack. Through processes only, so the same file runs
against an older va (that is how the numbers before the bounds were taken).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("wyoming")

from test_wyoming import JOE, TIMEOUT, assert_heard, pcm, run, transcript  # noqa: E402  (first: wyoming.audio quietly)
from wyoming.audio import AudioChunk, AudioStart  # noqa: E402
from wyoming.event import async_write_event  # noqa: E402

from procs import Process, stop_all, wait_until  # noqa: E402

ATTACKERS = 50
RATE = 384000
SECONDS = 5
CHUNK = RATE // 10  # samples: a tenth of a second


def rss(pid: int) -> int:
    """Resident memory now, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(tmp_path):
    """A real va server with a Wyoming port, its cap above the attackers' number (all are let in)."""
    config = tmp_path / "server.yaml"
    config.write_text("server:\n  port: 0\n  device: cpu\n  wyoming:\n    port: 0\n    max_connections: 64\n")
    process = Process(tmp_path, "server", ["server", "--config", str(config)])

    def port():
        found = re.search(r"Wyoming speech-to-text on 127\.0\.0\.1:(\d+)", process.text())
        return int(found.group(1)) if found else None

    yield process, wait_until(port, "the Wyoming port", process)
    stop_all()


async def attacker(port: int, hold: asyncio.Event, sent: list) -> None:
    """Audio at 384 kHz as fast as the socket takes it, never audio-stop; leaves when told."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await async_write_event(AudioStart(rate=RATE, width=2, channels=1).event(), writer)
        block = bytes(CHUNK * 2)
        for _ in range(SECONDS * RATE // CHUNK):
            await async_write_event(AudioChunk(rate=RATE, width=2, channels=1, audio=block).event(), writer)
        sent.append(1)  # all of its audio is out
        await hold.wait()
        writer.close()
    except (ConnectionError, asyncio.IncompleteReadError):
        sent.append(1)  # refused


@pytest.mark.slow
def test_fifty_connections_at_384_khz_hold_little_memory_and_give_it_back(server):
    process, port = server
    entry = JOE[0]

    async def scenario():
        await transcript(port, pcm(entry["file"]))  # warm: the first utterance allocates the decoder's buffers
        before = rss(process.pid)
        hold, sent = asyncio.Event(), []
        attack = [asyncio.create_task(attacker(port, hold, sent)) for _ in range(ATTACKERS)]
        await asyncio.sleep(0.5)
        started = time.monotonic()
        during_text = await transcript(port, pcm(entry["file"]))
        during_ms = (time.monotonic() - started) * 1000
        peak = rss(process.pid)
        while len(sent) < ATTACKERS and time.monotonic() - started < TIMEOUT:
            peak = max(peak, rss(process.pid))
            await asyncio.sleep(0.1)
        for _ in range(20):  # the server may still be reading what the socket holds
            peak = max(peak, rss(process.pid))
            await asyncio.sleep(0.1)
        hold.set()
        await asyncio.wait_for(asyncio.gather(*attack), TIMEOUT)
        await asyncio.sleep(2.0)  # the heap is trimmed a second after the last connection left
        after = rss(process.pid)
        started = time.monotonic()
        after_text = await transcript(port, pcm(entry["file"]))
        return before, peak, after, during_text, during_ms, after_text, (time.monotonic() - started) * 1000

    before, peak, after, during_text, during_ms, after_text, after_ms = run(scenario())
    print(f"RSS before {before / 2**20:.0f} MB, during {peak / 2**20:.0f} MB, after {after / 2**20:.0f} MB; "
          f"a client's transcript during {during_ms:.0f} ms, after {after_ms:.0f} ms")
    assert_heard(during_text, entry)
    assert_heard(after_text, entry)
    # unbounded, 50 x 5 s at 384 kHz held as s16 would be 50 x 3.8 MB = 192 MB
    assert peak - before < 48 * 2**20, (before, peak)
    assert after - before < 24 * 2**20, (before, after)
    assert "Traceback" not in process.text()


@pytest.mark.slow
def test_a_header_nested_50000_deep_is_one_line_per_burst_and_no_traceback(server):
    process, port = server
    nested = b'{"deep": ' + b"[" * 50000 + b"]" * 50000 + b"}"  # the event's data, read after the header line
    header = b'{"type": "transcribe", "data_length": %d}\n' % len(nested) + nested
    lines_before = len(process.lines())

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(header)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), TIMEOUT)
        writer.close()
        return answer

    async def scenario():
        answers = []
        for _ in range(10):
            answers += await asyncio.gather(*(one() for _ in range(20)))
        return answers, await transcript(port, pcm(JOE[1]["file"]))

    answers, text = run(scenario())
    assert_heard(text, JOE[1])
    assert all(answer.startswith(b'{"type": "error"') for answer in answers)
    new = process.lines()[lines_before:]
    assert "Traceback" not in "\n".join(new) and "RecursionError" not in "\n".join(new)
    refusals = [line for line in new if "refused" in line and "Wyoming connection" in line]
    assert 1 <= len(refusals) <= 2, new[-20:]  # 200 connections: one line now, the count at the window's end
    assert max(map(len, new)) < 400
