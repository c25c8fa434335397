"""The command grammar a client sends in its hello, and sentence templates.

A `Grammar` lists every command the client can run: its function name, every spoken name and
alias, each parameter's kind (``int``, ``float``, ``bool``, ``choice`` with its choices, ``text``;
a number may carry ``min``/``max``) and its sentence templates. It travels in the hello as
``{"version": 1, "commands": [...]}`` (see `Grammar.to_dict`), so the server can look for the
most likely reading that is a valid command.

A sentence template is a spoken form with slots in any order, e.g.
``"set a {minutes} minute timer"`` or ``"timer for {minutes} minutes"``: words are matched as
said, each ``{slot}`` takes the value of the parameter of that name.

`GrammarRegistry` turns a grammar back into what `va.matching.interpret` reads, so the server
matches transcripts exactly as the client would. Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
import typing
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

from va.language.words import norms

VERSION = 1
KINDS = ("int", "float", "bool", "choice", "text")
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NUMBER_KINDS = ("int", "float")


class GrammarError(ValueError):
    """A grammar or template that does not fit the rules; the message says which part."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its name and how its words read."""

    name: str
    kind: str = "text"
    required: bool = True
    min: Optional[float] = None
    max: Optional[float] = None
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "required": self.required}
        if self.kind in _NUMBER_KINDS:
            data.update({key: value for key, value in (("min", self.min), ("max", self.max)) if value is not None})
        if self.kind == "choice":
            data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ParamSpec:
        data = _mapping(data, "a parameter")
        name, kind = _name(data, "parameter"), data.get("kind", "text")
        if kind not in KINDS:
            raise GrammarError(f"parameter {name!r}: kind must be one of {', '.join(KINDS)}")
        choices = data.get("choices", []) if kind == "choice" else []
        if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
            raise GrammarError(f"parameter {name!r}: choices must be a list of strings")
        return cls(name, kind, bool(data.get("required", True)), _bound(data, "min"), _bound(data, "max"), tuple(choices))

    def accepts(self, value: Any) -> bool:
        """Whether a bound number lies in [min, max] (anything else: True)."""
        if self.kind not in _NUMBER_KINDS or not isinstance(value, (int, float)):
            return True
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class CommandSpec:
    """One command: its function name, its spoken names (the first is the main one), its templates."""

    name: str
    spoken: tuple[str, ...]
    params: tuple[ParamSpec, ...] = ()
    sentences: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spoken": list(self.spoken),
            "params": [param.to_dict() for param in self.params],
            "sentences": list(self.sentences),
        }

    @classmethod
    def from_dict(cls, data: Any) -> CommandSpec:
        data = _mapping(data, "a command")
        name = _name(data, "command")
        spoken = _strings(data, "spoken", name)
        params = data.get("params", [])
        if not isinstance(params, list):
            raise GrammarError(f"command {name!r}: params must be a list")
        spec = cls(name, spoken, tuple(ParamSpec.from_dict(p) for p in params), _strings(data, "sentences", name))
        for sentence in spec.sentences:
            error = template_error(sentence, [param.name for param in spec.params])
            if error:
                raise GrammarError(f"command {name!r}: {error}")
        return spec


@dataclass(frozen=True)
class Grammar:
    """Every command a client can run."""

    commands: tuple[CommandSpec, ...] = ()
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "commands": [command.to_dict() for command in self.commands]}

    @classmethod
    def from_dict(cls, data: Any) -> Optional[Grammar]:
        """The grammar, or None for a version this code does not know (a newer client)."""
        data = _mapping(data, "the grammar")
        version = data.get("version", VERSION)
        if version != VERSION:
            return None
        commands = data.get("commands", [])
        if not isinstance(commands, list):
            raise GrammarError("grammar 'commands' must be a list")
        return cls(tuple(CommandSpec.from_dict(command) for command in commands), VERSION)


# --- templates -------------------------------------------------------------------------------


def template_parts(template: str) -> list[tuple[str, str]]:
    """``"set a {minutes} minute timer"`` -> [("word", "set"), ("word", "a"), ("slot", "minutes"), ...]."""
    parts: list[tuple[str, str]] = []
    for index, piece in enumerate(_SLOT.split(template)):
        if index % 2:
            parts.append(("slot", piece))
        else:
            parts.extend(("word", word) for word in _words(piece))
    return parts


def template_error(template: str, param_names: Sequence[str]) -> Optional[str]:
    """Why a template cannot be used with these parameters, or None."""
    if "{" in _SLOT.sub("", template) or "}" in _SLOT.sub("", template):
        return f"template {template!r}: a slot is written {{name}}"
    slots = [name for kind, name in template_parts(template) if kind == "slot"]
    if not any(kind == "word" for kind, _ in template_parts(template)):
        return f"template {template!r} has no words"
    unknown = [name for name in slots if name not in param_names]
    if unknown:
        return f"template {template!r}: no parameter named {unknown[0]!r}"
    if len(set(slots)) != len(slots):
        return f"template {template!r} names a slot twice"
    return None


def _words(text: str) -> list[str]:
    return norms(text).split()


# --- from the registry, and back into something matching reads ---------------------------------


def grammar_of(registry: Any) -> Grammar:
    """The grammar of a loaded `va.registry.Registry`."""
    return Grammar(tuple(_spec_of(command) for command in registry.commands.values()))


def _spec_of(command: Any) -> CommandSpec:
    params = tuple(_param_spec(parameter) for parameter in command.parameters)
    return CommandSpec(command.name, tuple(command.phrases), params, tuple(getattr(command, "sentences", ())))


def _param_spec(parameter: Any) -> ParamSpec:
    kind = "text" if parameter.kind == "str" else parameter.kind
    choices = tuple(choice_label(choice) for choice in parameter.choices)
    return ParamSpec(parameter.name, kind, parameter.required, choices=choices)


def choice_label(choice: Any) -> str:
    """How a choice travels: an Enum member by its name in lower case, a Literal value as text."""
    return choice.name.lower() if isinstance(choice, enum.Enum) else str(choice)


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
    if parameter.kind in _NUMBER_KINDS:
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
    return " ".join(_words(phrase))


def _parameter(spec: ParamSpec) -> Any:
    from va.language.arguments import REQUIRED, Parameter

    annotation: Any = {"int": int, "float": float, "bool": bool, "text": str}.get(spec.kind, str)
    if spec.kind == "choice":
        annotation = typing.Literal.__getitem__(spec.choices) if spec.choices else str
    kind = "str" if spec.kind == "text" or annotation is str else spec.kind
    return Parameter(spec.name, annotation, REQUIRED if spec.required else None, kind)


# --- parsing helpers ---------------------------------------------------------------------------


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise GrammarError(f"{what} must be a JSON object")
    return data


def _name(data: Mapping[str, Any], what: str) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise GrammarError(f"a {what} needs a 'name' string")
    return name


def _strings(data: Mapping[str, Any], key: str, owner: str) -> tuple[str, ...]:
    values = data.get(key, [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise GrammarError(f"command {owner!r}: {key} must be a list of strings")
    return tuple(values)


def _bound(data: Mapping[str, Any], key: str) -> Optional[float]:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GrammarError(f"parameter {data.get('name')!r}: {key} must be a number")
    return value
