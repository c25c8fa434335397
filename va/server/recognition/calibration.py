"""The recognizer's reject margin and keyword floor for the model the server loaded.

A bigger model is surer of what it hears, so the log-probability gaps the recognizer judges by
differ per model: the values were fitted per model family on the corpus' tuning splits
(bench/corpus roomtune + tune; docs/models.md, "Measured"), never on held-out clips. The family
is the model's name ("base.en"), or for a local CTranslate2 directory what its files say: the
layer its alignment heads reach (tiny 4 layers, base 6, small 12, medium 24, large 32) and its
vocabulary (51864 tokens: English only). `server.reject_margin` / `server.keyword_floor` set in
the config win over the table; a model the table does not know gets tiny.en's values.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from va.server.recognition.recognizer import RecognizerSettings
from va.stt.models import bundled_model_dir, local_path

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Calibration:
    margin: float
    """Nats a guided reading may lie below the free transcript (RecognizerSettings.margin)."""
    keyword_floor: float
    """Nats the keyword may cost at most (RecognizerSettings.keyword_floor)."""


DEFAULT_FAMILY = "tiny.en"
CALIBRATIONS = {
    "tiny.en": Calibration(11.0, 10.0),
    "tiny": Calibration(11.0, 10.0),
    "base": Calibration(14.0, 10.0),
    "base.en": Calibration(14.0, 10.0),
}
"""Per model family: the margin that ran the most tuning-split commands with no false activation
and at least 5 nats below the nearest one (docs/models.md, "Fitting"). tiny and base.en have no
copy of their own at hand to fit on: they take tiny.en's and base's."""
_SIZES = ((3, "tiny"), (5, "base"), (11, "small"), (23, "medium"))
"""Highest alignment-head layer index -> size (OpenAI's heads lie in the upper layers)."""
_ENGLISH_VOCABULARY = 51864


def recognizer_settings(model: str, margin: Optional[float], keyword_floor: Optional[float]) -> RecognizerSettings:
    """The recognizer's settings for `model` (a name or a directory); a value given in the config wins."""
    found = calibration_of(model)
    return RecognizerSettings(margin=found.margin if margin is None else margin,
                              keyword_floor=found.keyword_floor if keyword_floor is None else keyword_floor)


@lru_cache(maxsize=8)
def calibration_of(model: str) -> Calibration:
    family = model_family(model)
    found = CALIBRATIONS.get(family or "", CALIBRATIONS[DEFAULT_FAMILY])
    measured = "measured for it" if family in CALIBRATIONS else "tiny.en's: none measured for it"
    _LOGGER.info("Model %s (%s): reject margin %g, keyword floor %g (%s; server.reject_margin and "
                 "server.keyword_floor override)", model, family or "unknown family", found.margin,
                 found.keyword_floor, measured)
    return found


def model_family(model: str) -> Optional[str]:
    """"tiny.en", "base", "small.en", ... for a model name or CTranslate2 directory; None if unknown."""
    directory = bundled_model_dir(model) or local_path(model)
    if directory is None:
        name = model.strip().lower()
        return name[len("distil-"):] if name.startswith("distil-") else name
    return _family_of_directory(Path(directory))


def _family_of_directory(directory: Path) -> Optional[str]:
    try:
        heads = json.loads((directory / "config.json").read_text())["alignment_heads"]
        top = max(layer for layer, _ in heads)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    size = next((name for limit, name in _SIZES if top <= limit), "large")
    english = _vocabulary_size(directory) == _ENGLISH_VOCABULARY
    return f"{size}.en" if english else size


def _vocabulary_size(directory: Path) -> Optional[int]:
    try:
        if (directory / "vocabulary.json").is_file():
            return len(json.loads((directory / "vocabulary.json").read_text()))
        if (directory / "vocabulary.txt").is_file():
            return len((directory / "vocabulary.txt").read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError):
        return None
    return None
