"""From a transcript to a command and its arguments: `interpret(text, registry, keyword, threshold)`.

1. Keyword: the transcript must start with it (after an optional "hey", "ok", "okay", "hi"),
   compared without case or punctuation and fuzzily (fuzz ratio >= KEYWORD_SCORE), because
   Whisper writes "Computer,", "computers", "Komputer.". Otherwise nothing runs.
2. Name: the words after the keyword are compared with every spoken name and alias, as a prefix:
   a name of n words against the first n-1 .. n+2 words said, with and without filler
   ("please", "a", "the"), optionally after a few leading filler words. The best score must reach
   `threshold`, and the runner-up (another command) must be more than AMBIGUITY_MARGIN behind,
   unless the best is an exact match.
3. Arguments: the words after the name go to `va.language.arguments.bind`.

Before 2, the words are read with every sentence template (`va.language.sentences`): a template
that reads all of them with a score of at least `threshold` wins, with its slots as arguments.

Pure and total: `interpret` never raises, whatever the text; when nothing should run,
`Interpretation.command` is None and `reason` says why.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, Mapping, Optional, Protocol, Sequence, TypeVar

from thefuzz import fuzz

from va.language.arguments import Parameter, bind
from va.language.grammar_registry import args_from_wire
from va.language.sentences import SentenceMatch, match_sentence
from va.language.words import NAME_FILLER, Token, join_raw, tokenize, without_filler

_LOGGER = logging.getLogger(__name__)

KEYWORD_SCORE = 80
AMBIGUITY_MARGIN = 5
NEAREST = 3
LEAD_INS = frozenset({"hey", "ok", "okay", "hi", "hello", "oh"})
_MAX_LEADING_FILLER = 4


class Spoken(Protocol):
    """A command as matching sees it: a va.commands.registry.Command, or another client's
    va.language.grammar.GrammarCommand."""

    @property
    def name(self) -> str: ...
    @property
    def phrases(self) -> tuple[str, ...]: ...
    @property
    def parameters(self) -> Sequence[Parameter]: ...
    @property
    def sentences(self) -> tuple[str, ...]: ...


C = TypeVar("C", bound=Spoken)
C_co = TypeVar("C_co", bound=Spoken, covariant=True)


class Commands(Protocol[C_co]):
    """The commands matching chooses from: a va.commands.registry.Registry, or a GrammarRegistry."""

    @property
    def commands(self) -> Mapping[str, C_co]: ...
    def phrases(self) -> Iterator[tuple[str, C_co]]: ...


@dataclass(frozen=True)
class Interpretation(Generic[C]):
    keyword: bool
    command: Optional[C] = None
    args: dict = field(default_factory=dict)
    score: int = 0
    reason: str = ""
    nearest: tuple[tuple[str, int], ...] = ()
    target: str | None = None
    """Another client's name when the words address it (va.language.targeting); None: here."""

    @property
    def ok(self) -> bool:
        return self.command is not None

    def to_dict(self) -> dict:
        return {
            "keyword": self.keyword,
            "command": self.command.name if self.command is not None else None,
            "args": {name: _jsonable(value) for name, value in self.args.items()},
            "score": self.score,
            "reason": self.reason,
            **({"target": self.target} if self.target is not None else {}),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, (str, int, float, bool)) else value.name
    return value


@dataclass(frozen=True)
class _Match(Generic[C]):
    command: C
    phrase: str
    score: int
    used: int  # words taken by the name, leading filler included


def interpret(text: str, registry: Commands[C], keyword: str = "computer", threshold: float = 75) -> Interpretation[C]:
    try:
        return _interpret(text, registry, keyword, threshold)
    except Exception:  # a bug here must cost one utterance, never the client
        _LOGGER.exception("could not interpret %r", text)
        return Interpretation(keyword=False, reason="internal error while interpreting the transcript")


def _interpret(text: str, registry: Commands[C], keyword: str, threshold: float) -> Interpretation[C]:
    tokens = tokenize(text if isinstance(text, str) else "")
    rest = after_keyword(tokens, keyword)
    if rest is None:
        return Interpretation(keyword=False, reason=f"no keyword {keyword!r} at the start of {text.strip()!r}")
    return resolve(rest, registry, threshold)


def resolve(rest: Sequence[Token], registry: Commands[C], threshold: float) -> Interpretation[C]:
    """Steps 2 and 3 for the words after the keyword (or after the name of the client addressed)."""
    heard = join_raw(rest)
    if not rest:
        return Interpretation(keyword=True, reason="keyword heard, but no command after it")
    sentence = _best_sentence(rest, registry)
    if sentence is not None and sentence[1].score >= threshold:
        command, found = sentence
        args = _with_defaults(command, found.args)
        reason = f"heard {heard!r}: matched the sentence {found.template!r} ({found.score})"
        return Interpretation(True, command, args, found.score, reason)
    matches = _best_per_command(rest, registry)
    nearest = tuple((m.phrase, m.score) for m in matches[:NEAREST])
    best = matches[0] if matches else None
    if best is None or best.score < threshold:
        return Interpretation(True, None, {}, best.score if best else 0, _no_match(heard, nearest), nearest)
    runner_up = matches[1] if len(matches) > 1 else None
    if runner_up and best.score < 100 and best.score - runner_up.score < AMBIGUITY_MARGIN:
        reason = (
            f"heard {heard!r}: too close to tell apart: {best.phrase!r} ({best.score}) "
            f"and {runner_up.phrase!r} ({runner_up.score})"
        )
        return Interpretation(True, None, {}, best.score, reason, nearest)
    binding = bind(best.command.parameters, rest[best.used :])
    if binding.error:
        reason = f"heard {heard!r}: {best.command.name} not run: {binding.error}"
        return Interpretation(True, None, {}, best.score, reason, nearest)
    reason = f"heard {heard!r}: matched {best.phrase!r} ({best.score})"
    return Interpretation(True, best.command, binding.args, best.score, reason, nearest)


def _best_sentence(words: Sequence[Token], registry: Commands[C]) -> tuple[C, SentenceMatch] | None:
    """The command whose sentence template reads all the words best (None: no template fits)."""
    best: tuple[C, SentenceMatch] | None = None
    for command in registry.commands.values():
        for template in command.sentences:
            found = match_sentence(words, template, command.parameters)
            if found is not None and (best is None or found.score > best[1].score):
                best = (command, found)
    return best


def _with_defaults(command: Spoken, args: dict) -> dict:
    return {p.name: args[p.name] if p.name in args else p.default for p in command.parameters}


def _no_match(heard: str, nearest: Sequence[tuple[str, int]]) -> str:
    if not nearest:
        return f"heard {heard!r}: no commands are enabled"
    listed = ", ".join(f"{phrase!r} ({score})" for phrase, score in nearest)
    return f"heard {heard!r}: no command matched well enough; nearest: {listed}"


def after_keyword(tokens: Sequence[Token], keyword: str) -> Sequence[Token] | None:
    """The words after the keyword, or None when the transcript does not start with it."""
    wanted = "".join(token.norm for token in tokenize(keyword))
    if not wanted:
        return tokens
    size = len(tokenize(keyword))
    starts = [0, 1] if tokens and tokens[0].norm in LEAD_INS else [0]
    tokens = _unglued(tokens, starts[-1], wanted)
    for start in starts:
        if len(tokens) < start + size:
            break
        if _is_keyword(tokens[start : start + size], wanted):
            rest = tokens[start + size :]
            while len(rest) > size and _is_keyword(rest[:size], wanted):
                rest = rest[size:]  # "Computer, computer, what time is it?"
            return rest
    return None


def _unglued(tokens: Sequence[Token], last: int, wanted: str) -> Sequence[Token]:
    """Whisper writes "Computer-pause music.": a word hyphenated to the keyword is two words."""
    for index in range(min(last + 1, len(tokens))):
        head, dash, tail = tokens[index].raw.partition("-")
        if dash and tail and fuzz.ratio(tokenize(head)[0].norm if tokenize(head) else "", wanted) >= KEYWORD_SCORE:
            return (*tokens[:index], *tokenize(head), *tokenize(tail), *tokens[index + 1 :])
    return tokens


def _is_keyword(tokens: Sequence[Token], wanted: str) -> bool:
    return fuzz.ratio("".join(token.norm for token in tokens), wanted) >= KEYWORD_SCORE


def _best_per_command(words: Sequence[Token], registry: Commands[C]) -> list[_Match[C]]:
    best: dict[int, _Match[C]] = {}
    for phrase, command in registry.phrases():
        match = _match_phrase(words, phrase, command)
        current = best.get(id(command))
        if current is None or _rank(match) < _rank(current):
            best[id(command)] = match
    return sorted(best.values(), key=_rank)


def _rank(match: _Match[Any]) -> tuple:
    """Sort key, best first. On equal scores the longer phrase wins ("volume up" over "volume",
    "search for" over "search"), then the one that used fewer words."""
    return (-match.score, -len(match.phrase.split()), match.used)


def _match_phrase(words: Sequence[Token], phrase: str, command: C) -> _Match[C]:
    norms = [token.norm for token in words]
    size = len(phrase.split())
    bare_phrase = without_filler(phrase.split())
    result = _Match(command, phrase, 0, 0)
    leading = 0
    while leading < min(len(norms), _MAX_LEADING_FILLER) and norms[leading] in NAME_FILLER:
        leading += 1
    for skip in range(leading + 1):
        for length in range(max(1, size - 1), size + 3):
            if skip + length > len(norms):
                break
            said = norms[skip : skip + length]
            score = fuzz.ratio(" ".join(said), phrase)
            bare_said = without_filler(said)
            if bare_phrase and bare_said:
                score = max(score, fuzz.ratio(bare_said, bare_phrase))
            if score > result.score:
                result = _Match(command, phrase, score, skip + length)
    return result


def from_reading(reading: Any, registry: Commands[C]) -> Interpretation[C] | None:
    """The server's reading (va.protocol.Reading) as this client's decision; None when it does not
    fit this registry (a command or arguments the client no longer has): then the client matches
    the transcript itself."""
    if not reading.accepted or reading.command is None:
        heard = "no keyword" not in reading.why
        return Interpretation(keyword=heard, reason=f"the server's reading was rejected: {reading.why}")
    command = next((c for c in registry.commands.values() if c.name == reading.command), None)
    args = args_from_wire(command.parameters, reading.args) if command is not None else None
    if command is None or args is None:
        _LOGGER.warning("the server's reading %s%s does not fit the commands here", reading.command, reading.args)
        return None
    return Interpretation(True, command, args, round(reading.score), f"the server's reading: {reading.why}")
