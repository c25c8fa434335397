"""Words to function arguments, by the parameters' type hints.

The words come from `va.language.words.tokenize`.

`bind(parameters, tokens)` fills the parameters left to right:
- int / float: the next number (digits or words); a unit word after it ("minutes", "percent") is skipped.
  An hour parameter followed by a minute parameter (named hour/hours/hh and minute/minutes/min/mm,
  or ending so: wake_hour, wake_minute; both int) also takes a time of day written as one number ("10:55", "7.30", "1055": Whisper's
  writing of "ten fifty five"), when nothing else is said for the minutes; other int parameters
  keep such a number whole.
- bool: the next on/off, yes/no, true/false, enable/disable.
- Literal[...] / Enum: the next words that fuzzy-match one of the choices.
- str (and unannotated or unsupported annotations): the words as spoken, up to where the next
  parameter's value starts; the last parameter that is a str takes the rest.
Filler between values ("for", "to", "and", "please") is skipped. A parameter not said takes its
default; a required one not said, or said in a form that does not fit, makes `Binding.error` say
which parameter and why. Pure: never raises on any words.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Sequence

from thefuzz import fuzz

from va.language.numbers import Number, number_to_words, parse_number
from va.language.parameters import REQUIRED, Parameter, choice_label, format_call, parameters_of
from va.language.words import LEADING_FILLER, TRAILING_FILLER, Token, join_raw, norms, tokenize

CHOICE_SCORE = 80  # fuzz ratio a spoken word needs to count as one of a Literal's / Enum's choices

TRUE_WORDS = frozenset("on yes true enable enabled activate start yeah yep".split())
FALSE_WORDS = frozenset("off no false disable disabled deactivate stop nope".split())
UNIT_WORDS = frozenset(
    "minute minutes min mins second seconds sec secs hour hours hr hrs day days week weeks percent "
    "degree degrees dollar dollars euro euros pound pounds cent cents buck bucks time times point points "
    "step steps meter meters metre metres".split()
)
@dataclass(frozen=True)
class Binding:
    args: dict
    error: str | None = None


@dataclass(frozen=True)
class _Found:
    value: Any
    start: int
    end: int


def bind(parameters: Sequence[Parameter], tokens: Sequence[Token]) -> Binding:
    """Bind the words said after a command name to its parameters."""
    tokens = tuple(tokens)
    args: dict = {}
    position = 0
    for index, param in enumerate(parameters):
        later = parameters[index + 1 :]
        if param.kind == "str":
            end = _str_end(param, later, tokens, position)
            value = _str_value(tokens[position:end])
            if value:
                args[param.name] = value
                position = end
                continue
            found = None
        else:
            found = _find(param, tokens, position)
            if found is not None and later and _is_clock_pair(param, later[0]):
                tokens = _split_clock_time(tokens, found, later[0])
                found = _find(param, tokens, position)
        if found is None:
            if param.required:
                return Binding(args, _missing(param, tokens[position:]))
            args[param.name] = param.default
            continue
        if isinstance(found.value, Unfit):
            return Binding(args, f"{param.name}: {found.value.why}")
        args[param.name] = found.value
        position = _skip_unit(param, tokens, found.end)
    return Binding(args)


@dataclass(frozen=True)
class Unfit:
    """A value said in a form that does not fit its parameter; `why` says how."""

    why: str


_CLOCK_TIME = re.compile(r"^(\d{1,2})[:.]?(\d{2})$")
HOUR_NAMES = frozenset(("hour", "hours", "hh"))
MINUTE_NAMES = frozenset(("minute", "minutes", "min", "mins", "mm"))


def _is_clock_pair(first: Parameter, second: Parameter) -> bool:
    """Whether two parameters in a row are the hour and minute of a time of day."""
    return (
        first.kind == second.kind == "int"
        and _last_word(first.name) in HOUR_NAMES
        and _last_word(second.name) in MINUTE_NAMES
    )


def _last_word(name: str) -> str:
    """The last word of a parameter name: "wake_hour" -> "hour"."""
    return name.lower().rsplit("_", 1)[-1]


def _split_clock_time(tokens: tuple[Token, ...], found: _Found, after: Parameter) -> tuple[Token, ...]:
    """"1055" (or "10:55", "10.55") said for two int parameters in a row as two numbers, 10 and 55,
    when it is one written number, its last two digits can be minutes and nothing else is said for
    the second parameter; otherwise the words unchanged."""
    written = _CLOCK_TIME.match(tokens[found.start].norm) if found.end == found.start + 1 else None
    if written is None or int(written[2]) >= 60 or len(tokens[found.start].norm) < 3:
        return tokens
    if _find(after, tokens, found.end) is not None:
        return tokens
    hour, minute = Token(str(int(written[1])), tokens[found.start].raw), Token(str(int(written[2])), "")
    return tokens[: found.start] + (hour, minute) + tokens[found.end :]


def _find(param: Parameter, tokens: tuple[Token, ...], start: int) -> _Found | None:
    """The first value for a typed parameter at or after `start`."""
    for position in range(start, len(tokens)):
        found = value_at(param, tokens, position)
        if found is not None:
            return found
    return None


def value_at(param: Parameter, tokens: tuple[Token, ...], position: int) -> _Found | None:
    words = [token.norm for token in tokens[position:]]
    if param.kind in ("int", "float"):
        return _number_at(param, words, position)
    if param.kind == "bool":
        if words[0] in TRUE_WORDS or words[0] in FALSE_WORDS:
            return _Found(words[0] in TRUE_WORDS, position, position + 1)
        return None
    if param.kind == "choice":
        return _choice_at(param, words, position)
    return None


def _number_at(param: Parameter, words: list[str], position: int) -> _Found | None:
    value: Number | None
    if words[0] in ("a", "an") and len(words) > 1 and words[1] in UNIT_WORDS:
        value, used = 1, 1  # "for a minute"
    else:
        value, used = parse_number(words)
    if value is None:
        return None
    if param.kind != "int":
        return _Found(float(value), position, position + used)
    if isinstance(value, float) and not value.is_integer():
        return _Found(Unfit(f"needs a whole number, heard {value:g}"), position, position + used)
    return _Found(int(value), position, position + used)


def _choice_at(param: Parameter, words: list[str], position: int) -> _Found | None:
    best = None
    for choice in param.choices:
        for phrase in _choice_phrases(choice):
            size = len(phrase.split())
            said = " ".join(words[:size])
            score = fuzz.ratio(said, phrase)
            if score >= CHOICE_SCORE and (best is None or score > best[0]):
                best = (score, choice, size)
    if best is None:
        return None
    return _Found(best[1], position, position + best[2])


def _choice_phrases(choice: Any) -> list[str]:
    values = [choice.name, choice.value] if isinstance(choice, enum.Enum) else [choice]
    phrases = []
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            phrases += [number_to_words(value), str(value)]
        elif isinstance(value, str):
            phrase = norms(value)
            if phrase:
                phrases.append(phrase)
    return phrases


def _str_end(param: Parameter, later: Sequence[Parameter], tokens: tuple[Token, ...], start: int) -> int:
    """Where a str value ends: at the first later typed value, else one word if another str follows."""
    starts = []
    for other in later:
        if other.kind != "str":
            found = _find(other, tokens, start + 1)
            if found is not None:
                starts.append(found.start)
    if starts:
        return min(starts)
    if any(other.kind == "str" for other in later):
        return _first_word_end(tokens, start)
    return len(tokens)


def _first_word_end(tokens: tuple[Token, ...], start: int) -> int:
    position = start
    while position < len(tokens) and tokens[position].norm in LEADING_FILLER:
        position += 1
    return min(position + 1, len(tokens))


def _str_value(tokens: Sequence[Token]) -> str:
    tokens = list(tokens)
    while tokens and tokens[0].norm in LEADING_FILLER:
        tokens.pop(0)
    while tokens and tokens[-1].norm in TRAILING_FILLER | LEADING_FILLER:
        tokens.pop()
    return join_raw(tokens)


def _skip_unit(param: Parameter, tokens: tuple[Token, ...], position: int) -> int:
    if param.kind not in ("int", "float") or position >= len(tokens):
        return position
    word = tokens[position].norm
    own = param.name.lower().rstrip("s")
    if word in UNIT_WORDS or word.rstrip("s") == own:
        return position + 1
    if word == "per" and position + 1 < len(tokens) and tokens[position + 1].norm == "cent":
        return position + 2
    return position


_KIND_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "on or off",
    "str": "some words",
}


def _missing(param: Parameter, rest: Sequence[Token]) -> str:
    expected = _KIND_WORDS.get(param.kind) or "one of " + ", ".join(choice_label(c) for c in param.choices)
    said = join_raw(rest)
    if said:
        return f"{param.name}: expected {expected}, heard {said!r}"
    return f"{param.name}: not said (expected {expected})"


__all__ = [
    "REQUIRED",
    "Binding",
    "Parameter",
    "Token",
    "bind",
    "format_call",
    "join_raw",
    "parameters_of",
    "tokenize",
]
