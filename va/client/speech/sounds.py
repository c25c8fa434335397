"""Short sounds for what happened to a phrase, made here (nothing is shipped or downloaded).

heard: two rising notes (the keyword was read and the phrase goes on to a command);
done: one soft note (the command ran); refused: two falling notes (not understood, or not
allowed); failed: three low notes (the command raised or timed out).
"""

from __future__ import annotations

import math
from array import array
from typing import Dict, Sequence, Tuple

KINDS = ("heard", "done", "refused", "failed")

_NOTES: Dict[str, Sequence[Tuple[float, float]]] = {  # (frequency Hz, seconds) each
    "heard": ((660.0, 0.07), (880.0, 0.09)),
    "done": ((784.0, 0.12),),
    "refused": ((587.0, 0.09), (440.0, 0.14)),
    "failed": ((330.0, 0.09), (330.0, 0.09), (262.0, 0.16)),
}
_GAP_SECONDS = 0.03
_FADE_SECONDS = 0.01


def sound(kind: str, rate: int, volume: float = 1.0) -> bytes:
    """16-bit mono PCM of the sound `kind` at `rate`, peak `volume` of a third of full scale."""
    samples = array("h")
    for frequency, seconds in _NOTES[kind]:
        samples.extend(_note(frequency, seconds, rate, volume))
        samples.extend([0] * int(_GAP_SECONDS * rate))
    return samples.tobytes()


def _note(frequency: float, seconds: float, rate: int, volume: float) -> array:
    count = int(seconds * rate)
    fade = max(1, int(_FADE_SECONDS * rate))
    peak = 32767 / 3 * volume
    note = array("h")
    for index in range(count):
        envelope = min(1.0, index / fade, (count - index) / fade)  # no clicks at either end
        note.append(int(peak * envelope * math.sin(2 * math.pi * frequency * index / rate)))
    return note
