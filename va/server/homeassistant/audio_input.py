"""What a Wyoming client sends, checked at the edge: frame sizes, audio formats, an utterance's
audio (converted to s16 mono as it arrives, within the length limit) and the vocabulary that
`transcribe` may carry. Pure of the network: the endpoint (va.server.homeassistant.wyoming) feeds it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from typing import Any, List, Optional, Tuple

with warnings.catch_warnings():  # wyoming.audio imports audioop, deprecated since Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.audio import AudioChunk
from wyoming.asr import Transcribe

from va.stt.audio import pcm_to_mono16

MAX_RATE = 384000
MAX_CHANNELS = 32
PROMPT_CHARS = 1000  # Whisper keeps the last ~220 tokens of a prompt anyway


class BoundedReader:
    """The StreamReader that wyoming's async_read_event sees: an unauthenticated peer must not make
    the server buffer a frame of gigabytes. The ValueError ends the read as malformed input does."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader, self._limit = reader, limit

    async def readline(self) -> bytes:
        return await self._reader.readline()

    async def readexactly(self, count: int) -> bytes:
        if count > self._limit:
            raise ValueError(f"frame of {count} bytes is over the {self._limit}-byte limit")
        return await self._reader.readexactly(count)


def format_problem(rate: Any, width: Any, channels: Any) -> Optional[str]:
    """Why an audio format cannot be taken, or None when it can."""
    whole = all(isinstance(value, int) and not isinstance(value, bool) for value in (rate, width, channels))
    if not whole or not (0 < rate <= MAX_RATE and width in (1, 2, 3, 4) and 0 < channels <= MAX_CHANNELS):
        return f"unsupported audio format: rate {rate!r}, width {width!r}, channels {channels!r}"
    return None


@dataclasses.dataclass
class Utterance:
    """The audio of one utterance, kept as s16 mono at the rate the client sends."""

    format: Tuple[int, int, int]
    """(rate, width, channels) of every chunk."""
    max_seconds: float
    chunks: List[bytes] = dataclasses.field(default_factory=list)
    samples: int = 0

    @property
    def seconds(self) -> float:
        return self.samples / self.format[0]

    @property
    def too_long(self) -> bool:
        return self.seconds > self.max_seconds

    def add(self, chunk: AudioChunk) -> None:
        audio = pcm_to_mono16(chunk.audio, chunk.width, chunk.channels)
        self.samples += len(audio) // 2
        if self.too_long:
            self.chunks.clear()  # answered with an error at audio-stop; hold no memory meanwhile
        else:
            self.chunks.append(audio)

    def pcm(self) -> bytes:
        return b"".join(self.chunks)


def vocabulary_prompt(transcribe: Transcribe) -> Optional[str]:
    """The names and terms a client asks to bias the transcript toward, as a decoding prompt
    (like a websocket client's hello: "kitchen light, radio."); None when there are none."""
    words: List[str] = []
    for group in (transcribe.transcript_names, transcribe.transcript_terms):
        if isinstance(group, list):
            words.extend(word.strip() for word in group if isinstance(word, str) and word.strip())
    text = ", ".join(dict.fromkeys(words))[:PROMPT_CHARS]
    return text + "." if text else None
