"""Words addressed to another client: "computer, kitchen, turn on the radio".

`interpret_addressed(text, registry, targets, keyword, threshold)` is `va.language.matching.interpret`
that also knows the other clients (`Target`s, from the server's directory). Right after the
keyword (optionally after "in the", "on the", "at the"), or at the end after "in"/"on"/"at",
the words may name a client or an area; what is left is matched against that client's commands
with the same matching and typed arguments as local ones, and the `Interpretation` carries the
client's name in `target`. When the name matched is this client's own, or the addressed client
has no such command but this one has one whose name begins with those words ("kitchen timer"),
it runs here. Pure and total, like `interpret`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

from thefuzz import fuzz

from va.language.words import Token, tokenize
from va.language.grammar import CommandSpec, Grammar, GrammarError
from va.language.grammar_registry import GrammarRegistry
from va.language.matching import Interpretation, after_keyword, interpret, resolve

_LOGGER = logging.getLogger(__name__)

TARGET_SCORE = 85
"""fuzz ratio the words need against a client's name or area (names are short: be strict)."""
_BEFORE = ("in the", "on the", "at the", "in", "on", "at", "the")
_MAX_NAME_WORDS = 3


@dataclass(frozen=True)
class Target:
    """A client the words may address."""

    name: str
    area: Optional[str]
    commands: Any
    """A `va.registry.Registry` for this client, a `GrammarRegistry` for another."""
    own: bool = False
    online: bool = True

    def spoken_names(self) -> list[str]:
        return [_squash(word) for word in (self.name, self.area) if word and _squash(word)]


def commands_from_grammar(grammar: Optional[dict], spoken: Sequence[str] = ()) -> GrammarRegistry:
    """Another client's commands from the directory: its hello's `grammar`, or, from a client that
    sent none (or a version this code does not read), its spoken names (commands without parameters)."""
    parsed = None
    if isinstance(grammar, dict):
        try:
            parsed = Grammar.from_dict(grammar)
        except GrammarError as error:
            _LOGGER.warning("Ignoring another client's grammar: %s", error)
    if parsed is None:
        parsed = Grammar(tuple(CommandSpec(name.replace(" ", "_"), (name,)) for name in spoken))
    return GrammarRegistry(parsed)


# --- addressing ----------------------------------------------------------------------------


def interpret_addressed(
    text: str, registry: Any, targets: Sequence[Target], keyword: str = "computer", threshold: float = 75
) -> Interpretation:
    """`interpret`, aware of other clients; `target` is set when another client should run it."""
    try:
        return _interpret_addressed(text, registry, targets, keyword, threshold)
    except Exception:  # like interpret: a bug here costs one utterance, never the client
        _LOGGER.exception("could not interpret %r", text)
        return Interpretation(keyword=False, reason="internal error while interpreting the transcript")


def _interpret_addressed(text: str, registry: Any, targets: Sequence[Target], keyword: str, threshold: float) -> Interpretation:
    rest = after_keyword(tokenize(text if isinstance(text, str) else ""), keyword)
    addressed = address(rest, targets) if rest else None
    if addressed is None:
        return interpret(text, registry, keyword, threshold)
    named, words = addressed
    if any(target.own for target in named):
        here = resolve(words, registry, threshold)
        if here.ok or all(target.own for target in named):
            return here
    readings = [replace(resolve(words, t.commands, threshold), target=t.name) for t in named if not t.own]
    runnable = [reading for reading in readings if reading.ok]
    if len(runnable) == 1:
        return runnable[0]
    if len(runnable) > 1:
        names = " and ".join(str(reading.target) for reading in runnable)
        return Interpretation(True, None, reason=f"{names} can all do that: say which one by its name")
    local = interpret(text, registry, keyword, threshold)
    if local.ok and local.score == 100:  # a command of this client's whose name starts like a client's
        return local
    first = readings[0]
    return replace(first, reason=f"{first.target}: {first.reason}")


def address(words: Sequence[Token], targets: Sequence[Target]) -> Optional[tuple[list[Target], Sequence[Token]]]:
    """The clients the words name (at the start, or at the end after in/on/at) and the words
    left; None when they name none."""
    norms = [token.norm for token in words]
    for skip in _leading(norms):
        for size in range(1, _MAX_NAME_WORDS + 1):
            if skip + size >= len(norms):
                break
            named = _named("".join(norms[skip : skip + size]), targets)
            if named:
                return named, words[skip + size :]
    for size in range(1, _MAX_NAME_WORDS + 1):
        end = len(norms) - size
        before = _preposition_before(norms, end)
        if before and end - before > 0:
            named = _named("".join(norms[end:]), targets)
            if named:
                return named, words[: end - before]
    return None


def _leading(norms: Sequence[str]) -> list[int]:
    skips = [0]
    for before in _BEFORE:
        size = len(before.split())
        if norms[:size] == before.split():
            skips.append(size)
    return skips


def _preposition_before(norms: Sequence[str], end: int) -> int:
    """How many words before `end` are "in the" / "in" (etc.); 0 when none."""
    for before in _BEFORE[:-1]:
        size = len(before.split())
        if end - size >= 0 and list(norms[end - size : end]) == before.split():
            return size
    return 0


def _named(said: str, targets: Sequence[Target]) -> list[Target]:
    scored = [(max(fuzz.ratio(said, name) for name in t.spoken_names()), t) for t in targets if t.spoken_names()]
    best = max((score for score, _ in scored), default=0)
    return [target for score, target in scored if score == best] if best >= TARGET_SCORE else []


def _squash(name: str) -> str:
    """A name as the words compared with it: "living-room" -> "livingroom"."""
    return "".join(token.norm for token in tokenize(name.replace("-", " ").replace("_", " ")))
