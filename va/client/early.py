"""The early decision: may the phrase heard so far run now, before its full pause has passed?

At a short quiet the reading of the phrase so far is judged, and the verdict says how much quiet it
needs before it runs (``Verdict.wait``):

- ``microphone.early_pause`` (0.2 s) when it is a command that cannot go on: no parameters, a
  choice said in full, a number that cannot grow ("seventy five", "ten", "twenty five minutes";
  not "seventy", nor "seventeen", which is what Whisper often writes for a "seventy" cut short,
  unless the parameter's ``Range`` ends below what it could become),
  a free-text value said in full that va knows (declared with ``Values``, or one this client ran
  twice before) and that is not the start of another value it heard;
- ``microphone.open_pause`` when it reads as a command that could still grow: free text va has not
  heard before ("turn on the kitchen …" may be "… lights"), a number that can grow ("seventy …"
  may be "seventy five"), an optional parameter not said yet, the start of a longer choice, or a
  number where this client's phrases for the command went on with a word ("set a timer for five
  …" when it was "… minutes" before);
- never (the full ``pause_threshold``) when it is not a command yet, its last word leads on ("to",
  "by", "the", "and", "hundred"), the server's reading disagrees or is not confident, or it is
  addressed to another client.

``Habits`` is what the client learned from the phrases that ran: whether each command's phrases
went on after their last number, and the free-text values said, per parameter name, from phrases
said in one go (without a pause of ``early_pause`` inside: what a hesitation splits is where a
value is most often misheard). Pure apart from that small memory: a function of the
texts, the registry, the settings and the habits.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Deque, Dict, Optional, Sequence, Set

from va.language.ending import ends_in_number, grows_to, leads_on, number_grows, value_grows
from va.language.matching import Interpretation
from va.language.parameters import choice_label
from va.language.words import norms

ARTICLES = frozenset("the a an my our".split())
"""Words a free-text value may start with that do not tell it apart ("the kitchen lights")."""
MAX_VALUES = 200
"""Free-text values remembered per parameter (the oldest go first)."""
ENDINGS_KEPT = 20
"""Last words remembered per command."""
KNOWN_AFTER = 2
"""Runs after which a value heard is known: one misheard phrase ("remind me in ten minutes too")
must not teach a value that a phrase cut at the same word would then run with."""


@dataclass(frozen=True)
class Verdict:
    """Whether to run before the full pause, after how much quiet, and why."""

    early: bool
    why: str
    wait: Optional[float] = None
    """Seconds of quiet the phrase needs before it runs (None: the full pause)."""


class Habits:
    """What this client learned from the phrases that ran (see the module's docstring)."""

    def __init__(self) -> None:
        self._values: Dict[str, "collections.OrderedDict[str, int]"] = {}
        self._endings: Dict[str, Deque[bool]] = {}

    def learn(self, text: str, command: Any, args: dict, values: bool = True) -> None:
        """A phrase ran ``command`` with ``args``: remember how it ended, and (``values``: it was
        said in one go) its free-text values."""
        for parameter in command.parameters if values else ():
            value = value_words(args.get(parameter.name) or "") if parameter.kind == "str" else ""
            if value and isinstance(args.get(parameter.name), str):
                seen = self._values.setdefault(parameter.name, collections.OrderedDict())
                seen[value] = seen.pop(value, 0) + 1
                while len(seen) > MAX_VALUES:
                    seen.popitem(last=False)
        words = norms(text).split()
        if any(parameter.kind in ("int", "float") for parameter in command.parameters) and words:
            self._endings.setdefault(command.name, collections.deque(maxlen=ENDINGS_KEPT)).append(ends_in_number(words))

    def values(self, parameter: Any, times: int = KNOWN_AFTER) -> Set[str]:
        """The known values of a free-text parameter: declared (``Values``), and those that ran
        ``times`` times or more for a parameter of that name ("turn on the coffee machine" teaches
        turn_off's ``device`` too: a home's devices are the same for both)."""
        declared = {value_words(value) for value in getattr(parameter, "values", ())}
        heard = {value for value, count in self._values.get(parameter.name, {}).items() if count >= times}
        return (declared | heard) - {""}

    def goes_on_after_number(self, command: str) -> bool:
        """Whether this command's phrases that ran went on after their last number ("… minutes")."""
        endings = self._endings.get(command)
        return bool(endings) and not any(endings)


def value_words(value: str) -> str:
    """A free-text value as it is compared: normalised words without a leading article."""
    words = norms(value).split()
    while words and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


def judge(text: str, found: Interpretation, reading: Any, settings: Any, habits: Optional[Habits] = None) -> Verdict:
    """``found``: the client's interpretation of ``text``; ``reading``: the server's
    ``va.protocol.Reading`` of the same audio, or None from servers that send none."""
    command = found.command
    if command is None:
        return Verdict(False, f"not a command yet: {found.reason}")
    if found.target is not None:
        return Verdict(False, f"addressed to {found.target}: waits for the pause")
    if reading is not None:
        if not reading.accepted or reading.command != command.name:
            return Verdict(False, f"the server's reading ({reading.command}, {reading.why}) is not this command")
        if reading.score < settings.client.early_min_score:
            return Verdict(False, f"the server's reading scores {reading.score:.2f} < {settings.client.early_min_score:g}")
    elif found.score < settings.client.early_threshold:
        return Verdict(False, f"match score {found.score} < {settings.client.early_threshold:g}")
    words = norms(text).split()
    why = leads_on(words)
    if why:
        return Verdict(False, why)
    microphone = settings.microphone
    why = may_grow(text, command, found.args, habits or Habits())
    if why is None:
        return Verdict(True, f"complete: {command.name} (score {reading.score if reading else found.score})",
                       microphone.early_pause)
    if microphone.open_pause >= microphone.pause_threshold:
        return Verdict(False, why)
    return Verdict(True, f"{why}; runs after {microphone.open_pause:g} s of quiet", microphone.open_pause)


def may_grow(text: str, command: Any, args: dict, habits: Habits) -> Optional[str]:
    """Why the command read in ``text`` could still go on, or None when it cannot."""
    words = norms(text).split()
    for parameter in command.parameters:
        if not parameter.required and not _said(parameter, args.get(parameter.name), words):
            return f"{parameter.name} was not said: it could still come"
        if parameter.kind == "str":
            why = _value_grows(parameter, args.get(parameter.name), habits)
            if why:
                return why
    if not any(ends_in_number([word]) for word in words):  # the numbers were read into what was heard
        why = _inferred_number_grows(command, args)
        if why:
            return why
    if ends_in_number(words):
        why = number_grows(words)
        if why and not _cannot_grow_in_range(command, args):
            return why
        if any(parameter.kind == "float" for parameter in command.parameters) and "." not in words[-1]:
            return f"{words[-1]!r} could go on with \"point\""
        if habits.goes_on_after_number(command.name):
            return f"{command.name} went on after its number before (\"… minutes\")"
    for parameter in command.parameters:
        if any(_longer_choice(words, choice_label(choice)) for choice in parameter.choices):
            return f"{words[-1]!r} may begin a longer {parameter.name}"
    return None


def _cannot_grow_in_range(command: Any, args: dict) -> bool:
    """Whether the last number's parameter has a ``Range`` that what it may become lies above
    ("seventy" for a level of at most 70)."""
    numbers = [(parameter, args.get(parameter.name)) for parameter in command.parameters
               if parameter.kind in ("int", "float") and isinstance(args.get(parameter.name), (int, float))]
    if not numbers:
        return False
    parameter, value = numbers[-1]
    high = getattr(getattr(parameter, "range", None), "max", None)
    grown = grows_to(value)
    return high is not None and grown is not None and grown > high


def _inferred_number_grows(command: Any, args: dict) -> Optional[str]:
    """A reading's number that the transcript does not show ("… to windy" read as 20) is judged by
    its value: one that can grow may be a word still being said."""
    for parameter in command.parameters:
        value = args.get(parameter.name)
        if parameter.kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
            why = value_grows(value)
            if why:
                return f"{parameter.name} was read as {value} from no number heard, and {why}"
    return None


def _value_grows(parameter: Any, value: Any, habits: Habits) -> Optional[str]:
    said = value_words(value) if isinstance(value, str) else ""
    if said not in habits.values(parameter):
        return f"{parameter.name} is free text not heard twice before: it could go on"
    longer = sorted(other for other in habits.values(parameter, times=1) if other.startswith(said + " "))
    if longer:
        return f"{parameter.name} {said!r} may begin {longer[0]!r}"
    return None


def _said(parameter: Any, value: Any, words: Sequence[str]) -> bool:
    """Whether an optional argument was said: not its default, or a choice whose words were heard."""
    if value != parameter.default:
        return True
    if parameter.kind != "choice" or value is None:
        return False
    label = norms(choice_label(value)).split()
    return any(list(words[i : i + len(label)]) == label for i in range(len(words)))


def _longer_choice(words: Sequence[str], label: str) -> bool:
    """Whether the last words said are the beginning, not the whole, of a choice's words."""
    choice = norms(label).split()
    return any(len(choice) > size and list(words[-size:]) == choice[:size] for size in range(1, len(choice)))


def open_end(text: str, parameters: Sequence[Any], args: dict) -> Optional[str]:
    """Why a phrase with these parameters could still be going on (nothing learned), or None."""
    command = SimpleNamespace(name="", parameters=tuple(parameters))
    return leads_on(norms(text).split()) or may_grow(text, command, args, Habits())
