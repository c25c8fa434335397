"""WAV in and out: 16 kHz mono s16le, the format the server and the fixtures use."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 16000


def read_pcm(path: Path) -> bytes:
    """The raw s16le frames of a 16 kHz mono WAV (the only kind the bench feeds)."""
    with wave.open(str(path)) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (RATE, 1, 2):
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / RATE


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Float audio in [-1, 1] (or int16) -> 16 kHz mono WAV."""
    if audio.dtype != np.int16:
        audio = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(audio.tobytes())


def silence(seconds_: float) -> np.ndarray:
    return np.zeros(int(seconds_ * RATE), np.int16)
