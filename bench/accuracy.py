"""Word error rate and command accuracy of an engine on the synthesised corpus."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
    "sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0..999999 -> words ('25' -> 'twenty five'), the form the reference texts use."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


def normalize(text: str) -> List[str]:
    """Lowercase words, digits spelled out, '%' -> 'percent', punctuation and hyphens dropped."""
    text = text.lower().replace("%", " percent ").replace("-", " ")
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} " if len(m.group()) < 7 else m.group(), text)
    return re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "").split()


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


@dataclass
class Score:
    label: str
    clips: str = ""
    errors: int = 0
    words: int = 0
    commands_right: int = 0
    commands_total: int = 0
    misses: List[Tuple[str, str]] = field(default_factory=list)
    """(reference, transcript) of clips whose command came out wrong."""
    transcribe_ms: float = 0.0
    error: Optional[str] = None

    @property
    def wer(self) -> Optional[float]:
        return self.errors / self.words if self.words else None

    @property
    def command_accuracy(self) -> Optional[float]:
        return self.commands_right / self.commands_total if self.commands_total else None


def score(label: str, transcripts: Sequence[Tuple[Any, str]], decider: Any) -> Score:
    """transcripts: (corpus.Clip, text); decider: a bench.decide.Decider (its decide None: WER only)."""
    result = Score(label)
    for clip, text in transcripts:
        reference = normalize(clip.phrase.text)
        result.errors += edit_distance(reference, normalize(text))
        result.words += len(reference)
        expected = clip.phrase.command
        if decider.decide is None or (expected is not None and expected not in decider.known):
            continue
        result.commands_total += 1
        if decider.decide(text) == (expected, clip.phrase.args):
            result.commands_right += 1
        else:
            result.misses.append((clip.phrase.text, text))
    return result
