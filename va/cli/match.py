"""`va match TEXT...`: what a transcript would run, without running it."""

from __future__ import annotations

import argparse
import json

from va.commands.registry import load_registry
from va.config.settings import Settings
from va.language.parameters import format_call


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
        else:
            print("command: none")
        print(f"reason: {result.reason}")
    return 0 if result.command is not None else 1
