"""What a Wyoming client sends, checked at the edge: audio formats, an utterance's audio
(converted to 16 kHz s16 mono as it arrives, within the length limit) and the vocabulary that
`transcribe` may carry. Pure of the network: the endpoint (va.server.homeassistant.wyoming) feeds it.
"""

from __future__ import annotations

import warnings
from typing import Any, List, Optional, Tuple

with warnings.catch_warnings():  # wyoming.audio imports audioop, deprecated since Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.audio import AudioChunk
from wyoming.asr import Transcribe

from va.protocol import SAMPLE_RATE
from va.server.homeassistant.resampler import StreamResampler
from va.stt.audio import float_to_pcm16, pcm_to_float

MAX_RATE = 384000
MAX_CHANNELS = 32
PROMPT_CHARS = 1000  # Whisper keeps the last ~220 tokens of a prompt anyway


def format_problem(rate: Any, width: Any, channels: Any) -> Optional[str]:
    """Why an audio format cannot be taken, or None when it can."""
    whole = all(isinstance(value, int) and not isinstance(value, bool) for value in (rate, width, channels))
    if not whole or not (0 < rate <= MAX_RATE and width in (1, 2, 3, 4) and 0 < channels <= MAX_CHANNELS):
        return f"unsupported audio format: rate {rate!r}, width {width!r}, channels {channels!r}"
    return None


class Utterance:
    """The audio of one utterance, resampled to 16 kHz s16 mono as it arrives (never held at the
    client's rate: va.server.homeassistant.resampler), within the length limit."""

    def __init__(self, audio_format: Tuple[int, int, int], max_seconds: float) -> None:
        self.format = audio_format
        """(rate, width, channels) of every chunk."""
        self.max_seconds = max_seconds
        self.samples = 0
        """Samples received, at the client's rate."""
        self.audio = bytearray()
        """16 kHz s16 mono so far."""
        self._resampler = StreamResampler(audio_format[0])

    @property
    def seconds(self) -> float:
        return self.samples / self.format[0]

    @property
    def too_long(self) -> bool:
        return self.seconds > self.max_seconds

    @property
    def held(self) -> int:
        """Bytes this utterance holds."""
        return len(self.audio) + self._resampler.held

    def add(self, chunk: AudioChunk) -> None:
        rate, width, channels = self.format
        frames = len(chunk.audio) // (width * channels)
        self.samples += frames
        if self.too_long:
            self._drop()  # answered with an error at audio-stop; hold no memory meanwhile
        elif rate == SAMPLE_RATE and width == 2 and channels == 1:
            self.audio += chunk.audio[: frames * 2]
        else:
            self.audio += float_to_pcm16(self._resampler.push(pcm_to_float(chunk.audio, width, channels)))

    def pcm(self) -> bytes:
        """The whole utterance at 16 kHz (the end of it resampled now)."""
        if not self.too_long and self._resampler.rate != SAMPLE_RATE:
            self.audio += float_to_pcm16(self._resampler.flush())
        return bytes(self.audio)

    def so_far(self) -> bytes:
        """What is resampled so far (for a partial transcript)."""
        return bytes(self.audio)

    def _drop(self) -> None:
        self.audio = bytearray()
        self._resampler = StreamResampler(self.format[0])


def vocabulary_prompt(transcribe: Transcribe) -> Optional[str]:
    """The names and terms a client asks to bias the transcript toward, as a decoding prompt
    (like a websocket client's hello: "kitchen light, radio."); None when there are none."""
    words: List[str] = []
    for group in (transcribe.transcript_names, transcribe.transcript_terms):
        if isinstance(group, list):
            words.extend(word.strip() for word in group if isinstance(word, str) and word.strip())
    text = ", ".join(dict.fromkeys(words))[:PROMPT_CHARS]
    return text + "." if text else None
