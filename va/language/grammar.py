"""The command grammar a client sends in its hello, and sentence templates.

A `Grammar` lists every command the client can run: its function name, every spoken name and
alias, each parameter's kind (``int``, ``float``, ``bool``, ``choice`` with its choices, ``text``;
a number may carry ``min``/``max``, a text its known ``values``) and its sentence templates. It
travels in the hello as ``{"version": 1, "commands": [...]}`` (see `Grammar.to_dict`), so the
server can look for the most likely reading that is a valid command.

A sentence template is a spoken form with slots in any order, e.g.
``"set a {minutes} minute timer"`` or ``"timer for {minutes} minutes"``: words are matched as
said, each ``{slot}`` takes the value of the parameter of that name.

`va.language.grammar_registry` builds a grammar from the command registry and turns one back
into what `va.language.matching.interpret` reads. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from va.language.words import norms

VERSION = 1
KINDS = ("int", "float", "bool", "choice", "text")
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NUMBER_KINDS = ("int", "float")


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
    values: tuple[str, ...] = ()
    """Known values of a text parameter: the recognizer judges them against the audio; any other
    words are still a valid value."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "required": self.required}
        if self.kind in NUMBER_KINDS:
            data.update({key: value for key, value in (("min", self.min), ("max", self.max)) if value is not None})
        if self.kind == "choice":
            data["choices"] = list(self.choices)
        if self.kind == "text" and self.values:
            data["values"] = list(self.values)
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
        values = data.get("values", []) if kind == "text" else []
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise GrammarError(f"parameter {name!r}: values must be a list of strings")
        required, low, high = bool(data.get("required", True)), _bound(data, "min"), _bound(data, "max")
        return cls(name, kind, required, low, high, tuple(choices), tuple(values))

    def accepts(self, value: Any) -> bool:
        """Whether a bound number lies in [min, max] (anything else: True)."""
        if self.kind not in NUMBER_KINDS or not isinstance(value, (int, float)):
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
