"""`va transcribe FILE...`: the configured engine on local files, no server involved."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from typing import Any, Dict, TextIO

from va.config.settings import Settings

_LOGGER = logging.getLogger(__name__)


def cli_transcribe(args: Any, settings: Settings, out: TextIO | None = None) -> int:
    """Print `FILE: text` (or one JSON object per line with --json). 1 if any file failed."""
    from va.stt.audio import read_audio_file
    from va.stt import EngineError, create_engine

    out = out or sys.stdout
    try:
        engine = create_engine(dataclasses.replace(settings.server, warmup=False))
    except EngineError as error:
        _LOGGER.error("cannot load the speech engine: %s", error)
        return 1
    failed = 0
    for path in args.files:
        try:
            audio = read_audio_file(path)
        except (OSError, ValueError) as error:  # AudioError is a ValueError
            _LOGGER.error("%s: cannot read audio: %s", path, error)
            failed += 1
            continue
        started = time.perf_counter()
        result = engine.transcribe(audio)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if getattr(args, "json", False):
            out.write(json.dumps(_as_json(path, result, elapsed_ms, engine)) + "\n")
        else:
            out.write(f"{path}: {result.text}\n")
        out.flush()
    return 1 if failed else 0


def _as_json(path: str, result: Any, elapsed_ms: float, engine: Any) -> Dict[str, Any]:
    return {
        "file": path,
        "text": result.text,
        "duration": round(result.duration, 3),
        "processing_ms": round(elapsed_ms, 1),
        "no_speech_prob": result.no_speech_prob,
        "avg_logprob": result.avg_logprob,
        "engine": engine.name,
        "model": engine.model,
    }
