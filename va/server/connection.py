"""One client's connection: its name and prompt, and its replies, in order and bounded.

Every frame a client sends gets at most one reply (exactly one, unless the server is draining),
sent in the order of the frames whatever finished first, and carrying ``seq``: the frame's number
on this connection (1 for the first). At most ``limit`` replies may be pending (computed or
waiting to be sent); while that many are, the server reads nothing more from this connection, so
a client that pipelines hundreds of requests, or never reads its replies, holds ``limit`` requests
of the shared queue and a bounded amount of memory, and TCP flow control holds back the rest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Awaitable, Optional

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from va.protocol import reply_json

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)  # identity hash: clients live in a set
class Client:
    connection: ServerConnection
    name: str
    limit: int
    """Replies that may be pending at once."""
    prompt: Optional[str] = None
    keyword: Optional[str] = None
    grammar: Any = None
    """The client's commands from its hello (a va.language.grammar.GrammarRegistry; None: it sent
    none, and its replies carry no reading)."""
    threshold: Optional[float] = None
    """The fuzzy score a command name needs in its readings (its hello's; None: the default)."""
    streams: Any = None
    """Its streamed requests (va.server.stream.Streams) when its hello asked for streaming."""
    identity: Optional[str] = None
    """The client whose key opened this connection (va.server.household.identities); None: no key."""
    key_hash: Optional[str] = dataclasses.field(default=None, repr=False)
    """That key's hash, to let the connection go when the key is rotated."""
    frames: int = 0
    """Frames received so far: the next frame's ``seq`` is frames + 1."""
    _last: Optional[asyncio.Task] = None
    _room: asyncio.Semaphore = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self._room = asyncio.Semaphore(max(1, self.limit))

    def __str__(self) -> str:
        return self.name

    async def admit(self) -> int:
        """Wait for room for one more reply; the new frame's ``seq``."""
        await self._room.acquire()
        self.frames += 1
        return self.frames

    def skip(self) -> None:
        """The frame just admitted gets no reply (the server is draining)."""
        self._room.release()

    def answer(self, seq: int, reply: Awaitable[Any]) -> asyncio.Task:
        """Send the event ``reply`` resolves to (None: nothing) after every earlier reply."""
        task = asyncio.ensure_future(self._answer(seq, reply, self._last))
        self._last = task
        return task

    async def _answer(self, seq: int, reply: Awaitable[Any], previous: Optional[asyncio.Task]) -> None:
        try:
            event = await reply
            if previous is not None and not previous.done():
                await asyncio.wait({previous})  # never raises: an earlier failure is its own
            if event is not None:
                await self.send(event, seq)
        except Exception:  # noqa: BLE001 - one failed reply must not stop the ones after it
            _LOGGER.exception("reply %d to %s failed", seq, self)
        finally:
            self._room.release()

    async def send(self, event: Any, seq: Optional[int]) -> None:
        try:
            await self.connection.send(reply_json(event, seq))
        except ConnectionClosed:
            _LOGGER.debug("%s left before its %s was sent", self, event.TYPE)
