"""Phrases while they are heard: streamed to the server, read at short pauses, decided early.

Runs on the event loop, fed by the listener's progress (va.client.endpoint events) and the
server's partial transcripts. For each phrase:

- ``Started``/``Audio``: its audio goes to the server as it is heard (when the server streams).
- ``Quiet`` at ``early_check`` s: the server is asked to read the phrase so far (CHECK).
- the partial reply: va.client.early judges it and says how much quiet it needs (``early_pause``
  for a command that cannot go on, ``open_pause`` for one that could); it runs as soon as the
  quiet has lasted that long (at once if it already has). The stream is cancelled and the
  listener told to stop hearing that phrase, so it runs once.
- ``Resumed``: the phrase goes on: a check in flight, or a verdict waiting for ``early_pause``,
  is stale and dropped; the next quiet asks again at once (the server drops a check still
  waiting in its queue when a newer one comes). A reply is known by the seconds of audio it read.
- ``Ended`` (``pause_threshold`` of quiet): the stream is closed with END and the server
  transcribes the whole phrase, as it did the one-shot phrase (a check's reading, cut 60 ms after
  the last loud frame, was measured to lose the end of free text: "the 80s" read as "the ages").
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Optional, Tuple

from va.client.endpoint import Audio, Discarded, Event, Quiet, Resumed, Started
from va.client.listener import Phrase
from va.client.vad import FRAME_SECONDS
from va.protocol import Transcript

_LOGGER = logging.getLogger(__name__)

BYTES_PER_SECOND = 32000
HANDLED = -1
"""What ``LivePhrases.ended`` says of a phrase that needs no request."""


@dataclass
class _Live:
    number: int
    stream: Optional[int]
    pcm: bytearray = field(default_factory=bytearray, repr=False)
    quiet: Optional[Quiet] = None
    """The quiet going on now (None while speech goes on)."""
    checked: Optional[float] = None
    """Seconds of audio the current check reads (None: no check asked since the speech resumed)."""
    read: Optional[Tuple[Transcript, float]] = None
    """(transcript, received_at) of a check that nothing has been said after."""
    wait: Optional[float] = None
    """Seconds of quiet after which its check's reading runs (None: it waits for the full pause)."""
    acted: bool = False


class LivePhrases:
    """See the module's docstring. ``judge(transcript) -> Optional[float]`` says after how many
    seconds of quiet it runs (None: not before the full pause); ``run(phrase, transcript,
    received_at)`` handles a reply exactly as a final one."""

    def __init__(
        self,
        link: Callable[[], Any],
        cut: Callable[[int], None],
        judge: Callable[[Transcript], Optional[float]],
        run: Callable[[Phrase, Transcript, float], None],
        early_pause: float,
    ) -> None:
        self._link = link
        self._cut = cut
        self._judge = judge
        self._run = run
        self._enabled = early_pause > 0
        self._hesitation = early_pause - FRAME_SECONDS / 2
        self._live: Dict[int, _Live] = {}
        self._resumed: Deque[int] = collections.deque(maxlen=64)
        self.early = 0
        """Phrases run early so far."""

    def progress(self, event: Event) -> None:
        if isinstance(event, Started):
            started = self._live[event.number] = _Live(event.number, self._link().open_stream())
            self._send(started, event.pcm)
            return
        live = self._live.get(event.number)
        if live is None or live.acted:
            return
        if isinstance(event, Audio):
            self._send(live, event.pcm)
        elif isinstance(event, Quiet):
            self._quiet(live, event)
        elif isinstance(event, Resumed):
            if live.quiet is not None and live.quiet.seconds >= self._hesitation:
                self._resumed.append(event.number)
            live.quiet, live.read, live.wait, live.checked = None, None, None, None
        elif isinstance(event, Discarded):
            self._forget(live)

    def ended(self, phrase: Phrase) -> Optional[int]:
        """The listener ended a phrase: ``HANDLED`` when it needs no request (it ran early); else
        the stream id to close it with (None: send it whole)."""
        live = self._live.pop(phrase.number, None)
        if live is None:
            return None
        return HANDLED if live.acted else live.stream

    def paused_inside(self, number: int) -> bool:
        """Whether phrase ``number`` went on after a quiet of ``early_pause`` or more (one of the
        last 64 that did)."""
        return number in self._resumed

    def partial(self, transcript: Transcript, received_at: float) -> None:
        live = next((each for each in self._live.values() if each.stream == transcript.id), None)
        if live is None or live.acted or live.checked is None or transcript.duration is None:
            return
        if abs(transcript.duration - live.checked) > 0.005:  # an older check: the phrase went on since
            return
        live.read = (transcript, received_at)
        wait = self._judge(transcript) if self._enabled else None
        live.wait = None if wait is None else wait - FRAME_SECONDS / 2  # counted in whole frames
        if live.quiet is not None:
            self._act_if_due(live, live.quiet)

    def _quiet(self, live: _Live, quiet: Quiet) -> None:
        live.quiet = quiet
        if live.checked is None and live.stream is not None:  # the first mark of a quiet: read it so far
            self._check(live)
        self._act_if_due(live, quiet)

    def _act_if_due(self, live: _Live, quiet: Quiet) -> None:
        if live.wait is not None and quiet.seconds >= live.wait:
            self._act(live, quiet)

    def _check(self, live: _Live) -> None:
        if self._link().stream(live.stream, check=True):
            live.checked = len(live.pcm) / BYTES_PER_SECOND

    def _act(self, live: _Live, quiet: Quiet) -> None:
        live.acted = True
        self.early += 1
        self._link().cancel(live.stream)
        self._cut(live.number)
        now = time.monotonic()
        phrase = Phrase(bytes(live.pcm), now, max(0.0, now - quiet.last_loud), live.number)
        assert live.read is not None  # an early verdict comes from a check that was read
        transcript, received_at = live.read
        _LOGGER.debug("Phrase %d runs early, after %.2f s of quiet", live.number, quiet.seconds)
        self._run(phrase, transcript, received_at)

    def _send(self, live: _Live, pcm: bytes) -> None:
        live.pcm += pcm
        if live.stream is not None and not self._link().stream(live.stream, pcm):
            live.stream = None  # the connection dropped: the phrase goes whole at its end

    def _forget(self, live: _Live) -> None:
        self._live.pop(live.number, None)
        if live.stream is not None:
            self._link().cancel(live.stream)
