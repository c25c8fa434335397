"""Matching the words said against a command's sentence templates (see va.language.grammar).

`match_sentence(words, template, parameters)` reads ``"timer for twenty five minutes"`` with
``"timer for {minutes} minutes"`` as ``minutes=25``: template words are compared fuzzily (Whisper
misspells), filler said between them is skipped, and each slot takes the words that make exactly
one value of its parameter (a number, on/off, a choice) or, for a text parameter, the words up to
the next template word. Every word said must be used, so a template never swallows another
command. Pure: never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional, Sequence

from thefuzz import fuzz

from va.language.arguments import Unfit, value_at
from va.language.words import NAME_FILLER, Token, join_raw
from va.language.grammar import template_parts

WORD_SCORE = 70
"""Fuzz ratio a said word needs to count as a template word."""
_SKIPPABLE = NAME_FILLER  # the same filler the name matcher skips


@dataclass(frozen=True)
class SentenceMatch:
    template: str
    score: int
    """Mean fuzz ratio of the template's words (100: said exactly)."""
    args: dict


def match_sentence(words: Sequence[Token], template: str, parameters: Sequence[Any]) -> Optional[SentenceMatch]:
    """The best reading of all of `words` as `template`, or None when it does not fit."""
    parts = tuple(template_parts(template))
    by_name = {parameter.name: parameter for parameter in parameters}
    if any(kind == "slot" and name not in by_name for kind, name in parts):
        return None
    tokens = tuple(words)

    @lru_cache(maxsize=None)
    def best(part: int, position: int) -> Optional[tuple[int, int, tuple]]:
        """(sum of word scores, template words matched, ((slot, value), ...)) from here on."""
        if part == len(parts):
            rest = tokens[position:]
            return (0, 0, ()) if all(token.norm in _SKIPPABLE for token in rest) else None
        kind, text = parts[part]
        options = []
        if position < len(tokens) and tokens[position].norm in _SKIPPABLE:
            options.append(best(part, position + 1))  # filler said between template words
        if kind == "word":
            options += _word_options(best, text, tokens, part, position)
        else:
            options += _slot_options(best, by_name[text], tokens, part, position)
        found = [option for option in options if option is not None]
        return max(found, key=lambda option: (option[0], -option[1])) if found else None

    result = best(0, 0)
    literal = sum(kind == "word" for kind, _ in parts)
    if result is None or literal == 0:
        return None
    total, _, args = result
    return SentenceMatch(template, round(total / literal), dict(args))


def _word_options(best: Any, word: str, tokens: tuple[Token, ...], part: int, position: int) -> list:
    options = []
    if word in _SKIPPABLE:
        options.append(best(part + 1, position))  # "set {minutes} minute timer" said without "a"
    if position < len(tokens):
        score = fuzz.ratio(tokens[position].norm, word)
        if score >= WORD_SCORE:
            options.append(_plus(best(part + 1, position + 1), score, 1))
    return options


def _slot_options(best: Any, parameter: Any, tokens: tuple[Token, ...], part: int, position: int) -> list:
    if position >= len(tokens):
        return []
    if parameter.kind == "str":
        options = []
        for end in range(position + 1, len(tokens) + 1):
            value = join_raw(tokens[position:end])
            if value:
                options.append(_plus(best(part + 1, end), 0, 0, (parameter.name, value)))
        return options
    found = value_at(parameter, tokens, position)
    if found is None or isinstance(found.value, Unfit):
        return []
    return [_plus(best(part + 1, found.end), 0, 0, (parameter.name, found.value))]


def _plus(rest: Optional[tuple], score: int, words: int, slot: Optional[tuple] = None) -> Optional[tuple]:
    if rest is None:
        return None
    return (rest[0] + score, rest[1] + words, ((slot,) if slot else ()) + rest[2])
