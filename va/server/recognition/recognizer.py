"""The most likely reading of an utterance that is a valid command, judged against the audio.

`read(transcript, grammar, keyword, utterance, settings)` for a client that sent a grammar:

1. The free transcript (greedy, as today) is matched with the client's own rules
   (`va.matching.interpret` over the grammar). When it reads as a command whose numbers lie in
   range, that is the reading: it is the audio's own best text, so its score is 0. No decoder
   work beyond the free decode.
2. Otherwise the grammar guides the decoder. The commands whose names (or the words that open
   their templates) are nearest to the words heard are kept (`settings.commands` of them); for
   each, the keyword and the name are forced as a prefix ("Computer, set volume") and the
   decoder writes the rest, greedily and as `settings.alternatives` beam endings. Each such
   sentence is judged on the whole: log P(prefix, rest, end of text | audio).
3. The most likely sentence that reads as a valid command wins. Its score is its log probability
   minus the free transcript's (a likelihood ratio; the free transcript is the audio's best text,
   so the score is <= 0 up to search error). A reading more than `settings.margin` nats below the
   free transcript is rejected, and `Reading.why` says so with the score: speech that is not a
   command (no keyword, another request, a conversation) stays far below.

Free-text parameters keep working: what follows a forced "play music" is the decoder's own text.

Known values (a text parameter's `values` in the grammar, va.command.Values): when the reading's
free text is none of them, the nearest few (`settings.values`) are judged in its place, after the
words the reading has before it ("Computer, open browser" + " wikipedia"). One wins when its
sentence, plus `settings.value_bonus` nats, is at least as likely as the reading heard: a known
value the audio supports is preferred, while words that sound like none of them stay as heard.
Pure orchestration: the audio is reached only through the `Utterance` (va.stt.scoring).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from thefuzz import fuzz

from va.language.words import LEADING_FILLER, norms, tokenize
from va.language.grammar_registry import GrammarCommand, GrammarRegistry, args_to_wire
from va.language.matching import after_keyword, interpret
from va.server.recognition.prefixes import guided_prefixes, keyword_text, spoken_part
from va.protocol import Reading
from va.stt.scoring import Hypothesis, Utterance

_LOGGER = logging.getLogger(__name__)

ARTICLES = frozenset({"the", "a", "an", "my"})
"""Words before a known value that do not make it another ("the bedroom fan" is "bedroom fan")."""
CLOSING_TOKENS = 2
"""What a command without parameters needs written after its name: a closing mark, the end of text."""


@dataclass(frozen=True)
class RecognizerSettings:
    margin: float = 11.0
    """Nats a reading may lie below the free transcript and still be accepted."""
    keyword_floor: float = 10.0
    """Nats the keyword that opens a guided reading may cost at most (log P(keyword | audio))."""
    commands: int = 3
    """Commands whose prefixes the decoder is forced through when the free transcript does not read."""
    alternatives: int = 3
    """Beam endings per forced prefix (0: the greedy ending only)."""
    threshold: float = 75
    """Fuzzy score a name needs (the client's commands.threshold)."""
    value_bonus: float = 6.0
    """Nats by which a reading with a known value of a free-text parameter is preferred."""
    values: int = 3
    """Known values judged against the audio: those nearest to the words heard."""


def read(
    transcript: str, grammar: GrammarRegistry, keyword: str, utterance: Optional[Utterance],
    settings: RecognizerSettings = RecognizerSettings(),
) -> Reading:
    free = interpret(transcript, grammar, keyword, settings.threshold)
    if free.command is not None and _in_range(free.command, free.args):
        if utterance is not None:
            known = _known_value((free.command, free.args, utterance.free), transcript, keyword, utterance, settings)
            if known is not None:
                return _accepted(known, utterance, f"the free transcript read {_free_text(free)}")
        args = args_to_wire(free.command.parameters, _as_declared(free.command, free.args))
        return Reading(free.command.name, args, 0.0, True, f"the free transcript reads: {free.reason}")
    if utterance is None or not grammar.commands or not transcript.strip():
        return Reading(None, {}, 0.0, False, free.reason)  # no audio to judge, or Whisper heard no speech
    found = _best_guided(transcript, grammar, keyword, utterance, settings)
    if found is None:
        return Reading(None, {}, 0.0, False, f"{free.reason}; no guided reading is a valid command")
    if not _rejection(found[2], utterance, settings):
        found = _known_value(found, found[2].text, keyword, utterance, settings) or found
    command, args, hypothesis = found
    score = hypothesis.logprob - utterance.free.logprob
    wire = args_to_wire(command.parameters, _as_declared(command, args))
    rejection = _rejection(hypothesis, utterance, settings)
    if rejection:
        why = f"{free.reason}; the nearest reading, {command.name}{wire} from {hypothesis.text.strip()!r}, is rejected: {rejection}"
        return Reading(command.name, wire, score, False, why)
    why = (f"guided reading {hypothesis.text.strip()!r}, keyword {hypothesis.lead_logprob:.1f} "
           f"(free transcript did not read: {free.reason})")
    return Reading(command.name, wire, score, True, why)


def _accepted(found: Tuple[Any, dict, Hypothesis], utterance: Utterance, instead: str) -> Reading:
    command, args, hypothesis = found
    score = hypothesis.logprob - utterance.free.logprob
    why = f"known value in {hypothesis.text.strip()!r} ({instead})"
    return Reading(command.name, args_to_wire(command.parameters, args), score, True, why)


def _free_text(free: Any) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in free.args.items() if isinstance(value, str)) or "no text"


def _known_value(
    found: Tuple[Any, dict, Hypothesis], text: str, keyword: str, utterance: Utterance, settings: RecognizerSettings
) -> Optional[Tuple[Any, dict, Hypothesis]]:
    """The reading with a known value in place of its free text ("site='Repeated'" -> "wikipedia"),
    when the audio supports it within `value_bonus` of the reading as heard; None otherwise."""
    command, args, hypothesis = found
    parameter = _open_value(command, args)
    if parameter is None:
        return None
    heard = str(args[parameter.name])
    start = _where(heard, text)
    if start is None:
        return None
    lead = keyword_text(text, keyword, after_keyword(tokenize(text), keyword) is not None)
    budget = CLOSING_TOKENS if parameter is command.parameters[-1] else None
    article = _article(heard)
    texts = [f"{head} {spelled}" for head in _heads(text[:start]) for value in nearest_values(heard, parameter.values, settings.values)
             for spelled in _spellings(value, article)]
    judged = utterance.continue_after(texts, lead, budget)
    candidates = [(command, whole) for judged_one in judged for whole in (judged_one, judged_one.closed) if whole is not None]
    best = _best_valid(candidates, keyword, settings)
    if best is None or _open_value(command, best[1]) is not None or _rejection(best[2], utterance, settings):
        return None
    if best[2].logprob + settings.value_bonus < hypothesis.logprob:
        return None
    return command, _as_declared(command, best[1]), best[2]


def _where(heard: str, text: str) -> Optional[int]:
    """Where the words of a value start in the text they were read from, the last time they occur
    (punctuation between them as the decoder wrote it: "the bedroom, fun"); None: not found."""
    words = heard.split()
    if not words:
        return None
    found = list(re.finditer(r"\W*".join(map(re.escape, words)), text))
    return found[-1].start() if found else None


def _heads(before: str) -> List[str]:
    """What a known value is said after: the words before the value heard, and without the
    prepositions that ended them ("open browser with" of "with a video" for "wikipedia")."""
    words = before.split()
    kept = list(words)
    while kept and tokenize(kept[-1]) and all(token.norm in LEADING_FILLER for token in tokenize(kept[-1])):
        kept.pop()
    heads = [" " + " ".join(words)]
    return heads + [" " + " ".join(kept)] if kept != words and len(kept) > 1 else heads


def _spellings(value: str, article: str = "") -> List[str]:
    """A value as declared and, when it is in lower case, as a name is written ("Miles Davis"):
    the decoder writes names capitalised, and judges them so. After "the" when the words heard
    had it ("the best lamp": "the desk lamp") and the value has no article of its own."""
    titled = " ".join(word[:1].upper() + word[1:] for word in value.split())
    forms = [value, titled] if value.islower() and titled != value else [value]
    if article and norms(value).split()[0] not in ARTICLES:
        forms = [f"{article} {form}" for form in forms]
    return forms


def _article(heard: str) -> str:
    """"the" as written when the words heard open with it, else ""."""
    first = heard.split()[0] if heard.split() else ""
    return first if norms(first) == "the" else ""


def _open_value(command: Any, args: dict) -> Any:
    """The first text parameter with known values whose argument is none of them (None: none is)."""
    for parameter in command.parameters:
        values = getattr(parameter, "values", ())
        if values and isinstance(args.get(parameter.name), str) and not _is_known(args[parameter.name], values):
            return parameter
    return None


def _is_known(value: str, values: Sequence[str]) -> bool:
    return _declared(value, values) is not None


def _declared(value: str, values: Sequence[str]) -> Optional[str]:
    """The known value the words are, as declared ("the Bedroom Fan." -> "bedroom fan"), else None."""
    said = _bare(value)
    return next((known for known in values if _bare(known) == said), None)


def _bare(text: str) -> str:
    words = norms(text).split()
    return " ".join(words[1:] if len(words) > 1 and words[0] in ARTICLES else words)


def _as_declared(command: Any, args: dict) -> dict:
    """The arguments with each known value as declared."""
    values = {parameter.name: parameter.values for parameter in command.parameters if getattr(parameter, "values", ())}
    return {name: (_declared(value, values[name]) or value) if name in values and isinstance(value, str) else value
            for name, value in args.items()}


def nearest_values(heard: str, values: Sequence[str], count: int) -> List[str]:
    """The `count` known values that read nearest to the words heard, nearest first."""
    said = norms(heard)
    return sorted(values, key=lambda value: -fuzz.ratio(said, norms(value)))[:count]


def _best_guided(
    transcript: str, grammar: GrammarRegistry, keyword: str, utterance: Utterance, settings: RecognizerSettings
) -> Optional[Tuple[Any, dict, Hypothesis]]:
    """Cheapest first, each round only while the reading is unsettled: the greedy ending after the
    nearest command's prefix; after the others'; beam endings; each value of a bool or choice
    parameter said after the name, which also checks a good reading of such a command (the greedy
    ending picks one value, "lock front door", where the audio may favour another)."""
    heard = after_keyword(tokenize(transcript), keyword) is not None
    lead = keyword_text(transcript, keyword, heard)
    candidates: List[Tuple[Any, Hypothesis]] = []
    if not heard:  # heard again with the keyword forced: what follows it is written as a request
        again = utterance.continue_after([lead], lead)[0]
        candidates += _reading_of(again, grammar, keyword, settings)
        found = _best_valid(candidates, keyword, settings)
        if found is not None and _good(found, utterance, settings) and not _values(found[0]):
            return found  # the decoder's own words after the keyword: forcing them again would write the same
        transcript = again.text
    prefixes = guided_prefixes(transcript, grammar, keyword, settings.commands)
    judged = utterance.continue_after([text for _, text in prefixes[:1]], lead, _budget(prefixes[:1]))
    candidates += _whole(prefixes[:1], judged)
    found = _best_valid(candidates, keyword, settings)
    if judged and judged[0].lead_logprob < -settings.keyword_floor:
        return found  # every guided reading opens with the same keyword: none can be accepted
    nearest = prefixes[0][0] if prefixes else None
    if _unsettled(found, nearest, utterance, settings) and len(prefixes) > 1:
        judged += utterance.continue_after([text for _, text in prefixes[1:]], lead, _budget(prefixes[1:]))
        candidates += _whole(prefixes[1:], judged[1:])
        found = _best_valid(candidates, keyword, settings)
    if _unsettled(found, nearest, utterance, settings) and settings.alternatives > 1:
        candidates += _endings(utterance, prefixes, judged, settings.alternatives)
        found = _best_valid(candidates, keyword, settings)
    if _unsettled(found, nearest, utterance, settings) or (found is not None and _values(found[0])):
        if found is not None and _good(found, utterance, settings):  # the reading's and the nearest's values
            prefixes = [(command, text) for command, text in prefixes if command in (nearest, found[0])]
        candidates += _value_readings(utterance, prefixes, lead)
        found = _best_valid(candidates, keyword, settings)
    return found


def _reading_of(hypothesis: Hypothesis, grammar: GrammarRegistry, keyword: str,
                settings: RecognizerSettings) -> List[Tuple[Any, Hypothesis]]:
    """(command, hypothesis) when the text reads as one of the grammar's commands, else nothing."""
    reading = interpret(hypothesis.text, grammar, keyword, settings.threshold)
    return [(reading.command, hypothesis)] if reading.command is not None else []


def _value_readings(utterance: Utterance, prefixes: List[Tuple[Any, str]], lead: str) -> List[Tuple[Any, Hypothesis]]:
    """Each value of a bool or choice parameter said after the name ("lock garage", "lock the
    garage"), judged with what the decoder writes after it, and also as the last words said ("call
    grandma" under a talker who goes on)."""
    spelled = [(command, f"{text} {value}") for command, text in prefixes for value in _values(command)]
    judged = utterance.continue_after([text for _, text in spelled], lead)
    return [(command, hypothesis) for (command, _), whole in zip(spelled, judged)
            for hypothesis in (whole, whole.closed) if hypothesis is not None]


def _budget(prefixes: List[Tuple[Any, str]]) -> Optional[int]:
    """Commands without parameters are judged said alone (`_whole`): the name, a closing mark and
    the end of the text, so their decoder need not write on."""
    return None if any(command.parameters for command, _ in prefixes) else CLOSING_TOKENS


def _whole(prefixes: List[Tuple[Any, str]], judged: List[Hypothesis]) -> List[Tuple[Any, Hypothesis]]:
    """(command, sentence) for each greedy ending; a command without parameters is judged said
    alone (its name, then the end of the text): what follows it is not part of it."""
    return [
        (command, hypothesis.closed if not command.parameters and hypothesis.closed else hypothesis)
        for (command, _), hypothesis in zip(prefixes, judged)
    ]


def _unsettled(found: Optional[Tuple[Any, dict, Hypothesis]], nearest: Any, utterance: Utterance,
               settings: RecognizerSettings) -> bool:
    """Worth another round: no good reading yet, or a good one for another command than the nearest
    ("turn off my family" read as turn_on before turn_off's device was tried)."""
    return not _good(found, utterance, settings) or (found is not None and found[0] is not nearest)


def _endings(utterance: Utterance, prefixes: List[Tuple[Any, str]], judged: List[Hypothesis], n: int) -> list:
    """Beam endings after the prefixes of commands with parameters, judged with their prefix."""
    with_args = [index for index, (command, _) in enumerate(prefixes) if command.parameters]
    endings_of = utterance.alternatives([prefixes[index][1] for index in with_args], n)
    candidates = []
    for index, endings in zip(with_args, endings_of):
        greedy = judged[index]
        for ending in endings:
            logprob = greedy.prefix_logprob + ending.logprob
            candidates.append((prefixes[index][0], Hypothesis(ending.text, logprob, greedy.prefix_logprob, greedy.lead_logprob)))
    return candidates


def _good(found: Optional[Tuple[Any, dict, Hypothesis]], utterance: Utterance, settings: RecognizerSettings) -> bool:
    return found is not None and not _rejection(found[2], utterance, settings)


def _rejection(hypothesis: Hypothesis, utterance: Utterance, settings: RecognizerSettings) -> str:
    """Why the audio does not support a guided reading well enough ("" when it does)."""
    score = hypothesis.logprob - utterance.free.logprob
    if score < -settings.margin:
        return f"score {score:.1f} < -{settings.margin:g}"
    if hypothesis.lead_logprob < -settings.keyword_floor:
        return f"keyword {hypothesis.lead_logprob:.1f} < -{settings.keyword_floor:g}"
    return ""


def _best_valid(
    candidates: List[Tuple[Any, Hypothesis]], keyword: str, settings: RecognizerSettings
) -> Optional[Tuple[Any, Dict[str, Any], Hypothesis]]:
    """The most likely candidate that reads as a valid command, a known value counting
    `settings.value_bonus` nats more."""
    best, rank = None, float("-inf")
    for command, hypothesis in sorted(candidates, key=lambda candidate: -candidate[1].logprob):
        if hypothesis.logprob + settings.value_bonus <= rank:
            break  # sorted: nothing later can rank higher
        for _, text in spoken_part(hypothesis.text, keyword):  # as decoded, then without an opener
            reading = interpret(text, _Only(command), keyword, settings.threshold)
            if reading.command is not None:
                break
        if reading.command is not None and _in_range(command, reading.args):
            known = any(getattr(p, "values", ()) for p in command.parameters) and _open_value(command, reading.args) is None
            mine = hypothesis.logprob + (settings.value_bonus if known else 0.0)
            if mine > rank:
                best, rank = (command, reading.args, hypothesis), mine
    return best


def _values(command: Any) -> List[str]:
    """The words for each value of the command's first required bool or choice parameter (a
    choice also after "the": "turn on the radio")."""
    for spec in command.spec.params:
        if spec.required and spec.kind == "bool":
            return ["on", "off"]
        if spec.required and spec.kind == "choice":
            values = [choice.replace("_", " ") for choice in spec.choices]
            return values + [f"the {value}" for value in values]
    return []


def _in_range(command: Any, args: dict) -> bool:
    specs = {param.name: param for param in getattr(getattr(command, "spec", None), "params", ())}
    return all(specs[name].accepts(value) for name, value in args.items() if name in specs)


class _Only:
    """A registry of one command: a forced prefix decides the command, the text its arguments."""

    def __init__(self, command: GrammarCommand) -> None:
        self.commands = {command.name: command}

    def phrases(self) -> Iterator[Tuple[str, GrammarCommand]]:
        return iter([(phrase, command) for command in self.commands.values() for phrase in command.phrases])
