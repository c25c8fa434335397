"""How loud a phrase was heard: its speech level and its signal-to-noise ratio, in dB.

A client measures them on the phrase it cut (the listener keeps a little of the quiet before the
speech) and may send them with its ``audio_input`` (``"level"``, ``"snr"``); the server measures
the same way what a client streamed, or what an older client sent without them. The household's
arbitration (va.server.household.arbitration) weighs them to find the client that heard a phrase
best. Pure Python: the client has no numpy.
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from dataclasses import dataclass
from typing import Any, Mapping, Optional

FRAME_SAMPLES = 480
"""30 ms at 16 kHz."""
SNR_CAP = 60.0
"""A digital silence has no noise to speak of: SNRs are capped here."""
_FLOOR = 1.0
"""RMS (of 32768) below which a frame counts as silent."""


@dataclass(frozen=True)
class Loudness:
    level: float
    """The speech's RMS in dBFS: the 90th percentile of its 30 ms frames (0 is full scale)."""
    snr: float
    """The speech's level above the quiet in the phrase (its 10th percentile frame), in dB."""


def measure(pcm: bytes) -> Loudness:
    """The loudness of s16le mono 16 kHz ``pcm`` (an empty phrase: -90 dBFS, 0 dB)."""
    meter = Meter()
    meter.add(pcm)
    return meter.loudness()


class Meter:
    """The loudness of a phrase while it is heard: ``add`` its audio as it comes (each frame is
    measured once), ask ``loudness()`` at any time."""

    def __init__(self) -> None:
        self._levels: list = []
        self._rest = b""

    def add(self, pcm: bytes) -> None:
        pcm = self._rest + pcm
        whole = len(pcm) - len(pcm) % (FRAME_SAMPLES * 2)
        self._rest = pcm[whole:]
        samples = array("h")
        samples.frombytes(pcm[:whole])
        if sys.byteorder == "big":
            samples.byteswap()
        self._levels += [_rms(samples[start : start + FRAME_SAMPLES]) for start in range(0, len(samples), FRAME_SAMPLES)]

    def loudness(self) -> Loudness:
        levels = sorted(self._levels)
        if self._rest and len(self._rest) >= 2:
            tail = array("h")
            tail.frombytes(self._rest[: len(self._rest) - len(self._rest) % 2])
            levels = sorted(levels + [_rms(tail)])
        if not levels:
            return Loudness(-90.0, 0.0)
        speech = max(levels[min(len(levels) - 1, int(len(levels) * 0.9))], _FLOOR)
        quiet = max(levels[int(len(levels) * 0.1)], _FLOOR)
        return Loudness(round(_db(speech / 32768.0), 1), round(min(SNR_CAP, _db(speech / quiet)), 1))


def read_loudness(message: Mapping[str, Any]) -> Optional[Loudness]:
    """The ``level`` and ``snr`` a client sent, when it sent both as numbers in range; else None."""
    level, snr = message.get("level"), message.get("snr")
    if not isinstance(level, (int, float)) or not isinstance(snr, (int, float)) or bool in (type(level), type(snr)):
        return None
    if not (-120.0 <= level <= 10.0 and -60.0 <= snr <= 120.0):
        return None
    return Loudness(float(level), min(SNR_CAP, float(snr)))


def _rms(frame: Any) -> float:
    return math.sqrt(sum(map(operator.mul, frame, frame)) / len(frame)) if len(frame) else 0.0


def _db(ratio: float) -> float:
    return 20.0 * math.log10(max(ratio, 1e-9))
