"""In-process transcription time: the engine alone, no server, no network."""

from __future__ import annotations

import dataclasses
import gc
import time
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np

from bench.stats import median


@dataclass
class Timing:
    engine: str
    speech_window: bool
    load_s: Optional[float] = None
    runs_ms: List[float] = dataclasses.field(default_factory=list)
    text: str = ""
    error: Optional[str] = None

    @property
    def median_ms(self) -> Optional[float]:
        return median(self.runs_ms)


def server_settings(engine: str, speech_window: bool = True, **changes: Any) -> Any:
    """ServerSettings for one engine; faster-whisper pinned to int8 (what 'auto' picks on a CPU)."""
    from va.config import ServerSettings

    if engine == "faster-whisper":
        changes.setdefault("compute_type", "int8")
    return dataclasses.replace(ServerSettings(), engine=engine, speech_window=speech_window, **changes)


def load_engine(settings: Any) -> Any:
    from va.stt import create_engine

    return create_engine(settings)


def time_engine(engine: Any, audio: np.ndarray, runs: int, warmup: int = 2, prompt: Optional[str] = None):
    """Median-able run times (ms) after `warmup` untimed runs, and the last text."""
    text = ""
    for _ in range(warmup):
        text = engine.transcribe(audio, prompt=prompt).text
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        text = engine.transcribe(audio, prompt=prompt).text
        times.append((time.perf_counter() - started) * 1000)
    return times, text.strip()


def measure(engine_name: str, speech_window: bool, audio: np.ndarray, runs: int, warmup: int = 2) -> Timing:
    timing = Timing(engine_name, speech_window)
    try:
        started = time.perf_counter()
        engine = load_engine(server_settings(engine_name, speech_window))
        timing.load_s = time.perf_counter() - started
        timing.runs_ms, timing.text = time_engine(engine, audio, runs, warmup)
    except Exception as error:  # a missing engine is a row that says why, not a crashed bench
        timing.error = f"{type(error).__name__}: {error}"
    finally:
        engine = None
        gc.collect()
    return timing
