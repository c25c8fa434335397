"""Speech to text: one interface over faster-whisper and openai-whisper.

    engine = create_engine(server_settings)        # loads the model once (slow)
    engine.transcribe(audio, prompt=None) -> Transcription
    engine.transcribe_batch(audios, prompts) -> [Transcription, ...]

Audio is float32 mono 16 kHz in [-1, 1] (see va.stt.audio). What an engine provides: the `Engine`
protocol (va.stt.base). Engines are not thread-safe.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from va.config.settings import ENGINES, ServerSettings
from va.protocol import SAMPLE_RATE
from va.stt.base import Engine, EngineError, Transcription

_LOGGER = logging.getLogger(__name__)

_WARMUP_SECONDS = 1.0

__all__ = ["ENGINES", "Engine", "EngineError", "Transcription", "create_engine"]


def create_engine(settings: ServerSettings) -> Engine:
    """Load the engine `settings` names; warm it up if asked."""
    started = time.monotonic()
    engine_class: Callable[[ServerSettings], Engine]
    if settings.engine == "faster-whisper":
        from va.stt.faster import FasterWhisperEngine as engine_class
    elif settings.engine == "openai-whisper":
        from va.stt.openai_engine import OpenAIWhisperEngine as engine_class
    else:
        raise EngineError(f"unknown engine {settings.engine!r}; choose one of {', '.join(ENGINES)}")
    try:
        engine = engine_class(settings)
    except ImportError as error:
        extra = "server" if settings.engine == "faster-whisper" else "openai"
        raise EngineError(f"{settings.engine} is not installed ({error}); install va[{extra}]") from error
    if settings.warmup:
        warm_up(engine)
    _LOGGER.info("%s ready in %.1f s", engine.name, time.monotonic() - started)
    return engine


def warm_up(engine: Engine) -> None:
    """One pass over faint noise, so the first real request does not pay for lazy setup.

    Noise, not a tone: Whisper "hears" a tone as a repeated phrase, and that costs a long decode.
    """
    import numpy as np

    noise = np.random.default_rng(0).standard_normal(int(SAMPLE_RATE * _WARMUP_SECONDS)) * 0.01
    engine.transcribe(noise.astype(np.float32))

