"""Between the command registry and the grammar that travels in the hello.

`grammar_of(registry)` is the grammar a client sends; `GrammarRegistry(grammar)` is what
`va.language.matching.interpret` reads (``commands`` and ``phrases()``), built from a grammar, so
the server matches transcripts exactly as the client would. `args_to_wire` / `args_from_wire`
carry a reading's arguments between the two sides (a choice travels by its label). Pure: no I/O.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

from va.language.grammar import NUMBER_KINDS, CommandSpec, Grammar, ParamSpec
from va.language.parameters import REQUIRED, Parameter, Range, choice_label
from va.language.words import norms


def grammar_of(registry: Any) -> Grammar:
    """The grammar of a loaded `va.registry.Registry`."""
    return Grammar(tuple(_spec_of(command) for command in registry.commands.values()))


def _spec_of(command: Any) -> CommandSpec:
    params = tuple(_param_spec(parameter) for parameter in command.parameters)
    return CommandSpec(command.name, tuple(command.phrases), params, tuple(getattr(command, "sentences", ())))


def _param_spec(parameter: Any) -> ParamSpec:
    kind = "text" if parameter.kind == "str" else parameter.kind
    choices = tuple(choice_label(choice) for choice in parameter.choices)
    values = tuple(getattr(parameter, "values", ())) if kind == "text" else ()
    number_range = getattr(parameter, "range", None)
    low, high = (number_range.min, number_range.max) if number_range is not None else (None, None)
    return ParamSpec(parameter.name, kind, parameter.required, low, high, choices, values)


def args_to_wire(parameters: Sequence[Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as a reading carries them: only what was said, choices by their label."""
    wire = {}
    for parameter in parameters:
        value = args.get(parameter.name)
        if value is None and not parameter.required:
            continue
        wire[parameter.name] = choice_label(value) if parameter.kind == "choice" else value
    return wire


def args_from_wire(parameters: Sequence[Any], wire: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """A reading's arguments for the client's own parameters (defaults for what was not said);
    None when they do not fit them (a grammar that changed since the hello)."""
    args = {}
    for parameter in parameters:
        if parameter.name not in wire:
            if parameter.required:
                return None
            args[parameter.name] = parameter.default
            continue
        value = _from_wire(parameter, wire[parameter.name])
        if value is _NO_VALUE:
            return None
        args[parameter.name] = value
    return args


_NO_VALUE = object()


def _from_wire(parameter: Any, value: Any) -> Any:
    if parameter.kind == "choice":
        return next((choice for choice in parameter.choices if choice_label(choice) == value), _NO_VALUE)
    if parameter.kind == "bool":
        return value if isinstance(value, bool) else _NO_VALUE
    if parameter.kind in NUMBER_KINDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _NO_VALUE
        return float(value) if parameter.kind == "float" else int(value)
    return value if isinstance(value, str) else _NO_VALUE


@dataclass(frozen=True)
class GrammarCommand:
    """A command as `va.matching` sees it, from a `CommandSpec` (no function to call)."""

    spec: CommandSpec
    parameters: tuple[Any, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(_spoken(phrase) for phrase in self.spec.spoken)

    @property
    def sentences(self) -> tuple[str, ...]:
        return self.spec.sentences


class GrammarRegistry:
    """What `va.matching.interpret` needs (``commands`` and ``phrases()``), built from a grammar."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.commands = {spec.name: GrammarCommand(spec, tuple(map(_parameter, spec.params))) for spec in grammar.commands}

    def phrases(self) -> Iterator[tuple[str, GrammarCommand]]:
        for command in self.commands.values():
            for phrase in command.phrases:
                yield phrase, command


def _spoken(phrase: str) -> str:
    return " ".join(norms(phrase).split())


def _parameter(spec: ParamSpec) -> Any:
    annotation: Any = {"int": int, "float": float, "bool": bool, "text": str}.get(spec.kind, str)
    if spec.kind == "choice":
        annotation = typing.Literal.__getitem__(spec.choices) if spec.choices else str
    kind = "str" if spec.kind == "text" or annotation is str else spec.kind
    values = spec.values if kind == "str" else ()
    return Parameter(spec.name, annotation, REQUIRED if spec.required else None, kind, Range(spec.min, spec.max), values)
