"""The early decision: may the phrase heard so far run now, before its full pause has passed?

At a short pause (``microphone.early_pause``) the reading of the phrase so far is judged. It runs
early only when all of these hold; otherwise va waits for ``pause_threshold`` as always:

1. it is a command: the server's reading, accepted, with a score of at least
   ``client.early_min_score`` (when the server sends readings), else the client's own matcher
   on the transcript with a score of at least ``client.early_threshold``;
2. nothing can still be going on: the command takes no free text (it could continue), every
   optional parameter was said (it could still come), the last word is not a number or part of
   one ("five …" may become "five hundred", "twenty …" "twenty five"), nor a word that leads to
   more ("for", "to", "by", "and", "the", ...), nor the start of a longer choice ("living" of
   "living room");
3. it is addressed to this client (a command for another client waits for the pause).

Pure: a function of the texts, the registry and the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from va.language.parameters import choice_label
from va.language.matching import Interpretation
from va.language.ending import ends_open
from va.language.words import norms



@dataclass(frozen=True)
class Verdict:
    """Whether to run now, and why (for the debug log and the tests)."""

    early: bool
    why: str


def judge(text: str, found: Interpretation, reading: Any, settings: Any) -> Verdict:
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
    why = open_end(text, command.parameters, found.args)
    if why:
        return Verdict(False, why)
    return Verdict(True, f"complete: {command.name} (score {reading.score if reading else found.score})")


def open_end(text: str, parameters: Sequence[Any], args: dict) -> Optional[str]:
    """Why the phrase could still be going on, or None when it cannot."""
    words = norms(text).split()
    if not words:
        return "nothing said"
    for parameter in parameters:
        if parameter.kind == "str":
            return f"{parameter.name} is free text: it could go on"
        if not parameter.required and not _said(parameter, args.get(parameter.name), words):
            return f"{parameter.name} was not said: it could still come"
    last = words[-1]
    why = ends_open(text)
    if why:
        return why
    for parameter in parameters:
        if any(_longer_choice(words, choice_label(choice)) for choice in parameter.choices):
            return f"{last!r} may begin a longer {parameter.name}"
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
