"""The phrases waiting for the server: queued, then in flight until their one reply.

- A bounded queue: phrases heard while the server is away wait (``queue_size``; when it is full
  the oldest is dropped with a warning) and are sent after reconnecting.
- Exactly once: each request carries an id and stays in flight until its reply. When the
  connection drops, the phrases in flight go first on the next one (``requeue``), at most
  ``MAX_ATTEMPTS`` connections each; a reply whose id is no longer in flight (a duplicate, or one
  for a phrase already answered) is ignored. A transcript without an id (a server that does not
  echo them) answers the oldest in flight.

Runs on the event loop; not thread-safe.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Optional, Union

from va.client.listener import Phrase
from va.protocol import Error, Transcript

_LOGGER = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
"""Connections a phrase may be in flight on before it is given up (a phrase that kills the server
must not kill it forever)."""

Reply = Union[Transcript, Error]


@dataclass
class Pending:
    id: int
    phrase: Phrase
    attempts: int = 0
    """Connections it was sent on."""


class Outbox:
    """Queued and in-flight phrases; ``on_drop(phrase, why)`` hears of each one given up."""

    def __init__(self, queue_size: int, max_size: int, on_drop: Callable[[Phrase, str], None]) -> None:
        self.queue_size = queue_size
        self._max_size = max_size
        self._on_drop = on_drop
        self._ids = itertools.count(1)
        self._queue: Deque[Pending] = collections.deque()
        self._in_flight: Dict[int, Pending] = {}
        self.ready = asyncio.Event()
        """Set when phrases are queued."""

    def __len__(self) -> int:
        """Phrases waiting for a reply: queued or in flight."""
        return len(self._queue) + len(self._in_flight)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def new_id(self) -> int:
        """An id no phrase has, for a stream (its phrase is added with it at its end)."""
        return next(self._ids)

    def add(self, phrase: Phrase, request_id: Optional[int] = None) -> None:
        """Queue a phrase (``request_id``: the id it was streamed under, ``new_id``)."""
        if self._too_big(phrase):
            return
        self._queue.append(Pending(request_id or next(self._ids), phrase))
        self._trim()
        self.ready.set()

    def fly(self, phrase: Phrase, request_id: int) -> bool:
        """A phrase whose audio was streamed under ``request_id`` is in flight now (its END goes
        out); False when it is too big to be sent whole again after a reconnect."""
        if self._too_big(phrase):
            return False
        self._in_flight[request_id] = Pending(request_id, phrase, attempts=1)
        return True

    def _too_big(self, phrase: Phrase) -> bool:
        if _encoded_size(phrase) <= self._max_size:
            return False
        self.drop(phrase, f"{phrase.duration:.1f} s of audio is more than a message may carry")
        return True

    def next(self) -> Optional[Pending]:
        """The next phrase to send, now in flight (before it is sent: if the send fails it goes again)."""
        if not self._queue:
            self.ready.clear()
            return None
        pending = self._queue.popleft()
        pending.attempts += 1
        self._in_flight[pending.id] = pending
        return pending

    def take(self, event: Reply) -> Optional[Pending]:
        """The phrase a reply answers, out of flight; None if it answers nothing in flight."""
        if isinstance(event.id, int):
            return self._in_flight.pop(event.id, None)
        if event.id is None and isinstance(event, Transcript) and self._in_flight:
            return self._in_flight.pop(next(iter(self._in_flight)))
        return None

    def requeue(self) -> None:
        """The connection dropped: what was in flight goes first on the next one."""
        if not self._in_flight:
            return
        again = [pending for pending in self._in_flight.values() if pending.attempts < MAX_ATTEMPTS]
        for pending in self._in_flight.values():
            if pending.attempts >= MAX_ATTEMPTS:
                self.drop(pending.phrase, f"no reply after {pending.attempts} tries")
        self._in_flight.clear()
        if again:
            _LOGGER.info("%d phrase(s) were in flight; sending them again", len(again))
        self._queue.extendleft(reversed(again))
        self._trim()
        self.ready.set()

    def excuse(self) -> None:
        """The connection closed for a reason of the server's own (draining): the last attempt of
        the phrases in flight does not count."""
        for pending in self._in_flight.values():
            pending.attempts -= 1

    def forgive(self) -> None:
        """The failures so far were not the phrases' fault: their attempts start again."""
        for pending in self._queue:
            pending.attempts = 0

    def drop(self, phrase: Phrase, why: str) -> None:
        _LOGGER.warning("Dropped a phrase heard %.1f s ago: %s", time.monotonic() - phrase.end_of_speech, why)
        try:
            self._on_drop(phrase, why)
        except Exception:  # noqa: BLE001
            _LOGGER.exception("Handling a dropped phrase failed")

    def _trim(self) -> None:
        while len(self._queue) > self.queue_size:
            oldest = self._queue.popleft()
            self.drop(oldest.phrase, f"the queue is full ({self.queue_size} phrases waiting for the server)")


def _encoded_size(phrase: Phrase) -> int:
    return (len(phrase.pcm) + 2) // 3 * 4 + 64  # base64 plus the JSON around it
