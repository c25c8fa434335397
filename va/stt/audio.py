"""Audio in the one shape the engines take: float32 mono samples in [-1, 1] at 16 kHz.

Pure numpy (no scipy): PCM conversion, a windowed-sinc resampler, and a file reader that uses
the `wave` module for WAV and PyAV (through faster-whisper) for anything else when installed.
"""

from __future__ import annotations

import logging
import math
import wave
from pathlib import Path
from typing import Union

import numpy as np

from va.protocol import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)

_ZERO_CROSSINGS = 16  # kernel half-width, in output-band zero crossings: ~-80 dB stopband
_KAISER_BETA = 8.6
_CHUNK_TAPS = 1 << 20  # output samples x kernel taps computed at a time (bounds memory on long files)
_MAX_PHASES = 512  # kernels in the bank: rates that share no factor would need `up` of them (16000)


class AudioError(ValueError):
    """An audio file that cannot be read or decoded."""


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """s16le bytes -> float32 in [-1, 1). Raises ValueError on a half sample (odd length)."""
    if len(pcm) % 2:
        raise ValueError(f"odd number of bytes ({len(pcm)}): audio must be 16-bit samples")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(audio: np.ndarray) -> bytes:
    """float in [-1, 1] -> s16le bytes; louder samples are clipped, not wrapped."""
    scaled = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0
    return np.round(scaled).astype("<i2").tobytes()


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling (Kaiser-windowed sinc, polyphase), so downsampling does not alias.

    When the rates share no large factor (191999 -> 16000 would need 16000 kernels: seconds and
    hundreds of MB), each output sample uses the nearest of _MAX_PHASES kernels: a timing error
    below 1/1000 of a sample, far under what speech recognition notices.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    if from_rate == to_rate or audio.size == 0:
        return audio.copy()
    divisor = math.gcd(from_rate, to_rate)
    up, down = to_rate // divisor, from_rate // divisor  # output n sits at input n * down / up
    cutoff = min(1.0, up / down)  # fraction of the input Nyquist that survives
    half = int(math.ceil(_ZERO_CROSSINGS / cutoff))
    taps = np.arange(-half + 1, half + 1)
    phases = min(up, _MAX_PHASES)
    # one kernel per fractional offset (phase / phases)
    bank = _kernel(np.arange(phases)[:, None] / phases - taps[None, :], cutoff, half).astype(np.float32)
    bank /= bank.sum(axis=1, keepdims=True)  # unit DC gain at every offset
    length = int(round(audio.size * up / down))
    padded = np.pad(audio, (half, half + 2))
    out = np.empty(length, np.float32)
    chunk = max(256, _CHUNK_TAPS // taps.size)
    for start in range(0, length, chunk):
        steps = np.arange(start, min(start + chunk, length), dtype=np.int64) * down  # in 1/up of a sample
        if phases != up:
            steps = (steps * phases + up // 2) // up  # the nearest 1/phases of a sample
        base, phase = steps // phases, steps % phases
        window = padded[base[:, None] + (taps + half)[None, :]]
        out[start : start + len(steps)] = np.einsum("ij,ij->i", window, bank[phase])
    return out


def _kernel(distance: np.ndarray, cutoff: float, half: int) -> np.ndarray:
    edge = np.clip(distance / half, -1.0, 1.0)
    window = np.i0(_KAISER_BETA * np.sqrt(1.0 - edge**2)) / np.i0(_KAISER_BETA)
    return cutoff * np.sinc(cutoff * distance) * window


def read_audio_file(path: Union[str, Path]) -> np.ndarray:
    """Any audio file -> float32 mono 16 kHz. Raises AudioError (or OSError if unreadable)."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            return _read_wav(wav)
    except (wave.Error, EOFError) as error:
        _LOGGER.debug("%s is not a PCM WAV (%s); trying PyAV", path, error)
    return _decode_other(path)


def pcm_to_float(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Little-endian PCM (8-bit unsigned, 16/24/32-bit signed), interleaved -> float32 mono in [-1, 1)."""
    raw = raw[: len(raw) // (width * channels) * (width * channels)]  # whole frames only
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        values = bytes3[:, 0].astype(np.int32) | (bytes3[:, 1].astype(np.int32) << 8) | (bytes3[:, 2].astype(np.int32) << 16)
        samples = (np.where(values >= 1 << 23, values - (1 << 24), values)).astype(np.float32) / float(1 << 23)
    elif width == 4:
        samples = (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        raise AudioError(f"unsupported sample width: {width} bytes")
    return samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples


def _read_wav(wav: wave.Wave_read) -> np.ndarray:
    width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
    mono = pcm_to_float(wav.readframes(wav.getnframes()), width, channels)
    return resample(mono, rate, SAMPLE_RATE)


def _decode_other(path: Path) -> np.ndarray:
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        from faster_whisper.audio import decode_audio
    except ImportError as error:
        raise AudioError(f"{path}: not a PCM WAV, and PyAV (faster-whisper) is not installed to decode it") from error
    try:
        return np.asarray(decode_audio(str(path), sampling_rate=SAMPLE_RATE), dtype=np.float32)
    except Exception as error:  # PyAV raises its own error tree (av.error.*)
        raise AudioError(f"{path}: cannot decode audio ({error})") from error
