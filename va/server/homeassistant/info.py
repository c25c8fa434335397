"""What the Wyoming endpoint answers to `describe`: one ASR program (va) with the loaded model."""

from __future__ import annotations

from typing import Any, List

from wyoming.info import AsrModel, AsrProgram, Attribution, Info

from va import __version__

_WHISPER = Attribution(name="OpenAI Whisper", url="https://github.com/openai/whisper")
_VA = Attribution(name="va", url="https://pypi.org/project/va/")
_WHISPER_LANGUAGES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy "
    "id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru "
    "sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh"
).split()


def describe(engine: Any, language: str) -> Info:
    """The `info` event for `engine` (the transcriber's) and the configured language."""
    model = AsrModel(
        name=str(engine.model), description=f"Whisper {engine.model} ({engine.name}, {engine.device})",
        attribution=_WHISPER, installed=True, version=None,
        languages=_languages(engine.model, language),
    )
    program = AsrProgram(
        name="va", description="va speech-to-text server (Whisper, batched)", attribution=_VA,
        installed=True, version=__version__, models=[model],
    )
    return Info(asr=[program])


def _languages(model: str, language: str) -> List[str]:
    """English-only Whisper models (*.en) speak English; others the configured language, or Whisper's."""
    if str(model).rstrip("/").endswith(".en"):
        return ["en"]
    return list(_WHISPER_LANGUAGES) if language in ("", "auto") else [language]
