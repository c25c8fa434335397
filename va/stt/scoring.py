"""Judging texts against one utterance: the engine capability the recognizer needs.

An `Utterance` is one encoded clip plus its free (greedy) transcript. The encoder runs once; every
text is then judged by the decoder alone, against the same encoder output:

- `free`: the greedy transcript and its log probability (every token and the end of text).
- `continue_after(prefixes)`: each prefix is forced ("Computer, set volume to"), the decoder
  writes the rest greedily; returns the log probability of the prefix, of the rest and of the end
  of text, so readings that start alike are compared on the whole sentence.
- `alternatives(prefixes, n)`: beam search after each forced prefix: the n most likely endings
  with the log probability of what follows the prefix.

`CT2Utterance` does this with CTranslate2's Whisper (faster-whisper's model): prefix tokens after
the start sequence are forced by `generate`, and `return_logits_vocab` gives the distribution at
every step, the forced ones included. Several prefixes go in one batch (the encoder output is
repeated; each row costs one pass of the decoder's cross-attention over the audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Protocol, Sequence

import numpy as np


SLACK_TOKENS = 8
"""A guided decode writes at most this many tokens more than the free transcript has: the audio
holds no more speech than that, and a talker who goes on would otherwise be written out in full."""


@dataclass(frozen=True)
class Hypothesis:
    text: str
    """The whole text, prefix included, as the decoder writes it (" Computer, set a timer...")."""
    logprob: float
    """Sum of the log probabilities of its tokens and of the end of text."""
    prefix_logprob: float = 0.0
    """The part of `logprob` that the forced prefix took."""
    lead_logprob: float = 0.0
    """The part of `logprob` that the first `lead` characters of the prefix took (the keyword)."""
    closed: Optional["Hypothesis"] = None
    """The prefix alone as the whole text: the prefix, a closing mark if the decoder wrote one
    next (".", "?", "!"), and the end of text (a command without parameters said alone)."""


class Utterance(Protocol):
    free: Hypothesis

    def continue_after(self, prefixes: Sequence[str], lead: str = "", budget: Optional[int] = None) -> List[Hypothesis]: ...

    def alternatives(self, prefixes: Sequence[str], n: int) -> List[List[Hypothesis]]: ...


class CT2Utterance:
    """One clip encoded by a CTranslate2 Whisper model; see the module's docstring."""

    def __init__(self, model: Any, tokenizer: Any, encoded: Any, start: List[int], free: Hypothesis,
                 budget: int, suppress: List[int], frames: Optional[int] = None) -> None:
        self.free = free
        self._model = model
        self._tokenizer = tokenizer
        self._encoded = np.asarray(on_cpu(encoded))[:, :frames]  # [1, frames, width]
        self._start = list(start)
        self._budget = budget
        self._suppress = suppress

    def _batch(self, prefixes: Sequence[str]) -> tuple[Any, List[List[int]]]:
        import ctranslate2

        tokens = [self._tokenizer.encode(prefix) for prefix in prefixes]
        encoded = np.ascontiguousarray(np.repeat(self._encoded, len(prefixes), axis=0))
        return ctranslate2.StorageView.from_array(encoded), tokens

    def continue_after(self, prefixes: Sequence[str], lead: str = "", budget: Optional[int] = None) -> List[Hypothesis]:
        """The greedy ending after each forced prefix, at most `budget` tokens (default: as many as
        the audio's length allows); `lead` (the keyword that opens every prefix) gets its own share
        of the log probability in `Hypothesis.lead_logprob`."""
        if not prefixes:
            return []
        encoded, tokens = self._batch(prefixes)
        outputs = self._model.generate(
            encoded, [self._start + forced for forced in tokens], beam_size=1, max_length=self._max_length(tokens, budget),
            return_logits_vocab=True, suppress_blank=False, suppress_tokens=self._suppress,
        )
        size = len(self._tokenizer.encode(lead)) if lead else 0
        return [self._judged(forced, output, size) for forced, output in zip(tokens, outputs)]

    def _judged(self, forced: List[int], output: Any, lead: int) -> Hypothesis:
        steps = [_log_softmax(np.asarray(row)) for row in output.logits[0]]
        return judged(self._tokenizer, forced, output.sequences_ids[0], steps, lead)

    def alternatives(self, prefixes: Sequence[str], n: int) -> List[List[Hypothesis]]:
        if not prefixes:
            return []
        encoded, tokens = self._batch(prefixes)
        outputs = self._model.generate(
            encoded, [self._start + forced for forced in tokens], beam_size=n, num_hypotheses=n,
            length_penalty=0.0, return_scores=True, max_length=self._max_length(tokens),
            suppress_blank=False, suppress_tokens=self._suppress,
        )
        return [
            [Hypothesis(self._tokenizer.decode(ids), float(score)) for ids, score in zip(out.sequences_ids, out.scores)]
            for out in outputs
        ]

    def _max_length(self, tokens: Sequence[Sequence[int]], budget: Optional[int] = None) -> int:
        """`max_length` for `generate` such that the forced prefix and `budget` more tokens fit.
        CTranslate2 4.8 returns at most max_length // 2 tokens after the start sequence when a
        prefix is forced (measured: max_length 9 cut " Computer, read the news" to " Computer,
        read the"), so the length asked for is twice what is wanted."""
        wanted = len(self._start) + max(map(len, tokens)) + (self._budget if budget is None else budget)
        return min(448, 2 * wanted)


def judged(tokenizer: Any, forced: List[int], ids: List[int], steps: Sequence[np.ndarray], lead: int) -> Hypothesis:
    """The Hypothesis of a decode that forced `forced` and wrote `ids` (forced ones included);
    `steps[i]` is the log distribution token `ids[i]` was taken from (one more row after the last
    token when the decoder went on to choose the end of text)."""
    per_token = [float(step[token]) for step, token in zip(steps, ids)]
    eot = tokenizer.eot
    end = float(steps[len(ids)][eot]) if len(steps) > len(ids) else 0.0
    prefix = sum(per_token[: len(forced)])
    closing = [float(steps[len(forced)][eot]) if len(steps) > len(forced) else end]
    if len(ids) > len(forced) and len(steps) > len(forced) + 1:
        mark = tokenizer.decode([ids[len(forced)]]).strip()
        if mark in (".", "?", "!"):
            closing.append(per_token[len(forced)] + float(steps[len(forced) + 1][eot]))
    best = int(np.argmax(closing))
    lead_logprob = sum(per_token[:lead])
    closed = Hypothesis(tokenizer.decode(ids[: len(forced) + best]), prefix + closing[best], prefix, lead_logprob)
    return Hypothesis(tokenizer.decode(ids), sum(per_token) + end, prefix, lead_logprob, closed)


def on_cpu(encoded: Any) -> Any:
    """The encoder output in host memory (a GPU's must be copied before numpy can repeat it)."""
    if getattr(encoded, "device", "cpu") == "cpu":
        return encoded
    import ctranslate2

    return encoded.to_device(ctranslate2.Device.cpu)


def _log_softmax(row: np.ndarray) -> np.ndarray:
    row = row.astype(np.float32, copy=False)
    peak = row.max()
    return row - peak - np.log(np.exp(row - peak).sum())


def free_hypothesis(text: str, mean_score: Optional[float], tokens: int) -> Hypothesis:
    """The greedy transcript's total log probability from CTranslate2's length-normalised score
    (the sum over its tokens and the end of text, divided by the number of tokens)."""
    return Hypothesis(text, (mean_score or 0.0) * max(tokens, 1))
