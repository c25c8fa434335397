"""What the client would run for a transcript: va.language.matching.interpret over the project's commands."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Tuple

from bench.procs import ROOT

KEYWORD = "computer"
MODULES = ("clock", "system")
TEST_COMMANDS = ROOT / "tests" / "commands"  # add_numbers lives with the tests


@dataclasses.dataclass(frozen=True)
class Decider:
    decide: Optional[Callable[[str], Tuple[Optional[str], dict]]]
    """transcript -> (command name or None, args); None when matching is unavailable."""
    known: frozenset = frozenset()
    """Command names the registry loaded: clips expecting another command are not judged."""
    prompt: Optional[str] = None
    """The hello vocabulary as the server would turn it into a decoding prompt."""
    note: str = ""


def load() -> Decider:
    try:
        from va.config import CommandSettings
        from va.language.matching import interpret
        from va.protocol import Hello
        from va.commands.registry import load_registry
    except Exception as error:
        return Decider(None, note=f"n/a (matching unavailable: {type(error).__name__}: {error})")
    paths = (str(TEST_COMMANDS),) if TEST_COMMANDS.is_dir() else ()
    settings = dataclasses.replace(CommandSettings(), modules=MODULES, paths=paths)
    registry = load_registry(settings)
    known = frozenset(command.name for command in registry.commands.values())
    prompt = Hello(KEYWORD, tuple(registry.vocabulary())).prompt()
    threshold = settings.threshold

    def decide(text: str) -> Tuple[Optional[str], dict]:
        decision = interpret(text, registry, KEYWORD, threshold).to_dict()
        return decision["command"], decision["args"]

    failures = "; ".join(f"{f.source}: {f.error}" for f in registry.failures)
    note = (f"va.language.matching.interpret over modules {', '.join(MODULES)}"
            f"{' + tests/commands' if paths else ''} ({len(known)} commands: {', '.join(sorted(known))})"
            f"{'; load problems: ' + failures if failures else ''}; clips whose command is not loaded are not judged.")
    return Decider(decide, known, prompt, note)
