"""The forced prefixes a guided reading starts from: the keyword as the decoder wrote it, the words
the speaker put before the command (the opener), and the command's spoken name.

`guided_prefixes(transcript, grammar, keyword, commands)` ranks the grammar's commands by how near
their names (or the words that open their templates) are to the words heard, and returns
(command, forced prefix) for the nearest, best first: " Computer. Set volume".

The opener: people say "computer, could you set a timer", and the decoder writes what it heard
there ("Computer kill you set a timer"). When the keyword is heard and a command's name matches
better a few words later than right after it, those words are kept in the prefix (" Computer kill
you set timer"): forcing the name straight after the keyword would make the decoder account for
"could you" with the name, and even the right reading would score far below the free transcript.
`spoken_part` drops the opener again before a reading is interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

from thefuzz import fuzz

from va.language.grammar import template_parts
from va.language.matching import LEAD_INS, _match_phrase, after_keyword
from va.language.words import NAME_FILLER, Token, tokenize
from va.language.words import join_raw as _raw, without_filler as _bare

MAX_OPENER = 3
"""Most words heard between the keyword and a command's name that stay in its prefix."""
OPENER_SCORE = 80
OPENER_GAIN = 10
"""A name heard after an opener must match at least this well, and this much better than right
after the keyword ("start to start watching" is a garbled name, not an opener)."""


def guided_prefixes(transcript: str, grammar: Any, keyword: str, commands: int) -> List[Tuple[Any, str]]:
    """(command, forced prefix) for the `commands` nearest commands, best first."""
    tokens = tokenize(transcript)
    rest = after_keyword(tokens, keyword)
    lead = keyword_text(transcript, keyword, rest is not None)
    words = rest if rest is not None else tokens
    ranked = []
    for command in grammar.commands.values():
        openings = [phrase for phrase in (*command.phrases, *map(_opening, command.sentences)) if phrase]
        if rest is None:  # the keyword was misheard as the first words: nothing before the name is kept
            heard = max((_Heard(_match_phrase(words, phrase, command).score, phrase, phrase, 0) for phrase in openings), key=_rank)
        else:
            heard = max((_heard(words, phrase) for phrase in openings), key=_rank)
        ranked.append((heard, command))
    ranked.sort(key=lambda entry: _rank(entry[0]), reverse=True)
    return [(command, _join(lead, heard.said)) for heard, command in ranked[:commands]]


@dataclass(frozen=True)
class _Heard:
    score: int
    phrase: str
    said: str
    """The prefix after the keyword: the opener as heard, then the name (as heard when it is the
    name with filler inside, "set a timer"; else as spelled)."""
    opener: int
    """Words other than filler before the name."""


def _rank(heard: _Heard) -> tuple:
    """Best score; then no opener; then the longer phrase ("set volume" over "set a")."""
    return heard.score, -heard.opener, len(heard.phrase)


def _heard(words: Sequence[Token], phrase: str) -> _Heard:
    """Where in the first words after the keyword `phrase` is heard best: right after it (filler
    skipped), or after a few other words when it is heard clearly there and much better."""
    norms = [token.norm for token in words]
    found = [(*_window(norms, phrase, start), start) for start in range(max(min(MAX_OPENER, len(words) - 1), 0) + 1)]
    plain = max(score for score, _, start in found if start <= _fillers(norms))
    score, length, start = max(found, key=lambda item: (item[0], -item[2]))
    if start > _fillers(norms) and (score < OPENER_SCORE or score < plain + OPENER_GAIN):
        score, length, start = max((item for item in found if item[2] <= _fillers(norms)), key=lambda item: item[0])
    window = norms[start : start + length]
    name = _raw(words[start : start + length]) if _bare(window) == _bare(phrase.split()) else phrase
    opener = sum(norm not in NAME_FILLER for norm in norms[:start])
    return _Heard(score, phrase, " ".join(part for part in (_raw(words[:start]), name) if part), opener)


def _window(norms: Sequence[str], phrase: str, start: int) -> Tuple[int, int]:
    """(score, words used) of `phrase` heard at `start`, as va.language.matching compares names."""
    size = len(phrase.split())
    best = (0, size)
    for length in range(max(1, size - 1), size + 3):
        if start + length > len(norms):
            break
        said = norms[start : start + length]
        score = max(fuzz.ratio(" ".join(said), phrase), fuzz.ratio(_bare(said), _bare(phrase.split())) if _bare(said) else 0)
        best = max(best, (score, length), key=lambda item: item[0])
    return best


def _fillers(norms: Sequence[str]) -> int:
    count = 0
    while count < min(len(norms), MAX_OPENER) and norms[count] in NAME_FILLER:
        count += 1
    return count


def spoken_part(text: str, keyword: str) -> Sequence[Tuple[int, str]]:
    """A decoded reading as the matcher should read it: the text, then the text without 1, 2, ...
    MAX_OPENER words after the keyword (the opener), as (words dropped, text)."""
    tokens = tokenize(text)
    rest = after_keyword(tokens, keyword)
    if rest is None:
        return [(0, text)]
    head = _raw(tokens[: len(tokens) - len(rest)])
    return [(0, text)] + [(drop, f"{head} {_raw(rest[drop:])}") for drop in range(1, min(MAX_OPENER, len(rest) - 1) + 1)]


def keyword_text(transcript: str, keyword: str, heard: bool) -> str:
    """The keyword as the decoder wrote it (" Computer,"), else as it usually writes it."""
    if heard:
        size = len(keyword.split())
        words = transcript.split()
        lead_in = 1 if words and tokenize(words[0]) and tokenize(words[0])[0].norm in LEAD_INS else 0
        lead = words[: lead_in + size]
        lead[-1] = lead[-1].partition("-")[0] or lead[-1]  # "Computer-pause music": the keyword alone
        return " " + " ".join(lead)
    return " " + keyword[:1].upper() + keyword[1:] + ","


def _opening(sentence: str) -> str:
    """The words of a template before its first slot ("set a {minutes} minute timer" -> "set a")."""
    words = []
    for kind, text in template_parts(sentence):
        if kind == "slot":
            break
        words.append(text)
    return " ".join(words)


def _join(lead: str, phrase: str) -> str:
    if lead.rstrip().endswith((".", "!", "?")):
        phrase = phrase[:1].upper() + phrase[1:]
    return f"{lead} {phrase}"
