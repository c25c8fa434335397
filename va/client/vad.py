"""Speech or not, one 30 ms frame at a time: the detectors behind the end-of-speech decision.

``microphone.vad`` picks one:

- ``energy``: SpeechRecognition's loudness threshold (calibrated to the room, optionally following
  it), as va has always used: no extra package, but any noise as loud as a voice counts as speech.
- ``webrtc``: Google's WebRTC VAD (``webrtcvad-wheels``, a C extension, ~0.05 ms a frame);
  ``vad_level`` 0-3 is its aggressiveness.
- ``micro``: ``pymicro-vad``, the small neural VAD of Home Assistant's voice satellites (a
  TensorFlow Lite Micro model, ~0.3 ms a frame); speech when its probability is at least
  ``vad_threshold``.

All of them take s16le mono 16 kHz frames of ``FRAME_SAMPLES`` and need neither numpy nor torch,
so the client stays light. Which cuts phrases best in noise is measured in bench/early.py.
"""

from __future__ import annotations

import importlib
import logging
import math
from array import array
from typing import Any, Protocol

from va.errors import SetupError

_LOGGER = logging.getLogger(__name__)

RATE = 16000
FRAME_SAMPLES = 480
"""30 ms at 16 kHz: a size every detector takes."""
FRAME_BYTES = FRAME_SAMPLES * 2
FRAME_SECONDS = FRAME_SAMPLES / RATE


class VadUnavailable(SetupError, RuntimeError):
    """The package a detector needs is missing; the message says which."""


class Detector(Protocol):
    name: str

    def is_speech(self, frame: bytes, in_phrase: bool) -> bool:
        """Whether a FRAME_BYTES frame is speech; ``in_phrase``: a phrase is being heard."""


def rms(chunk: bytes) -> float:
    """Loudness of s16le samples, as SpeechRecognition measures it."""
    samples = array("h", chunk[: len(chunk) - len(chunk) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(sample * sample for sample in samples) / len(samples))


class EnergyDetector:
    """Loud is speech. The threshold lives on SpeechRecognition's recognizer (it calibrates it);
    between phrases it follows the room as ``Recognizer.listen`` does when ``dynamic`` is on."""

    name = "energy"

    def __init__(self, recognizer: Any, dynamic: bool) -> None:
        self._recognizer = recognizer
        self._dynamic = dynamic

    def is_speech(self, frame: bytes, in_phrase: bool) -> bool:
        recognizer = self._recognizer
        energy = rms(frame)
        loud = energy > recognizer.energy_threshold
        if self._dynamic and not in_phrase and not loud:
            damping = recognizer.dynamic_energy_adjustment_damping ** FRAME_SECONDS
            target = energy * recognizer.dynamic_energy_ratio
            recognizer.energy_threshold = recognizer.energy_threshold * damping + target * (1 - damping)
        return loud


class WebRtcDetector:
    """WebRTC's VAD at aggressiveness ``level`` (0: lets most through, 3: strictest)."""

    name = "webrtc"

    def __init__(self, level: int) -> None:
        self._vad = _optional("webrtcvad", "webrtc", "webrtcvad-wheels").Vad(level)

    def is_speech(self, frame: bytes, in_phrase: bool) -> bool:
        return bool(self._vad.is_speech(frame, RATE))


class MicroDetector:
    """pymicro-vad's probability (three 10 ms steps a frame, the highest counts) against ``threshold``."""

    name = "micro"

    def __init__(self, threshold: float) -> None:
        self._vad = _optional("pymicro_vad", "micro", "pymicro-vad").MicroVad()
        self._threshold = threshold
        self.probability = 0.0

    def is_speech(self, frame: bytes, in_phrase: bool) -> bool:
        step = FRAME_BYTES // 3
        self.probability = max(self._vad.process_10ms(frame[i : i + step]) for i in range(0, FRAME_BYTES, step))
        return self.probability >= self._threshold


def make_detector(settings: Any, recognizer: Any) -> Detector:
    """The detector the ``microphone`` settings name."""
    if settings.vad == "webrtc":
        return WebRtcDetector(settings.vad_level)
    if settings.vad == "micro":
        return MicroDetector(settings.vad_threshold)
    return EnergyDetector(recognizer, settings.dynamic_energy)


def _optional(module: str, vad: str, package: str) -> Any:
    """An optional VAD package, imported; else VadUnavailable says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise VadUnavailable(f"microphone.vad {vad!r} needs {package}: pip install 'va[client]'") from None
