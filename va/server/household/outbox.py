"""What the relay sends its members, one bounded queue and one writer per member, so that a member
that stops reading costs only itself.

Nothing the relay does waits on a member: ``post`` queues an event and returns. Each member's
writer sends its queue in order, each send bounded by SEND_TIMEOUT; a member whose queue is full
(MAX_QUEUED events unsent) or whose send times out is let go (``evict``: its connection is
closed), and what was queued for it is dropped. The directory is not queued per change: a member
is marked "owes the directory", and its writer sends the newest one once, after DIRECTORY_DELAY
(a burst of joins costs each member one directory, not one per join; a member's first directory
goes at once), written as JSON once
for all the members that get the same one.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from typing import Any, Awaitable, Callable, Deque, Dict, Optional

from va.server.limits import Burst

_LOGGER = logging.getLogger(__name__)

MAX_QUEUED = 256
"""Events (runs and results) waiting for one member; one more and the member is let go."""
SEND_TIMEOUT = 5.0
"""Seconds one send may wait for a member to read; then the member is let go."""
DIRECTORY_DELAY = 0.25
"""Seconds a member's writer waits before sending the directory, so that changes coming
together go out as one: a member gets at most about four directories a second, however many join."""


class _Written:
    """An event already written as JSON (the same directory for every member)."""

    TYPE = "directory"

    def __init__(self, event: Any) -> None:
        self.event, self.text = event, event.to_json()

    def to_json(self) -> str:
        return self.text

    def to_dict(self) -> Dict[str, Any]:
        return self.event.to_dict()


@dataclasses.dataclass(eq=False)
class _Box:
    events: Deque[Any] = dataclasses.field(default_factory=collections.deque)
    directory: bool = False
    greeted: bool = False
    """It was sent a directory: the next ones wait DIRECTORY_DELAY (the first goes at once, so a
    client that just joined knows the others before its first phrase)."""
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    task: Optional[asyncio.Task] = None


class Outboxes:
    """``send(member, event)`` writes one event; ``evict(member, why)`` lets a member go;
    ``directory()`` is the directory to send now."""

    def __init__(self, send: Callable[[Any, Any], Awaitable[None]], evict: Callable[[Any, str], None],
                 directory: Callable[[], Any]) -> None:
        self._send, self._evict, self._directory = send, evict, directory
        self._boxes: Dict[Any, _Box] = {}
        self._written: Optional[_Written] = None
        """The newest directory as written, until the directory changes (``changed``)."""
        self._evicted = Burst("let go of %d relay member(s) that did not read what was sent to them, the last %s: %s")

    def post(self, member: Any, event: Any) -> None:
        if hasattr(member, "post"):  # it never blocks (a client of another server: a broker message)
            member.post(event)
            return
        box = self._box(member)
        if box is None:
            return
        if len(box.events) >= MAX_QUEUED:
            self._let_go(member, f"{MAX_QUEUED} events unsent")
            return
        box.events.append(event)
        box.wake.set()

    def changed(self) -> None:
        """The directory changed: the next one is written anew."""
        self._written = None

    def post_directory(self, member: Any) -> None:
        if hasattr(member, "post"):
            return  # its own server tells it
        box = self._box(member)
        if box is not None:
            box.directory = True
            box.wake.set()

    def close(self, member: Any) -> None:
        """The member left: stop its writer, drop what it did not get."""
        box = self._boxes.pop(member, None)
        if box is not None and box.task is not None and box.task is not asyncio.current_task():
            box.task.cancel()

    def close_all(self) -> None:
        for member in list(self._boxes):
            self.close(member)

    async def flush(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until every member was sent its queued events."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(box.events for box in self._boxes.values()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    def queued(self, member: Any) -> int:
        box = self._boxes.get(member)
        return len(box.events) if box is not None else 0

    # -- each member's writer -------------------------------------------------------------------

    def _box(self, member: Any) -> Optional[_Box]:
        box = self._boxes.get(member)
        if box is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return None
            box = self._boxes[member] = _Box()
            box.task = loop.create_task(self._write(member, box))
        return box

    async def _write(self, member: Any, box: _Box) -> None:
        try:
            while True:
                await box.wake.wait()
                box.wake.clear()
                while box.events:
                    if not await self._one(member, box.events.popleft()):
                        return
                if box.directory:
                    if box.greeted:
                        await asyncio.sleep(DIRECTORY_DELAY)
                    box.directory, box.greeted = False, True
                    if self._written is None:
                        self._written = _Written(self._directory())
                    if not await self._one(member, self._written):
                        return
        except asyncio.CancelledError:
            pass

    async def _one(self, member: Any, event: Any) -> bool:
        try:
            await asyncio.wait_for(self._send(member, event), SEND_TIMEOUT)
            return True
        except asyncio.TimeoutError:
            self._let_go(member, f"a send waited {SEND_TIMEOUT:g} s")
        except Exception:  # noqa: BLE001 - one member's failure is its own
            _LOGGER.exception("sending %s to %s failed", getattr(event, "TYPE", event), member)
            self._let_go(member, "a send failed")
        return False

    def _let_go(self, member: Any, why: str) -> None:
        self._evicted.hit(member, why)
        self.close(member)
        self._evict(member, why)
