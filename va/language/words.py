"""Words: a transcript cut into tokens, and the filler words that carry no meaning.

`tokenize(text)` turns a transcript into `Token`s: `norm` is lower case without punctuation, for
matching ("Computer," -> "computer", "70%" -> "70" + "percent", "twenty-five" -> "twenty" "five",
"1,000" -> "1000"); `raw` keeps what was written, for `str` arguments ("GitHub.com").

One filler list, `FILLER` (politeness and hesitation), under both users: matching a command name
skips it with the articles and modals of a request (`NAME_FILLER`: "could you please set *a*
timer"); binding arguments skips it with the prepositions before a value (`LEADING_FILLER`: "search
*for* cats") and the words that close a request (`TRAILING_FILLER`: "... *now* please").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from va.language.numbers import NUMBER_WORDS

FILLER = frozenset("please kindly um uh er hmm".split())
"""Said anywhere, meaning nothing."""
NAME_FILLER = FILLER | frozenset("a an the can could would will you just".split())
"""Skipped when a command name is matched."""
LEADING_FILLER = FILLER | frozenset("for to about by of at in with called named that".split())
"""Skipped before a value and between values; never part of a number or choice."""
TRAILING_FILLER = FILLER | frozenset("thanks now".split())
"""Skipped at the end of a str value."""

_EDGE_PUNCTUATION = "\"'`.,!?;:()[]{}<>«»“”‘’…¿¡*~"
_NUMBERISH = re.compile(r"^([+-]?)\$?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(%?)$")
_SPLIT = re.compile(r"[\s\u2013\u2014]+|(?<!\d),|,(?!\d)")


@dataclass(frozen=True)
class Token:
    """One spoken word: `norm` for matching, `raw` as written (empty for a piece split off a word)."""

    norm: str
    raw: str


def tokenize(text: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    for chunk in _SPLIT.split(text or ""):
        raw = chunk.strip(_EDGE_PUNCTUATION)
        tokens.extend(_chunk_tokens(raw))
    return tuple(tokens)


def _chunk_tokens(raw: str) -> list[Token]:
    number = _NUMBERISH.match(raw)
    if number:
        sign, digits, percent = number.groups()
        pieces = [sign + digits.replace(",", "")] + (["percent"] if percent else [])
    elif "-" in raw and all(part.lower() in NUMBER_WORDS for part in raw.split("-")):
        pieces = raw.lower().split("-")  # "twenty-five"
    else:
        norm = re.sub(r"[\W_]+", "", raw.lower())
        return [Token(norm, raw)] if norm else []
    return [Token(piece, raw if index == 0 else "") for index, piece in enumerate(pieces)]


def join_raw(tokens: Sequence[Token]) -> str:
    """The words as written ("GitHub.com"), pieces split off a word left out."""
    return " ".join(token.raw for token in tokens if token.raw)


def without_filler(words: Sequence[str]) -> str:
    """Normalised words without `NAME_FILLER`, joined: how two names compare bare."""
    return " ".join(word for word in words if word not in NAME_FILLER)


def norms(text: str) -> str:
    """The words of `text` as they are matched: "set_timer" -> "set timer", "What's up?" -> "whats up"."""
    return " ".join(token.norm for token in tokenize(text.replace("_", " ")))
