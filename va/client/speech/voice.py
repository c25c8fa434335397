"""What va says and plays for each phrase, and `va.say` for commands that speak later.

The client that heard a phrase answers it: a command's return value, when it is text, is spoken
there, also when another client ran the command (the person who asked is in this room). Sounds:
"heard" when a command was read and is about to run, "done" when it ran without a reply to speak,
"refused" when the keyword was heard but nothing could run, "failed" when the command raised,
timed out, or its client could not be reached.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional

from va.client.speech.barge import Interrupter
from va.client.speech.gate import Gate
from va.client.speech.player import Clip, Player, open_output
from va.client.speech.sounds import sound
from va.client.speech.tts import Synthesizer

_LOGGER = logging.getLogger(__name__)

_SOUND_FOR = {"ran": "done", "failed": "failed", "error": "failed", "offline": "failed", "dropped": "failed",
              "no-match": "refused", "refused": "refused"}
"""The sound for a phrase's VA_DECISION (no-keyword and dry-run: none)."""

_current: Optional["Voice"] = None
_current_lock = threading.Lock()


class Voice:
    """The client's speech: a Piper voice, a player and the microphone's gate."""

    def __init__(self, speech: Any, sounds: Any, output: Any = None, synthesizer: Any = None,
                 keyword: str = "computer") -> None:
        self._sounds = sounds
        self.synthesizer = synthesizer or Synthesizer(speech.voice)
        self.player = Player(output or open_output(speech.device), speech.volume)
        self.gate: Optional[Gate] = None
        if speech.gate:
            self.gate = Gate(lambda: self.player.playing, lambda: self.player.ended_at, self.player.stop,
                             speech.gate_tail, speech.barge_in_db if speech.barge_in else None)
        self._saying = ""  # the last reply asked for: its echo is no barge-in
        self.interrupter: Optional[Interrupter] = None
        if not speech.gate and speech.barge_in:  # an echo-cancelled microphone hears the person over va
            self.interrupter = Interrupter(lambda: self.player.playing, self.player.stop, keyword, speech.barge_in_on,
                                           lambda: self._saying)

    def progress(self, event: Any) -> None:
        """The listener's news (its thread): with the gate off, a phrase over va may stop it."""
        if self.interrupter is not None:
            self.interrupter.progress(event)

    def reading(self, text: str) -> None:
        """A reading of the phrase being heard (early or final)."""
        if self.interrupter is not None:
            self.interrupter.reading(text)

    def say(self, text: str) -> None:
        text = " ".join(str(text).split())
        if text:
            _LOGGER.info("Saying %r", text)
            self._saying = text
            self.player.play(Clip(f"the reply {text[:60]!r}", lambda: self.synthesizer.pcm(text), self.synthesizer.rate))

    def sound(self, kind: str) -> None:
        if getattr(self._sounds, kind, False):
            rate = self.synthesizer.rate
            self.player.play(Clip(f"the {kind} sound", lambda: [sound(kind, rate)], rate))

    def heard(self) -> None:
        """A command was read from the phrase and is about to run."""
        self.sound("heard")

    def answer(self, decision: str, reply: Any = None) -> None:
        """The end of a phrase's story: its reply spoken, or the sound of its decision."""
        if decision == "ran" and isinstance(reply, str) and reply.strip():
            self.say(reply)
        elif decision in _SOUND_FOR:
            self.sound(_SOUND_FOR[decision])

    def close(self) -> None:
        self.player.close()


def make_current(voice: Optional[Voice]) -> None:
    """The voice `va.say` speaks with (the running client's; None: speech is off)."""
    global _current
    with _current_lock:
        _current = voice


def say(text: str) -> bool:
    """Speak `text` on the running client; False (and a log line) when speech is off."""
    with _current_lock:
        voice = _current
    if voice is None:
        _LOGGER.info("Speech is off (speech.enabled: false); not saying %r", text)
        return False
    voice.say(text)
    return True
