"""End-of-speech detectors on the corpus, offline (`python -m bench.early vad --split heldout|tune`).

Every command clip of bench/corpus goes through a detector (va.client.vad) and the endpointer
(va.client.endpoint) in 30 ms frames, timed in audio seconds. The truth: make_corpus put
0.3-0.5 s of silence (seeded per clip; `make_corpus.lead_seconds` gives each clip's) before the
speech and 0.6 s after it. Reported per
condition: the median error of the phrase's start and of its last speech frame (absolute, ms),
the share of clips heard as one phrase whose end lies within 150 ms of the truth ("cut right"),
and the CPU time per second of audio. Negatives `noise_alone` count phrases heard in pure noise.
Choose settings on tune; report held-out.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bench.report import table
from va.client.endpoint import Ended, Endpointer, Started
from va.client.microphone import decode_file
from va.client.vad import FRAME_BYTES, FRAME_SECONDS, EnergyDetector, MicroDetector, WebRtcDetector, rms

CORPUS = Path(__file__).resolve().parent / "corpus"
CONDITIONS = ("clean", "noise", "talker", "reverb")


def _make_corpus() -> Any:
    """bench/corpus/make_corpus.py (a script beside the clips, not a module of the bench package)."""
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_CORPUS = _make_corpus()
TAIL_S = MAKE_CORPUS.TAIL_S


@dataclass
class _Recognizer:
    """What EnergyDetector reads of SpeechRecognition's recognizer, with its defaults."""

    energy_threshold: float = 300.0
    dynamic_energy_adjustment_damping: float = 0.15
    dynamic_energy_ratio: float = 1.5


def detectors() -> Dict[str, Any]:
    """name -> a function making a fresh detector for one clip (given its first 0.24 s, four times)."""
    return {
        "energy (dynamic)": lambda lead: EnergyDetector(_calibrated(lead), True),
        "webrtc level 1": lambda lead: WebRtcDetector(1),
        "webrtc level 2": lambda lead: WebRtcDetector(2),
        "webrtc level 3": lambda lead: WebRtcDetector(3),
        "micro 0.5": lambda lead: MicroDetector(0.5),
        "micro 0.7": lambda lead: MicroDetector(0.7),
    }


def _calibrated(frames: List[bytes]) -> _Recognizer:
    """SpeechRecognition's adjust_for_ambient_noise, as the client calls it, frame by frame: the
    threshold follows every frame, however loud (is_speech follows only the quiet ones)."""
    recognizer = _Recognizer()
    damping = recognizer.dynamic_energy_adjustment_damping ** FRAME_SECONDS
    for frame in frames:
        target = rms(frame) * recognizer.dynamic_energy_ratio
        recognizer.energy_threshold = recognizer.energy_threshold * damping + target * (1 - damping)
    return recognizer


def truth(entry: Dict[str, Any]) -> Tuple[float, float]:
    """(start, end) of the clip's speech in seconds, as make_corpus made the clip."""
    index = int(Path(entry["file"]).name.split("-")[1])
    return MAKE_CORPUS.lead_seconds(index), entry["seconds"] - TAIL_S


def run_clip(pcm: bytes, make: Any) -> Tuple[List[Tuple[float, float]], float]:
    """The phrases heard, (start, last speech frame end) in the clip's seconds, and the CPU seconds.
    The clip's first 0.24 s (its own background) is played four times before it, as a room that
    was there before the speaker: the detectors settle on it (the energy one calibrates on it)."""
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]
    before = frames[:8] * 4
    detector = make(frames[:8] * 4)  # the energy detector calibrates on ~1 s, as the client does
    frames = before + frames
    endpointer = Endpointer(0.8, preroll=0.5, start_frames=1 if isinstance(detector, EnergyDetector) else 2)
    phrases, start, cpu = [], None, 0.0
    for index, frame in enumerate(frames + [bytes(FRAME_BYTES)] * 40):  # silence after: every phrase ends
        now = (index + 1 - len(before)) * FRAME_SECONDS
        began = time.process_time()
        speech = detector.is_speech(frame, endpointer.active)
        cpu += time.process_time() - began
        for event in endpointer.feed(frame, speech, now):
            if isinstance(event, Started):
                start = now - FRAME_SECONDS * (2 if not isinstance(detector, EnergyDetector) else 1)
            elif isinstance(event, Ended):
                phrases.append((start, event.last_loud))
    return phrases, cpu


def measure(split: str) -> List[List[str]]:
    entries = [e for e in json.loads((CORPUS / "manifest.json").read_text()) if split in ("all", e["split"])]
    audio = {e["file"]: decode_file(str(CORPUS / e["file"])) for e in entries}
    rows = []
    for name, make in detectors().items():
        for condition in CONDITIONS:
            mine = [e for e in entries if e["condition"] == condition]
            rows.append([name, condition, *_score(mine, audio, make)])
        noise = [e for e in entries if e["condition"] == "noise_alone"]
        heard = sum(len(run_clip(audio[e["file"]], make)[0]) for e in noise)
        rows.append([name, "noise alone", f"{heard} phrases in {len(noise)} clips", "", "", ""])
    return rows


def _score(entries: List[Dict[str, Any]], audio: Dict[str, bytes], make: Any) -> List[str]:
    starts, ends, right, cpu, seconds = [], [], 0, 0.0, 0.0
    for entry in entries:
        begin, end = truth(entry)
        phrases, used = run_clip(audio[entry["file"]], make)
        cpu, seconds = cpu + used, seconds + entry["seconds"]
        if not phrases:
            continue
        first, last = phrases[0][0], phrases[-1][1]
        starts.append(abs(first - begin) * 1000)
        ends.append(abs(last - end) * 1000)
        right += len(phrases) == 1 and abs(last - end) <= 0.15
    median = statistics.median
    return [f"{median(starts):.0f}" if starts else "n/a", f"{median(ends):.0f}" if ends else "n/a",
            f"{right}/{len(entries)}", f"{cpu / seconds * 1000:.2f}"]


def main(split: str) -> int:
    rows = measure(split)
    header = ["detector", "condition", "start error p50 ms", "end error p50 ms", "cut right (one phrase, end ±150 ms)",
              "CPU ms per s of audio"]
    print(f"split: {split}")
    print("\n".join(table(header, rows)))
    return 0
