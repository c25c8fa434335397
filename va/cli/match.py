"""`va match TEXT...`: what a transcript would run, without running it."""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence

from va.commands.registry import load_registry
from va.config.settings import Settings
from va.language.parameters import SHOWN_VALUES, format_call
from va.language.words import norms


def known_values(parameters: Sequence[Any], args: dict) -> list[str]:
    """A line per free-text parameter with known values (va.command.Values): the values, and
    whether the words heard are one of them."""
    lines = []
    for parameter in parameters:
        values = getattr(parameter, "values", ())
        if not values:
            continue
        heard = args.get(parameter.name)
        said = norms(heard) if isinstance(heard, str) else None
        verdict = ("one of them" if any(norms(value) == said for value in values) else
                   "not one of them: taken as heard, or a known value the audio supports better")
        shown = ", ".join(values[:SHOWN_VALUES]) + (f", ... ({len(values)} in all)" if len(values) > SHOWN_VALUES else "")
        lines.append(f"known {parameter.name}: {shown}; heard {heard!r}: {verdict}")
    return lines


def cli_match(args: argparse.Namespace, settings: Settings) -> int:
    """Print the decision (or JSON with --json). Exit 0 if a command would run."""
    from va.client.remote import known_targets
    from va.language.targeting import interpret_addressed

    registry = load_registry(settings.commands)
    text = " ".join(args.text)
    targets = known_targets(settings, registry)  # this client and the others the server knows
    result = interpret_addressed(text, registry, targets, keyword=settings.keyword, threshold=settings.commands.threshold)
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), default=repr))
    else:
        print(f"keyword: {'yes' if result.keyword else 'no'}")
        if result.command is not None:
            where = f"{result.target}: " if result.target else f"{result.command.module}."
            print(f"command: {where}{format_call(result.command.name, result.args)}  score {result.score}")
            for line in known_values(result.command.parameters, result.args):
                print(line)
        else:
            print("command: none")
        print(f"reason: {result.reason}")
    return 0 if result.command is not None else 1
