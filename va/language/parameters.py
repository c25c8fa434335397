"""A command's parameters, read from its function's signature and type hints.

`parameters_of(function)` gives each parameter its `kind`, how words become its value: int,
float, bool, choice (a Literal or an Enum) or str (anything else, and unannotated). Optional[X]
reads like X. A number may declare the values it takes with ``Annotated[int, Range(0, 100)]``:
the server's grammar reading (va.server.recognition) then takes only a reading in range.
`va.language.arguments.bind` fills them from the words said.

A str parameter may name the values it usually takes, its known values:
``device: Annotated[str, Values("kitchen lights", "bedroom fan")]``, or ``Values(_devices)`` with a
function of the module that returns them (called each time the commands load). They travel in the
grammar, and the server's recognizer judges them against the audio (va.server.recognition); any
other words are still taken as said.
"""

from __future__ import annotations

import enum
import inspect
import logging
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Union

_LOGGER = logging.getLogger(__name__)

REQUIRED = inspect.Parameter.empty
VALUES_ATTRIBUTE = "__va_values__"
MAX_VALUES = 1000
"""Most known values a parameter keeps (the grammar travels in every hello)."""
SHOWN_VALUES = 5
"""Known values `describe` lists before "..."."""


@dataclass(frozen=True)
class Range:
    """The values a number parameter takes, both ends included: ``Annotated[int, Range(0, 100)]``."""

    min: Optional[float] = None
    max: Optional[float] = None


class Values:
    """The values a free-text (str) parameter usually takes, for `typing.Annotated`:

        Annotated[str, Values("kitchen lights", "bedroom fan")]
        Annotated[str, Values(_artists)]     # a function of the module, called at each load

    Any other words are still accepted: these are what the recognizer listens for first."""

    def __init__(self, *values: Union[str, Iterable[str], Callable[[], Iterable[str]]]) -> None:
        self._sources = values
        for source in values:
            if inspect.isfunction(source):
                setattr(source, VALUES_ATTRIBUTE, True)  # a source of values, never a command itself

    def resolve(self, owner: str = "") -> tuple[str, ...]:
        """The values as one deduplicated tuple of non-empty strings; a function that fails or
        returns something else is logged and gives none (the command still loads)."""
        found: list[str] = []
        for source in self._sources:
            try:
                found += _strings(source() if callable(source) else source)
            except Exception as error:  # a user's function: its failure costs its values only
                _LOGGER.warning("known values of %s: %s: %s", owner or "a parameter", type(error).__name__, error)
        return tuple(dict.fromkeys(value.strip() for value in found if value.strip()))[:MAX_VALUES]

    def __repr__(self) -> str:
        return f"Values({', '.join(map(repr, self._sources))})"


def _strings(source: Any) -> list[str]:
    if isinstance(source, str):
        return [source]
    values = list(source)
    wrong = [value for value in values if not isinstance(value, str)]
    if wrong:
        raise TypeError(f"values must be strings, got {wrong[0]!r}")
    return values


@dataclass(frozen=True)
class Parameter:
    """A command parameter. `kind` is how words become its value: int, float, bool, choice or str."""

    name: str
    annotation: Any = str
    default: Any = REQUIRED
    kind: str = "str"
    range: Range = Range()
    """The values a number takes (``Annotated[int, Range(...)]``); unbounded by default."""
    values: tuple[str, ...] = ()
    """Known values of a str parameter (`Values`); any other words are still taken."""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def choices(self) -> tuple:
        """The values a choice parameter accepts (Literal values or Enum members); () otherwise."""
        if self.kind != "choice":
            return ()
        if isinstance(self.annotation, type) and issubclass(self.annotation, enum.Enum):
            return tuple(self.annotation)
        return typing.get_args(self.annotation)

    def describe(self) -> str:
        """"minutes: float", "mode: heat|cool = 'heat'" — for `va commands`."""
        if self.kind == "choice":
            kind = "|".join(choice_label(choice) for choice in self.choices)
        else:
            kind = self.kind
        if self.range != Range():
            low, high = ("" if end is None else f"{end:g}" for end in (self.range.min, self.range.max))
            kind += f" {low}..{high}"
        text = f"{self.name}: {kind}"
        if self.values:
            shown = ", ".join(self.values[:SHOWN_VALUES]) + (", ..." if len(self.values) > SHOWN_VALUES else "")
            text += f" ({shown})"
        if not self.required:
            default = self.default.name.lower() if isinstance(self.default, enum.Enum) else self.default
            text += f" = {default!r}"
        return text


def format_call(name: str, args: Mapping[str, Any]) -> str:
    """How a call reads in the logs and in `va match`: "set_timer(minutes=5.0)"."""
    return f"{name}({', '.join(f'{key}={value!r}' for key, value in args.items())})"


def choice_label(choice: Any) -> str:
    """How a choice reads and travels: an Enum member by its name in lower case, a Literal value as text."""
    return choice.name.lower() if isinstance(choice, enum.Enum) else str(choice)


def parameters_of(function: Callable) -> tuple[Parameter, ...]:
    """The function's parameters with resolved type hints (*args and **kwargs are left out)."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # an unresolvable annotation must not stop the command loading
        hints = {}
    parameters = []
    for param in inspect.signature(function).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation, extras = _unwrap_annotated(hints.get(param.name, param.annotation))
        annotation, more = _unwrap_annotated(_unwrap_optional(annotation))
        kind = _kind_of(annotation)
        if annotation is REQUIRED:
            annotation = str  # unannotated parameters take words
        ranges = [extra for extra in extras + more if isinstance(extra, Range)]
        number_range = ranges[-1] if ranges and kind in ("int", "float") else Range()
        known = [extra for extra in extras + more if isinstance(extra, Values)]
        values = known[-1].resolve(f"{function.__name__}({param.name})") if known and kind == "str" else ()
        parameters.append(Parameter(param.name, annotation, param.default, kind, number_range, values))
    return tuple(parameters)


def _unwrap_annotated(annotation: Any) -> tuple[Any, tuple]:
    """Annotated[int, Range(0, 9)] -> (int, (Range(0, 9),)); anything else -> (it, ())."""
    if typing.get_origin(annotation) is typing.Annotated:
        return annotation.__origin__, tuple(annotation.__metadata__)
    return annotation, ()


def _unwrap_optional(annotation: Any) -> Any:
    """Optional[int] and int | None bind like int (None stays the default)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal or type(None) not in args or len(args) != 2:
        return annotation
    return next(arg for arg in args if arg is not type(None))


def _kind_of(annotation: Any) -> str:
    if isinstance(annotation, str):  # a string annotation get_type_hints could not resolve
        annotation = {"int": int, "float": float, "bool": bool}.get(annotation, str)
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if typing.get_origin(annotation) is typing.Literal and typing.get_args(annotation):
        return "choice"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum) and len(annotation):
        return "choice"
    return "str"
