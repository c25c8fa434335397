"""va.stt.audio: PCM conversion, resampling quality, file reading."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from va.stt.audio import AudioError, float_to_pcm16, pcm16_to_float, read_audio_file, resample

FIXTURES = Path(__file__).parent / "fixtures"


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def peak_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum)) * rate / len(audio)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> None:
    """samples: float in [-1, 1], shape (n,) or (n, channels)."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    if width == 1:
        data = np.round(frames * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        data = np.round(frames * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = np.round(frames * (2**23 - 1)).astype("<i4").reshape(-1)
        data = np.stack([(ints >> shift) & 0xFF for shift in (0, 8, 16)], axis=1).astype(np.uint8).tobytes()
    else:
        data = np.round(frames * (2**31 - 1)).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(data)


# --- PCM ---------------------------------------------------------------------------------


def test_pcm16_to_float_scales_full_range():
    pcm = np.array([0, 16384, -32768, 32767], "<i2").tobytes()
    assert pcm16_to_float(pcm).tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])
    assert pcm16_to_float(pcm).dtype == np.float32


def test_pcm_round_trip_is_within_one_step():
    original = np.arange(-32768, 32768, 7, dtype="<i2")
    back = np.frombuffer(float_to_pcm16(pcm16_to_float(original.tobytes())), "<i2")
    assert np.max(np.abs(back.astype(int) - original)) <= 1


def test_float_to_pcm16_clips_instead_of_wrapping():
    samples = np.frombuffer(float_to_pcm16(np.array([1.5, -3.0, 0.25], np.float32)), "<i2")
    assert samples.tolist() == [32767, -32767, 8192]


def test_odd_number_of_bytes_is_rejected():
    with pytest.raises(ValueError, match="odd number of bytes"):
        pcm16_to_float(b"\x00\x01\x02")


def test_empty_pcm_is_empty_audio():
    assert pcm16_to_float(b"").shape == (0,)


# --- resampling ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_keeps_pitch_level_and_length(rate):
    audio = resample(tone(440, rate), rate, 16000)
    assert len(audio) == 16000
    assert peak_hz(audio, 16000) == pytest.approx(440, abs=2)
    assert rms(audio[200:-200]) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    reference = tone(440, 16000)
    assert np.max(np.abs(audio[200:-200] - reference[200:-200])) < 1e-3


def test_downsampling_removes_frequencies_above_the_new_nyquist():
    # 10 kHz cannot exist at 16 kHz; a naive decimator folds it to 6 kHz at full level
    audio = resample(tone(10000, 48000), 48000, 16000)
    assert rms(audio[200:-200]) < 0.001


def test_resample_same_rate_is_a_copy():
    audio = tone(300, 16000)
    out = resample(audio, 16000, 16000)
    assert np.array_equal(out, audio) and out is not audio


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError):
        resample(tone(300, 16000), 0, 16000)


# --- files --------------------------------------------------------------------------------


def test_reads_the_speech_fixtures_as_16k_float():
    audio = read_audio_file(FIXTURES / "timer-joe.wav")
    with wave.open(str(FIXTURES / "timer-joe.wav")) as wav:
        assert len(audio) == wav.getnframes()
    assert audio.dtype == np.float32 and 0.05 < np.max(np.abs(audio)) <= 1.0


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_reads_stereo_wav_at_other_rates_and_widths(tmp_path, width):
    left, right = tone(440, 44100, amplitude=0.6), tone(440, 44100, amplitude=0.2)
    write_wav(tmp_path / "x.wav", np.stack([left, right], axis=1), 44100, width)
    audio = read_audio_file(tmp_path / "x.wav")
    assert len(audio) == 16000
    assert peak_hz(audio, 16000) == pytest.approx(440, abs=2)
    assert rms(audio[200:-200]) == pytest.approx(0.4 / np.sqrt(2), rel=0.03)  # channels averaged


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        read_audio_file(tmp_path / "nope.wav")


def test_garbage_file_raises_audio_error_naming_it(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match="notes.wav"):
        read_audio_file(path)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox makes the FLAC file")
def test_reads_compressed_audio_through_pyav(tmp_path):
    pytest.importorskip("faster_whisper")
    source = tmp_path / "tone.wav"
    write_wav(source, tone(440, 22050), 22050)
    subprocess.run(["sox", str(source), str(tmp_path / "tone.flac")], check=True)
    audio = read_audio_file(tmp_path / "tone.flac")
    assert abs(len(audio) - 16000) <= 160
    assert peak_hz(audio, 16000) == pytest.approx(440, abs=2)
