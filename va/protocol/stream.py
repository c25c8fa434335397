"""Streamed audio on the wire: the phrase travels while it is heard (issue 12).

A client whose hello says ``"stream": 1`` and whose server answers ``ready`` with ``"stream": 1``
sends each phrase as binary frames, each one a small header and PCM:

    byte 0     version (1)
    byte 1     flags: 1 END (the phrase is complete: transcribe it, reply as to audio_input),
               2 CHECK (transcribe what came so far: reply with a ``"partial": true`` transcript),
               4 CANCEL (forget it: no reply)
    bytes 2-5  the request id, unsigned big-endian (echoed in the replies)
    bytes 6-   s16le mono 16 kHz PCM to append (may be empty)

The first frame of an id opens the request; END or CANCEL closes it. On other connections a binary
frame stays what it always was: one whole request of raw PCM. The one-shot ``audio_input`` keeps
working on every connection, streaming or not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from va.protocol.base import ProtocolError

VERSION = 1
END, CHECK, CANCEL = 1, 2, 4
_HEADER = struct.Struct(">BBI")
_FLAGS = END | CHECK | CANCEL


@dataclass(frozen=True)
class AudioChunk:
    """A piece of a phrase being heard, and what to do with what came so far."""

    id: int
    pcm: bytes = field(default=b"", repr=False)
    end: bool = False
    check: bool = False
    cancel: bool = False

    def to_bytes(self) -> bytes:
        flags = (END if self.end else 0) | (CHECK if self.check else 0) | (CANCEL if self.cancel else 0)
        return _HEADER.pack(VERSION, flags, self.id) + self.pcm

    @classmethod
    def from_bytes(cls, frame: bytes) -> AudioChunk:
        """Raises ``ProtocolError`` (with the id when it could be read) for a malformed frame."""
        if len(frame) < _HEADER.size:
            raise ProtocolError(f"a streamed frame needs its {_HEADER.size}-byte header")
        version, flags, request_id = _HEADER.unpack_from(frame)
        if version != VERSION:
            raise ProtocolError(f"streamed frame version {version} (this server reads {VERSION})", request_id)
        if flags & ~_FLAGS:
            raise ProtocolError(f"unknown streamed frame flags {flags:#x}", request_id)
        pcm = bytes(frame[_HEADER.size :])
        if len(pcm) % 2:
            raise ProtocolError("odd number of bytes: audio must be 16-bit samples", request_id)
        return cls(request_id, pcm, bool(flags & END), bool(flags & CHECK), bool(flags & CANCEL))
