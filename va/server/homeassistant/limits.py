"""What Wyoming peers may take from the server: frame sizes, bytes of audio held, log lines.

The protocol has no authentication, so every bound holds per connection and for all of them:
a frame is at most `server.max_message_bytes`; all connections together hold at most
`server.wyoming.max_buffered_bytes` of audio (`Budget`), frames being read included; and what a
peer sends reaches the log escaped and cut short (`shown`).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from typing import Optional

_LOGGER = logging.getLogger(__name__)

SHOWN_CHARS = 80
"""Most characters of a peer's text in one log line."""


class OverBudget(Exception):
    """All connections together hold the most audio they may: this one is refused."""


class Budget:
    """Bytes held by all Wyoming connections, at most `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0

    def take(self, count: int) -> None:
        """Hold `count` more bytes, or raise OverBudget (holding nothing more)."""
        if count > 0 and self.held + count > self.limit:
            raise OverBudget(f"{self.held + count} bytes of audio held (at most {self.limit})")
        self.held += count
        self.peak = max(self.peak, self.held)

    def give(self, count: int) -> None:
        self.held = max(0, self.held - count)


class BoundedReader:
    """The StreamReader that wyoming's async_read_event sees: an unauthenticated peer must not make
    the server buffer a frame of gigabytes, nor many peers many frames. A frame's bytes are taken
    from the budget before they are read, and given back by `release()` once the event is handled.
    The ValueError ends the read as malformed input does; OverBudget ends it as "busy"."""

    def __init__(self, reader: asyncio.StreamReader, limit: int, budget: Budget) -> None:
        self._reader, self._limit, self._budget = reader, limit, budget
        self.reading = 0

    async def readline(self) -> bytes:
        return await self._reader.readline()

    async def readexactly(self, count: int) -> bytes:
        if count > self._limit:
            raise ValueError(f"frame of {count} bytes is over the {self._limit}-byte limit")
        self._budget.take(count)
        self.reading += count
        return await self._reader.readexactly(count)

    def release(self) -> None:
        self._budget.give(self.reading)
        self.reading = 0


def shown(text: object) -> str:
    """A peer's text for a log line: escaped (no newline, no control or invisible character), short."""
    value = str(text)
    cut = value[:SHOWN_CHARS]
    return ascii(cut)[1:-1] + (f"... ({len(value)} characters)" if len(value) > SHOWN_CHARS else "")


def _libc_trim() -> Optional[ctypes._CFuncPtr]:  # type: ignore[name-defined]
    try:
        name = ctypes.util.find_library("c")
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_MALLOC_TRIM = _libc_trim()


def give_memory_back() -> None:
    """Return the C heap's free pages to the system (glibc keeps them otherwise, even after the
    audio of many connections was freed); nothing where malloc_trim is missing."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
