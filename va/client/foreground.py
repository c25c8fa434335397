"""Whose phrase it is: the foreground speaker, the near voice that said the keyword.

A television or another person in the room keeps a voice detector hearing speech after a
command has ended, so the phrase never ends and the other voice's words run on into it. The
person who spoke to va is nearer, so louder: their level, measured while they say the keyword
and the command, is the loudest of the phrase. A frame is the foreground's speech only when the
detector says speech and its level, smoothed over `SMOOTH` frames, lies within `drop_db` of the
loudest smoothed level heard in the phrase so far. Another voice `drop_db` or more below
counts as quiet: the phrase ends when the foreground speaker stops, even while it goes on.

`Foreground` is the endpointer's filter (va.client.endpoint), frame by frame as they are heard.
What the server decodes is then the foreground's phrase: the other voice's words after it, which
would run into a free-text argument, are not in it. (Cutting a whole utterance to its loudest
voice's span on the server as well was tried on the corpus' tune talker clips: 27/30 -> 25/30.)

Pure: levels in, decisions out; no numpy, so the client stays light.
"""

from __future__ import annotations

import collections
import math
from typing import Deque

from va.client.vad import rms

SMOOTH = 5
"""Frames (30 ms each) a level is averaged over: a syllable, not a click."""
DROP_DB = 10.0
"""Default dB below the foreground's loudest at which a voice is someone else's."""
SILENT_DB = -100.0


def level_db(frame: bytes) -> float:
    """A frame's level in dB relative to full scale (s16le)."""
    loudness = rms(frame)
    return 20 * math.log10(loudness / 32768) if loudness > 0 else SILENT_DB


class Foreground:
    """The foreground speaker of the phrase being heard."""

    def __init__(self, drop_db: float = DROP_DB) -> None:
        self.drop_db = drop_db
        self._recent: Deque[float] = collections.deque(maxlen=SMOOTH)
        self.loudest = SILENT_DB
        """The loudest smoothed level of the phrase so far (dBFS): the foreground's."""

    def hear(self, level: float) -> None:
        """Take one frame's level (before the phrase starts too: its pre-roll counts)."""
        self._recent.append(10 ** (level / 10))

    def speech(self, frame: bytes, speech: bool, in_phrase: bool = True) -> bool:
        """Whether the frame is the foreground's speech: the detector's word and loud enough.
        Between phrases (`in_phrase` false) the loudest is forgotten: each phrase has its own."""
        self.hear(level_db(frame))
        smoothed = self.smoothed()
        if not in_phrase:
            self.loudest = SILENT_DB
        if speech:
            self.loudest = max(self.loudest, smoothed)
        return speech and smoothed >= self.loudest - self.drop_db

    def smoothed(self) -> float:
        power = sum(self._recent) / len(self._recent) if self._recent else 0.0
        return 10 * math.log10(power) if power > 0 else SILENT_DB
