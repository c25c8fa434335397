"""`va commands`: the enabled commands, and the modules that failed to load."""

from __future__ import annotations

import argparse

from va.commands.registry import Registry, load_registry
from va.config.settings import Settings


def cli_commands(args: argparse.Namespace, settings: Settings) -> int:
    """`va commands`: every command, then the modules that failed. Exit 1 when something failed."""
    from va.client.remote import describe_others

    registry = load_registry(settings.commands)
    for line in describe_registry(registry) + describe_others(settings):
        print(line)
    return 1 if registry.failures else 0


def describe_registry(registry: Registry) -> list[str]:
    lines = []
    for command in registry.commands.values():
        parameters = ", ".join(parameter.describe() for parameter in command.parameters)
        lines.append(f"{command.spoken}  ({parameters})  [{command.module}.{command.name}]  {command.help}".rstrip())
        if command.aliases:
            lines.append("    also: " + ", ".join(command.aliases))
        if command.sentences:
            lines.append("    sentences: " + ", ".join(repr(sentence) for sentence in command.sentences))
    if not registry.commands:
        lines.append("no commands are enabled")
    if registry.failures:
        lines.append("")
        lines.append("failed to load:")
        lines.extend(f"  {failure.source}: {failure.error}" for failure in registry.failures)
    return lines
