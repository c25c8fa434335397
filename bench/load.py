"""Websocket load: N clients, each on its own connection, sending one command clip repeatedly.

Both servers get the seed's message format (`{"type": "audio_input", "data": base64}`), so the
bytes on the wire are the same. Each connection's first request is timed apart from the rest:
the seed loads its model when a client connects, so its first answer includes a model load.
Throughput counts only the steady phase, which starts once every client has had its first answer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from websockets.asyncio.client import ClientConnection, connect

from bench.stats import percentile

REQUEST_TIMEOUT = 300.0


@dataclass
class LoadResult:
    clients: int
    first_ms: List[float] = field(default_factory=list)
    """connect + first request, one per client."""
    latencies_ms: List[float] = field(default_factory=list)
    """steady-state requests only."""
    processing_ms: List[float] = field(default_factory=list)
    """The server's own processing_ms for the steady requests (va only: the seed sends none)."""
    wall_s: float = 0.0
    errors: List[str] = field(default_factory=list)
    texts: List[str] = field(default_factory=list)

    @property
    def p50(self) -> Optional[float]:
        return percentile(self.latencies_ms, 50)

    @property
    def p95(self) -> Optional[float]:
        return percentile(self.latencies_ms, 95)

    @property
    def throughput(self) -> Optional[float]:
        return len(self.latencies_ms) / self.wall_s if self.wall_s and self.latencies_ms else None

    @property
    def processing_p50(self) -> Optional[float]:
        return percentile(self.processing_ms, 50)

    @property
    def first_p50(self) -> Optional[float]:
        return percentile(self.first_ms, 50)


def audio_message(pcm: bytes) -> str:
    return json.dumps({"type": "audio_input", "data": base64.b64encode(pcm).decode("ascii")})


async def _request(connection: ClientConnection, message: str) -> dict:
    await connection.send(message)
    reply = json.loads(await asyncio.wait_for(connection.recv(), REQUEST_TIMEOUT))
    if reply.get("type") != "transcript":
        raise RuntimeError(f"{reply.get('type')}: {reply.get('data')}")
    return reply


async def _client(url: str, message: str, requests: int, result: LoadResult, go: asyncio.Event, ready) -> None:
    started = time.perf_counter()
    # no keepalive pings: the seed blocks its event loop while it transcribes and would miss them
    async with connect(url, max_size=None, open_timeout=REQUEST_TIMEOUT, ping_interval=None) as connection:
        result.texts.append((await _request(connection, message)).get("data", ""))
        result.first_ms.append((time.perf_counter() - started) * 1000)
        ready()
        await go.wait()
        for _ in range(requests):
            sent = time.perf_counter()
            reply = await _request(connection, message)
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.texts.append(reply.get("data", ""))
            if isinstance(reply.get("processing_ms"), (int, float)):
                result.processing_ms.append(float(reply["processing_ms"]))


async def run_load(url: str, pcm: bytes, clients: int, requests: int) -> LoadResult:
    """`clients` connections, each: first request, wait for all, then `requests` timed requests."""
    result = LoadResult(clients)
    message = audio_message(pcm)
    go = asyncio.Event()
    waiting = [clients]
    all_ready = asyncio.Event()

    def ready() -> None:
        waiting[0] -= 1
        if waiting[0] == 0:
            all_ready.set()

    tasks = [asyncio.create_task(_client(url, message, requests, result, go, ready)) for _ in range(clients)]
    # a client that fails before its first answer must not leave the others waiting forever
    watcher = asyncio.create_task(all_ready.wait())
    await asyncio.wait([watcher, *tasks], return_when=asyncio.FIRST_COMPLETED)
    started = time.perf_counter()
    go.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    result.wall_s = time.perf_counter() - started
    watcher.cancel()
    result.errors.extend(f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException))
    return result


async def run_paired(url: str, pcm: bytes, transcribe: Callable[[], object], pairs: int) -> Tuple[List[float], List[float]]:
    """Alternate one in-process transcription and one server request: (in-process ms, server ms).

    Interleaving puts both under the same machine noise, so their difference is the server's
    overhead rather than the luck of two separate time windows.
    """
    message = audio_message(pcm)
    local: List[float] = []
    remote: List[float] = []
    async with connect(url, max_size=None, open_timeout=REQUEST_TIMEOUT, ping_interval=None) as connection:
        await _request(connection, message)
        for _ in range(pairs):
            started = time.perf_counter()
            transcribe()  # blocks the loop on purpose: nothing else runs in this process meanwhile
            local.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await _request(connection, message)
            remote.append((time.perf_counter() - started) * 1000)
    return local, remote


def paired(url: str, pcm: bytes, transcribe: Callable[[], object], pairs: int) -> Tuple[List[float], List[float]]:
    return asyncio.run(run_paired(url, pcm, transcribe, pairs))


def load(url: str, pcm: bytes, clients: int, requests: int) -> LoadResult:
    return asyncio.run(run_load(url, pcm, clients, requests))
