"""Wyoming load, as Home Assistant sends it: one TCP connection per utterance, through the
`wyoming` package's own async client (transcribe, audio-start, 16 kHz s16 mono chunks of 1,024
samples, audio-stop, then events until `transcript`).

The audio goes out as fast as the socket takes it, so "total" (connect to transcript) is what a
client waits once its audio is complete; "after stop" starts when audio-stop is written.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from bench.stats import percentile

REQUEST_TIMEOUT = 300.0
SAMPLES_PER_CHUNK = 1024


@dataclass
class WyomingResult:
    clients: int
    total_ms: List[float] = field(default_factory=list)
    after_stop_ms: List[float] = field(default_factory=list)
    texts: List[Tuple[str, str]] = field(default_factory=list)
    """(clip name, transcript) for every request."""
    wall_s: float = 0.0
    errors: List[str] = field(default_factory=list)

    @property
    def p50(self) -> Optional[float]:
        return percentile(self.total_ms, 50)

    @property
    def p95(self) -> Optional[float]:
        return percentile(self.total_ms, 95)

    @property
    def after_stop_p50(self) -> Optional[float]:
        return percentile(self.after_stop_ms, 50)

    @property
    def throughput(self) -> Optional[float]:
        return len(self.total_ms) / self.wall_s if self.wall_s and self.total_ms else None


async def utterance(port: int, pcm: bytes) -> Tuple[float, float, str]:
    """(total ms, ms after audio-stop, transcript) for one utterance on its own connection."""
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    started = time.perf_counter()
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        step = SAMPLES_PER_CHUNK * 2
        for offset in range(0, len(pcm), step):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=pcm[offset : offset + step]).event())
        await client.write_event(AudioStop().event())
        stopped = time.perf_counter()
        while True:
            event = await asyncio.wait_for(client.read_event(), REQUEST_TIMEOUT)
            if event is None:
                raise ConnectionError("the server closed the connection without a transcript")
            if Transcript.is_type(event.type):
                done = time.perf_counter()
                return (done - started) * 1000, (done - stopped) * 1000, Transcript.from_event(event).text
            if event.type == "error":
                raise RuntimeError(f"error event: {event.data}")


async def _client(port: int, clips: Sequence[Tuple[str, bytes]], offset: int, requests: int, result: WyomingResult) -> None:
    for index in range(requests):
        name, pcm = clips[(offset + index) % len(clips)]
        total, after_stop, text = await utterance(port, pcm)
        result.total_ms.append(total)
        result.after_stop_ms.append(after_stop)
        result.texts.append((name, text))


async def run_level(port: int, clips: Sequence[Tuple[str, bytes]], clients: int, requests: int) -> WyomingResult:
    """`clients` concurrent talkers, each `requests` utterances in turn (clips rotate per client)."""
    result = WyomingResult(clients)
    started = time.perf_counter()
    tasks = [_client(port, clips, client, requests, result) for client in range(clients)]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    result.wall_s = time.perf_counter() - started
    result.errors.extend(f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException))
    return result


def level(port: int, clips: Sequence[Tuple[str, bytes]], clients: int, requests: int) -> WyomingResult:
    return asyncio.run(run_level(port, clips, clients, requests))


async def describe(port: int, timeout: float = 5.0) -> dict:
    """The server's `info` answer (raises until the server is up)."""
    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe

    async with AsyncTcpClient("127.0.0.1", port, connect_timeout=timeout, read_timeout=timeout) as client:
        await client.write_event(Describe().event())
        while True:
            event = await client.read_event()
            if event is None:
                raise ConnectionError("closed before info")
            if event.type == "info":
                return event.data


def describe_ms(port: int, times: int) -> List[float]:
    """Connect, describe, read info, close: what one more connection costs, `times` times (ms)."""

    async def measure() -> List[float]:
        spent = []
        for _ in range(times):
            started = time.perf_counter()
            await describe(port, timeout=REQUEST_TIMEOUT)
            spent.append((time.perf_counter() - started) * 1000)
        return spent

    return asyncio.run(measure())
