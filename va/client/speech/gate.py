"""The microphone's gate while va plays: what va says must never become a phrase.

While a clip plays, and for `tail` seconds after (the room's echo, the device's buffer), each
microphone frame is replaced by silence, so the listener hears nothing of it. A person who talks
over va is louder at the microphone than va's own sound: the gate learns how loud that sound
arrives (the median frame level of the clip so far) and a run of frames `barge_in_db` louder
opens it: the clip is stopped and those frames are heard (barge-in). va's own level is taken
as a high percentile, not the median, so its loud syllables after a pause (or after an underrun
of a slow synthesis) are not a person. Pure of the devices: the
player's state and the clock come in as arguments.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Deque, List, Optional

from va.client.vad import rms

BARGE_IN_FRAMES = 4
"""Loud frames in a row (30 ms each) that count as a person, not a click or a louder syllable of va's."""
LEARN_FRAMES = 15
"""Frames of va's own sound heard before a barge-in can be told from it (0.45 s)."""
ECHO_PERCENTILE = 0.9
QUIET = 100.0
"""Frame level (RMS of s16 samples) below which a frame is not va's sound but the room's quiet."""
_ECHO_HISTORY = 300


class Gate:
    def __init__(self, playing: Callable[[], bool], ended_at: Callable[[], float], stop: Callable[[], bool],
                 tail: float = 0.3, barge_in_db: Optional[float] = 10.0) -> None:
        self._playing = playing
        self._ended_at = ended_at
        self._stop = stop
        self.tail = tail
        self.barge_in_db = barge_in_db
        self._echo: Deque[float] = deque(maxlen=_ECHO_HISTORY)
        self._loud = 0
        self._held: list[bytes] = []
        self._open = False  # after a barge-in: the person is heard, no tail, until va plays anew
        self._stopped_since_open = False
        self.barged_in = 0

    def __call__(self, frame: bytes, now: float) -> List[bytes]:
        """The frames to hear now: this one; silence while va's sound may be in it; or, at a
        barge-in, the loud frames held back while deciding, then this one."""
        playing = self._playing()
        if self._open:
            self._stopped_since_open = self._stopped_since_open or not playing
            if not (playing and self._stopped_since_open):
                return [frame]
            self._open = False  # va plays something new: gated again
        if not playing and now - self._ended_at() >= self.tail:
            self._echo.clear()
            return self._release(frame)
        level = rms(frame)
        if playing and self.barge_in_db is not None and self._is_person(level):
            self._loud += 1
            self._held.append(frame)
            if self._loud >= BARGE_IN_FRAMES:
                self.barged_in += 1
                self._stop()
                self._open, self._stopped_since_open = True, False
                return self._release(frame)
            return [bytes(len(frame))]
        self._loud, self._held = 0, []
        if playing and level > QUIET:  # a pause between clauses says nothing of how loud va is
            self._echo.append(level)
        return [bytes(len(frame))]

    def _is_person(self, level: float) -> bool:
        if self.barge_in_db is None or len(self._echo) < LEARN_FRAMES:
            return False  # too little learnt yet of how loud va itself arrives
        echo = sorted(self._echo)[int(len(self._echo) * ECHO_PERCENTILE)]
        return level > max(echo, 1.0) * 10 ** (self.barge_in_db / 20)

    def _release(self, frame: bytes) -> List[bytes]:
        """The frame, after those held back while deciding on a barge-in (their audio counts)."""
        held, self._held, self._loud = self._held, [], 0
        return [*held[:-1], frame] if held else [frame]
