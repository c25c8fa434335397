"""Barge-in without the gate: the microphone is echo-cancelled (PulseAudio/PipeWire echo-cancel),
so the listener hears the room while va speaks, and what stops va must come from what it hears.

Two rules, `speech.barge_in_on`:
- ``keyword``: a phrase that started while va played stops it when a reading of that phrase (the
  server's early reading at a short pause, or its final transcript) starts with the keyword, and
  its words are not a stretch of what va is saying ("Computer." read from the echo of va's own
  "Computer, what time is it?" once stopped va here).
- ``speech``: any phrase that starts while va plays stops it at once (fast, but the echo left over
  after cancelling can start a phrase too: va then interrupts itself).

Pure of the devices: the player's state and its stop come in as callables; the listener's events
arrive from its thread, the readings from the event loop (each call only reads and sets flags).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from va.client.endpoint import Discarded, Started
from va.language.matching import after_keyword
from va.language.words import tokenize

_LOGGER = logging.getLogger(__name__)

class Interrupter:
    def __init__(self, playing: Callable[[], bool], stop: Callable[[], bool], keyword: str, rule: str = "keyword",
                 saying: Callable[[], str] = lambda: "") -> None:
        self._playing = playing
        self._saying = saying
        self._stop = stop
        self.keyword = keyword
        self.rule = rule
        self._over_va = False  # the phrase being heard began while va played
        self.barged_in = 0

    def progress(self, event: Any) -> None:
        """The listener's news of the phrase it hears (va.client.endpoint events)."""
        if isinstance(event, Started):
            self._over_va = self._playing()
            if self._over_va and self.rule == "speech":
                self._interrupt("a phrase started")
        elif isinstance(event, Discarded):  # too short or too long: no reading will come
            self._over_va = False

    def reading(self, text: str) -> None:
        """A reading of the phrase (early or final): the keyword in it stops va."""
        if self._over_va and self._playing() and after_keyword(tokenize(text), self.keyword) is not None:
            if _words(text) in _words(self._saying()):
                _LOGGER.info("Heard %r while va said it: its own echo, not a barge-in", text)
                return
            self._interrupt(f"heard {text!r}")

    def _interrupt(self, why: str) -> None:
        if self._stop():
            self.barged_in += 1
            _LOGGER.info("Barge-in: %s while va spoke; stopping the reply", why)


def _words(text: str) -> str:
    return " " + " ".join(token.norm for token in tokenize(text)) + " "
