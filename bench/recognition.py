"""Recognition accuracy on the committed corpus: `python -m bench.recognition [--split heldout|tune|all] [--json OUT]`.

(stub: the matcher part, used by bench/corpus/make_corpus.py --check; the harness follows)
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path
from typing import Any, Callable, Optional

KEYWORD = "computer"


def _first(*names: str) -> Any:
    """The first of `module:attribute` that imports (va's files are moving into rooms)."""
    errors = []
    for name in names:
        module, _, attribute = name.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as error:
            errors.append(f"{name}: {error}")
    raise ImportError("; ".join(errors))


def old_matcher(commands: Path, keyword: str = KEYWORD) -> Callable[[str], Optional[dict]]:
    """The client's own decision on a transcript: {"command", "args"} of what would run, or None."""
    interpret = _first("va.language.matching:interpret", "va.client.decision:interpret", "va.matching:interpret")
    load_registry = _first("va.commands.registry:load_registry", "va.commands:load_registry",
                           "va.registry:load_registry")
    settings_type = _first("va.config:CommandSettings", "va.config.schema:CommandSettings")
    settings = dataclasses.replace(settings_type(), modules=(), paths=(str(commands),))
    registry = load_registry(settings)
    if registry.failures:
        raise RuntimeError(f"{commands}: {registry.failures}")

    def decide(text: str) -> Optional[dict]:
        decision = interpret(text, registry, keyword, settings.threshold).to_dict()
        return None if decision["command"] is None else {"command": decision["command"], "args": decision["args"]}

    return decide


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def same_call(expected: Optional[dict], got: Optional[dict]) -> bool:
    """Right command with right arguments (free text compared without case and punctuation); None == None."""
    if expected is None or got is None:
        return expected is None and got is None
    if expected["command"] != got["command"] or set(expected["args"]) != set(got["args"]):
        return False
    for name, want in expected["args"].items():
        have = got["args"][name]
        if isinstance(want, bool) or isinstance(have, bool):
            if want is not have:
                return False
        elif isinstance(want, (int, float)) and isinstance(have, (int, float)):
            if abs(want - have) > 1e-6:
                return False
        elif isinstance(want, str) and isinstance(have, str):
            if _words(want) != _words(have):
                return False
        elif want != have:
            return False
    return True
