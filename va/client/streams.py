"""The phrases a client streams while they are heard (va.protocol.stream), on one connection.

A stream lives on the connection it was opened on: its frames (audio, checks, a cancel, END last)
wait here in the order they were made, and go out before the queued whole phrases. When that
connection drops, every stream is forgotten and its phrase goes whole on the next one.
Everything here runs on the event loop.
"""

from __future__ import annotations

import collections
from typing import Deque, Dict, Optional

from va.client.listener import Phrase
from va.client.outbox import Outbox
from va.protocol.stream import AudioChunk


class Streams:
    """Open streams (id -> the connection they live on) and their frames waiting to be sent."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._open: Dict[int, int] = {}
        self._frames: Deque[bytes] = collections.deque()
        self.connection: Optional[int] = None
        """The number of the connection now open (the link's ``connections``); None between them."""

    def open(self) -> Optional[int]:
        """A new stream id on the open connection; None when there is none."""
        if self.connection is None:
            return None
        stream_id = self._outbox.new_id()
        self._open[stream_id] = self.connection
        return stream_id

    def send(self, chunk: AudioChunk) -> bool:
        """Queue a frame of a live stream; False when the stream is gone (with its connection)."""
        if not self._live(chunk.id):
            return False
        self._frames.append(chunk.to_bytes())
        self._outbox.ready.set()
        return True

    def cancel(self, stream_id: int) -> None:
        """Forget a stream: no reply will come."""
        if self.send(AudioChunk(stream_id, cancel=True)):
            del self._open[stream_id]

    def end(self, phrase: Phrase, stream_id: int) -> bool:
        """The phrase's audio is all streamed: it waits for its reply, and its END goes out;
        False when the stream is gone (the phrase must go whole)."""
        if not self._live(stream_id):
            return False
        del self._open[stream_id]
        if self._outbox.fly(phrase, stream_id):
            self._frames.append(AudioChunk(stream_id, end=True).to_bytes())
            self._outbox.ready.set()
        return True

    def _live(self, stream_id: int) -> bool:
        return self.connection is not None and self._open.get(stream_id) == self.connection

    def next_frame(self) -> Optional[bytes]:
        return self._frames.popleft() if self._frames else None

    def clear(self) -> None:
        """The connection dropped: the streams lived on it."""
        self.connection = None
        self._open.clear()
        self._frames.clear()
