"""Phrases streamed while they are heard (va.protocol.stream): assembled per client, read ahead.

Each client that asked for streaming in its hello keeps its open requests in ``Streams`` (at most
``MAX_OPEN`` at a time, each at most ``server.max_audio_seconds`` long). A CHECK sends the phrase
so far through the server's usual path as a partial request (its reply says ``"partial": true``),
so the server reads the phrase while the speaker may still be pausing; END sends the whole
phrase, answered like an ``audio_input`` with the same id; CANCEL forgets it. Any of them drops
the check of that id still waiting in the queue (``supersede``). When the client goes, its streams
and waiting checks go with it (``close``): nothing is decoded for a listener that left.

Pure bookkeeping: ``Streams.take`` says what a frame asks for; va.server.app queues and answers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass
from typing import Deque, Dict, Optional, Union

from va.protocol import SAMPLE_RATE, SAMPLE_WIDTH, AudioInput, Error, ProtocolError
from va.protocol.stream import AudioChunk

_LOGGER = logging.getLogger(__name__)

MAX_OPEN = 4
"""Requests one client may stream at once (a client streams one phrase at a time)."""


@dataclass(frozen=True)
class StreamRequest:
    """Transcribe ``audio``: the phrase so far (``partial``) or the whole of it."""

    audio: AudioInput
    partial: bool


class Streams:
    """One client's open streamed requests."""

    def __init__(self) -> None:
        self.open: Dict[int, bytearray] = {}
        self.refused: Deque[int] = collections.deque(maxlen=16)
        """Ids answered with an error: the rest of their frames are ignored (the error was the reply)."""
        self.checks: Dict[int, asyncio.Future] = {}
        """The latest check queued per id: a newer CHECK, END or CANCEL of that id drops it unless
        its decoding has begun, so a busy server does not read phrases that went on."""

    def take(self, frame: bytes, max_seconds: float) -> Union[None, Error, StreamRequest]:
        """What one binary frame asks for: nothing to answer, an error, or a request to queue."""
        try:
            chunk = AudioChunk.from_bytes(frame)
        except ProtocolError as error:
            return self._refuse(error.id, error.message) if isinstance(error.id, int) else Error(error.message)
        if chunk.id in self.refused:
            return None
        if chunk.check or chunk.end or chunk.cancel:
            self.supersede(chunk.id)
        if chunk.cancel:
            self.open.pop(chunk.id, None)
            return None
        pcm = self.open.get(chunk.id)
        if pcm is None:
            if len(self.open) >= MAX_OPEN:
                return self._refuse(chunk.id, f"too many streamed requests at once (at most {MAX_OPEN})")
            pcm = self.open[chunk.id] = bytearray()
        pcm += chunk.pcm
        if len(pcm) > max_seconds * SAMPLE_RATE * SAMPLE_WIDTH:
            return self._refuse(chunk.id, f"audio too long: more than {max_seconds:g} s")
        if chunk.end:
            del self.open[chunk.id]
            return StreamRequest(AudioInput(bytes(pcm), id=chunk.id), False) if pcm else Error("empty audio", chunk.id)
        if chunk.check and pcm:
            return StreamRequest(AudioInput(bytes(pcm), id=chunk.id), True)
        return None

    def checking(self, request_id: object, future: Optional[asyncio.Future]) -> None:
        """The check of ``request_id`` is queued as ``future`` (None: it was not)."""
        if isinstance(request_id, int) and future is not None:
            self.checks[request_id] = future

    def supersede(self, request_id: int) -> None:
        check = self.checks.pop(request_id, None)
        if check is not None and not check.done():
            check.cancel()

    def close(self) -> None:
        """The client left: drop what it streamed and its waiting checks."""
        for request_id in list(self.checks):
            self.supersede(request_id)
        self.open.clear()

    def _refuse(self, request_id: int, message: str) -> Error:
        self.open.pop(request_id, None)
        self.refused.append(request_id)
        _LOGGER.info("refused streamed request %d: %s", request_id, message)
        return Error(message, request_id)
