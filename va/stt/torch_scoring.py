"""Judging texts against one utterance with openai-whisper's PyTorch decoder (CPU or CUDA).

The same capability as va.stt.scoring.CT2Utterance (see that module for what the recognizer asks
of it), written on the decoder itself: the encoder output is computed once, on first use (most
free transcripts read as a command and never need it), then each forced prefix is decoded
greedily with whisper's key/value cache, and `alternatives` runs a small beam search after it.
Log probabilities are taken after the same token suppression as openai-whisper's own decoding.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from va.stt.scoring import Hypothesis, judged


class TorchUtterance:
    """One clip for an openai-whisper model; `encode()` gives its encoder output when first asked."""

    def __init__(self, model: Any, tokenizer: Any, encode: Callable[[], Any], start: List[int], free: Hypothesis,
                 budget: int) -> None:
        self.free = free
        self._model = model
        self._tokenizer = tokenizer
        self._encode = encode
        self._features: Any = None
        self._start = list(start)
        self._budget = budget
        self._suppressed = suppressed_tokens(tokenizer, model.dims.n_vocab)

    def continue_after(self, prefixes: Sequence[str], lead: str = "", budget: Optional[int] = None) -> List[Hypothesis]:
        size = len(self._tokenizer.encode(lead)) if lead else 0
        limit = self._budget if budget is None else budget
        hypotheses = []
        for prefix in prefixes:
            forced = self._tokenizer.encode(prefix)
            ids, steps = self._greedy(forced, limit)
            hypotheses.append(judged(self._tokenizer, forced, ids, steps, size))
        return hypotheses

    def alternatives(self, prefixes: Sequence[str], n: int) -> List[List[Hypothesis]]:
        return [self._beam(self._tokenizer.encode(prefix), n) for prefix in prefixes]

    def _audio(self) -> Any:
        if self._features is None:
            self._features = self._encode()
        return self._features

    def _greedy(self, forced: List[int], budget: int) -> tuple[List[int], List[np.ndarray]]:
        """The forced tokens and what the decoder writes after them (at most `budget` more), with the
        log distribution each was taken from, and the one after the last when the decoder chose the
        end of text."""
        import torch

        cache, hooks = self._model.install_kv_cache_hooks()
        try:
            with torch.no_grad():
                tokens = torch.tensor([self._start + forced], device=self._audio().device)
                logits = self._model.decoder(tokens, self._audio(), kv_cache=cache)[0]
                steps = [self._log_probs(row) for row in logits[len(self._start) - 1:]]
                ids = list(forced)
                while len(ids) - len(forced) < budget:
                    token = int(np.argmax(steps[-1]))
                    if token == self._tokenizer.eot:
                        break
                    ids.append(token)
                    if len(ids) - len(forced) == budget:
                        break  # out of budget: no end of text judged, as CTranslate2 stops at max_length
                    step = torch.tensor([[token]], device=tokens.device)
                    steps.append(self._log_probs(self._model.decoder(step, self._audio(), kv_cache=cache)[0, -1]))
        finally:
            for hook in hooks:
                hook.remove()
        return ids, steps[: len(ids) + 1]

    def _beam(self, forced: List[int], n: int) -> List[Hypothesis]:
        """The n most likely endings after `forced` (beam search, no length penalty), each scored by
        the log probability of what follows the prefix, end of text included."""
        import torch

        alive: List[tuple[List[int], float]] = [(list(forced), 0.0)]
        finished: List[tuple[List[int], float]] = []
        for _ in range(self._budget + 1):
            with torch.no_grad():
                tokens = torch.tensor([self._start + ids for ids, _ in alive], device=self._audio().device)
                audio = self._audio().expand(len(alive), -1, -1)
                rows = self._model.decoder(tokens, audio)[:, -1]
            candidates = []
            for (ids, score), row in zip(alive, rows):
                log_probs = self._log_probs(row)
                for token in np.argsort(log_probs)[::-1][: n + 1]:
                    candidates.append((ids + [int(token)], score + float(log_probs[token])))
            candidates.sort(key=lambda candidate: candidate[1], reverse=True)
            alive = []
            for ids, score in candidates:
                if ids[-1] == self._tokenizer.eot:
                    finished.append((ids[:-1], score))
                elif len(alive) < n:
                    alive.append((ids, score))
            if len(finished) >= n or not alive:
                break
        best = sorted(finished or alive, key=lambda item: item[1], reverse=True)[:n]
        return [Hypothesis(self._tokenizer.decode(ids), score) for ids, score in best]

    def _log_probs(self, logits: Any) -> np.ndarray:
        import torch

        row = logits.float().clone()
        row[self._suppressed] = -np.inf
        return torch.log_softmax(row, dim=-1).cpu().numpy()


def suppressed_tokens(tokenizer: Any, vocabulary: int) -> List[int]:
    """What openai-whisper's decoding never writes without timestamps (its suppress_tokens "-1"
    list, the task and start tokens) and the timestamp tokens."""
    special = [tokenizer.transcribe, tokenizer.translate, tokenizer.sot, tokenizer.sot_prev, tokenizer.sot_lm,
               tokenizer.no_timestamps]
    if tokenizer.no_speech is not None:
        special.append(tokenizer.no_speech)
    timestamps = list(range(tokenizer.timestamp_begin, vocabulary))
    return sorted(set(tokenizer.non_speech_tokens) | set(special) | set(timestamps))
