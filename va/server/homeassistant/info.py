"""What the Wyoming endpoint answers to `describe`: one ASR program (va) with the loaded model,
which streams its transcripts when `server.wyoming.partial_every` is set, and, when commands are
set up for Home Assistant (va.server.homeassistant.handler), one `handle` program: Home
Assistant then offers va as a conversation agent (it sends text, va answers handled or not)."""

from __future__ import annotations

from typing import Any, List, Optional

from wyoming.info import AsrModel, AsrProgram, Attribution, HandleModel, HandleProgram, Info

from va import __version__

_WHISPER = Attribution(name="OpenAI Whisper", url="https://github.com/openai/whisper")
_VA = Attribution(name="va", url="https://pypi.org/project/va/")
_WHISPER_LANGUAGES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy "
    "id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru "
    "sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh"
).split()


def describe(engine: Any, language: str, streaming: bool = False, commands: Optional[str] = None) -> Info:
    """The `info` event for `engine` (the transcriber's) and the configured language; `commands`
    says whose commands Home Assistant's text runs (None: no handle program)."""
    model = AsrModel(
        name=str(engine.model), description=f"Whisper {engine.model} ({engine.name}, {engine.device})",
        attribution=_WHISPER, installed=True, version=None,
        languages=_languages(engine.model, language),
    )
    program = AsrProgram(
        name="va", description="va speech-to-text server (Whisper, batched)", attribution=_VA,
        installed=True, version=__version__, models=[model], supports_transcript_streaming=streaming,
    )
    return Info(asr=[program], handle=[_handle_program(commands, language)] if commands else [])


def _handle_program(commands: str, language: str) -> HandleProgram:
    """va's commands as a conversation agent: Home Assistant names the agent after the program."""
    languages = [] if language in ("", "auto") else [language]  # none listed: Home Assistant offers it for all
    model = HandleModel(name="va-commands", description=f"va commands of {commands}", attribution=_VA,
                        installed=True, version=__version__, languages=languages)
    return HandleProgram(name="va", description=f"va commands ({commands})", attribution=_VA, installed=True,
                         version=__version__, models=[model])


def _languages(model: str, language: str) -> List[str]:
    """English-only Whisper models (*.en) speak English; others the configured language, or Whisper's."""
    if str(model).rstrip("/").endswith(".en"):
        return ["en"]
    return list(_WHISPER_LANGUAGES) if language in ("", "auto") else [language]
