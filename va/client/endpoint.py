"""Where a phrase starts and ends: a pure state machine over frames that a detector labelled.

``Endpointer.feed(frame, speech, now)`` takes one 30 ms frame (va.client.vad), whether it is
speech, and the time it was read, and returns what happened:

- ``Started``: speech began; ``pcm`` holds the pre-roll (the quiet just before) and the frame.
- ``Audio``: a frame of the phrase being heard (for streaming it to the server).
- ``Quiet``: the quiet after speech has lasted one of ``marks`` seconds (counted in audio, not
  wall time): the moments when the phrase so far is checked and an early decision may be taken.
- ``Resumed``: speech again after a ``Quiet``: whatever was decided on the phrase so far is stale.
- ``Ended``: ``pause`` seconds of quiet (or ``max_seconds`` of phrase) ended it; ``pcm`` keeps
  at most ``tail`` seconds of the ending quiet. ``last_loud`` is when its last speech frame was
  read: what a person waits is measured from there.
- ``Discarded``: it ended with less than ``min_speech`` seconds of speech (a click, a cough).

With a ``foreground`` (va.client.foreground), speech counts only when it is the foreground
speaker's: the phrase ends when the person who said the keyword stops, while a TV goes on.

Like SpeechRecognition's ``listen``, which it replaces, a phrase ends after ``pause`` of quiet and
is dropped when shorter than 0.3 s; unlike it, it says what it sees while the phrase goes on.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Deque, List, Optional, Sequence, Union

from va.client.vad import FRAME_BYTES, FRAME_SECONDS


@dataclass(frozen=True)
class Started:
    number: int
    pcm: bytes = field(repr=False)


@dataclass(frozen=True)
class Audio:
    number: int
    pcm: bytes = field(repr=False)


@dataclass(frozen=True)
class Quiet:
    number: int
    seconds: float
    """Quiet heard so far, in audio seconds."""
    last_loud: float
    """When the last speech frame was read (the listener's clock)."""
    at: float
    """When this frame was read."""


@dataclass(frozen=True)
class Resumed:
    number: int


@dataclass(frozen=True)
class Ended:
    number: int
    pcm: bytes = field(repr=False)
    last_loud: float
    at: float
    limited: bool = False
    """Cut by ``max_seconds`` while speech went on."""


@dataclass(frozen=True)
class Discarded:
    number: int
    why: str


Event = Union[Started, Audio, Quiet, Resumed, Ended, Discarded]


def _frames(seconds: float) -> int:
    return max(1, round(seconds / FRAME_SECONDS))


class Endpointer:
    """See the module's docstring. Not thread-safe: one listening thread feeds it."""

    def __init__(
        self,
        pause: float,
        marks: Sequence[float] = (),
        preroll: float = 0.5,
        min_speech: float = 0.3,
        max_seconds: float = 10.0,
        start_frames: int = 1,
        foreground: Optional[Any] = None,
    ) -> None:
        self._pause = _frames(pause)
        self._marks = sorted({_frames(mark) for mark in marks if 0 < mark < pause})
        self._tail = min(_frames(preroll), self._pause)
        self._min_speech = _frames(min_speech)
        self._max = _frames(max_seconds)
        self._start = max(1, start_frames)
        self._preroll: Deque[bytes] = collections.deque(maxlen=_frames(preroll) + self._start)
        self._pcm = bytearray()
        self._speech_run = 0
        self.number = 0
        """The phrase being heard (or the last one); 0 before any."""
        self.active = False
        self._quiet = 0
        self._voiced = 0
        self._last_loud = 0.0
        self._foreground = foreground

    def feed(self, frame: bytes, speech: bool, now: float) -> List[Event]:
        if self._foreground is not None:
            speech = self._foreground.speech(frame, speech, self.active)
        if not self.active:
            return self._idle(frame, speech, now)
        self._pcm += frame
        events: List[Event] = [Audio(self.number, frame)]
        if speech:
            if self._quiet >= (self._marks[0] if self._marks else self._pause):
                events.append(Resumed(self.number))
            self._quiet, self._last_loud = 0, now
            self._voiced += 1
        else:
            self._quiet += 1
            if self._quiet in self._marks:
                events.append(Quiet(self.number, self._quiet * FRAME_SECONDS, self._last_loud, now))
        if self._quiet >= self._pause or len(self._pcm) >= self._max * FRAME_BYTES:
            events.append(self._end(now))
        return events

    def cut(self, number: int) -> Optional[Discarded]:
        """Stop hearing phrase ``number`` now (it was acted on); the next speech is a new phrase."""
        if not self.active or number != self.number:
            return None
        self._reset()
        return Discarded(number, "acted on before its pause ended")

    def _idle(self, frame: bytes, speech: bool, now: float) -> List[Event]:
        self._preroll.append(frame)
        self._speech_run = self._speech_run + 1 if speech else 0
        if self._speech_run < self._start:
            return []
        self.number += 1
        self.active = True
        self._pcm = bytearray(b"".join(self._preroll))
        self._preroll.clear()
        self._quiet, self._voiced, self._last_loud = 0, self._speech_run, now
        self._speech_run = 0
        return [Started(self.number, bytes(self._pcm))]

    def _end(self, now: float) -> Event:
        quiet, voiced, pcm = self._quiet, self._voiced, self._pcm
        self._reset()
        if voiced < self._min_speech:
            return Discarded(self.number, f"{voiced * FRAME_SECONDS:.2f} s of speech is too short for a phrase")
        keep = len(pcm) - max(0, quiet - self._tail) * FRAME_BYTES
        return Ended(self.number, bytes(pcm[:keep]), self._last_loud, now, limited=quiet < self._pause)

    def _reset(self) -> None:
        self.active = False
        self._pcm = bytearray()
        self._quiet = self._voiced = 0
