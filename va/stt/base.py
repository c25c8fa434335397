"""What every engine shares: the `Engine` protocol, the result and error types, and the pure
decoding policy.

The policy (device choice, encoder window, token budget, loop and silence checks, batch
grouping) is plain functions of their inputs, so it is tested without a model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Hashable, List, Optional, Protocol, Sequence, Tuple, TypeVar

from va.errors import SetupError
from va.protocol import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

    Audio = np.ndarray[Any, np.dtype[np.float32]]
    """Mono float32 samples at SAMPLE_RATE, in [-1, 1]."""

_LOGGER = logging.getLogger(__name__)

HOP = 160  # samples per mel frame (10 ms)
FULL_FRAMES = 3000  # Whisper's 30 s window
# Measured with tiny.en on 189 spoken commands (fixtures, bench corpus, synthetic): a window of
# speech + 1 s made the decoder repeat the phrase in about a quarter of them; an 8 s minimum in 7
# (decoded again with 10 s, where 1 still looped), 10 s in 1. Word errors: 8.2% with 8 s and the
# retry, 7.8% with 10 s, both below the 30 s window's; 8 s is 13% faster (119 vs 137 ms a clip).
# Windows come in 5 s steps so that a batch of commands shares one window and decodes exactly as
# each one alone.
MIN_WINDOW_SECONDS = 8.0
WINDOW_STEP_SECONDS = 5.0
WINDOW_MARGIN_SECONDS = 1.0
# A window whose output loops is decoded again with this one, then with the full 30 s.
SAFE_WINDOW_SECONDS = 10.0
# Whisper's own silence rule (transcribe(): no_speech_threshold, logprob_threshold)
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0
MAX_NEW_TOKENS = 224  # Whisper's sample_len: half the text context


class EngineError(SetupError):
    """The engine cannot run: model missing, not downloadable, wrong format, bad device."""


@dataclass(frozen=True)
class Transcription:
    """What the engine heard in one utterance."""

    text: str
    """The words, stripped; empty when Whisper judged the audio to be silence."""
    duration: float
    """Seconds of audio transcribed."""
    no_speech_prob: Optional[float] = None
    """Whisper's probability that there was no speech."""
    avg_logprob: Optional[float] = None
    """Mean log probability of the decoded tokens (near 0: confident)."""


class Engine(Protocol):
    """What the server asks of a speech engine; `va.stt.create_engine` makes one.

    Not thread-safe: one worker thread calls it (va.server.transcriber).
    """

    name: str
    """The implementation ("faster-whisper", "openai-whisper")."""
    model: str
    """The model name or path it loaded."""
    device: str
    """Where it runs: cpu or cuda."""

    def transcribe(self, audio: Audio, prompt: Optional[str] = None) -> Transcription:
        """One utterance; ``prompt`` biases the decoder toward the words in it."""

    def transcribe_batch(self, audios: Sequence[Audio], prompts: Sequence[Optional[str]]) -> List[Transcription]:
        """Several utterances, one prompt each; each result equals its own transcribe()."""

    def close(self) -> None:
        """Free the model."""


def pick_device(requested: str, cuda_available: bool) -> str:
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    if requested == "cuda" and not cuda_available:
        raise EngineError("server.device is cuda but no CUDA device is usable; use cpu or auto")
    return requested


def pick_compute_type(requested: str, device: str) -> str:
    """CTranslate2 precision: int8 on CPU is ~2x faster than float32 at the same accuracy."""
    if requested != "auto":
        return requested
    return "int8_float16" if device == "cuda" else "int8"


def window_frames(samples: int, speech_window: bool) -> int:
    """Mel frames the encoder sees for an utterance of `samples` (Whisper: always 3000)."""
    if not speech_window:
        return FULL_FRAMES
    seconds = samples / SAMPLE_RATE + WINDOW_MARGIN_SECONDS
    seconds = max(MIN_WINDOW_SECONDS, math.ceil(seconds / WINDOW_STEP_SECONDS) * WINDOW_STEP_SECONDS)
    return min(FULL_FRAMES, int(round(seconds * SAMPLE_RATE / HOP)))


def retry_frames(frames: int) -> int:
    """The wider window to decode again with when `frames` made the decoder loop."""
    safe = int(SAFE_WINDOW_SECONDS * SAMPLE_RATE / HOP)
    return safe if frames < safe else FULL_FRAMES


JUDGE_MARGIN_SECONDS = 2.0
"""Seconds of audio after the speech that guided decoding still attends to."""


def judged_positions(samples: int) -> int:
    """Encoder positions (50 a second) the guided decoding attends to: the speech and
    JUDGE_MARGIN_SECONDS more.
    Each forced prefix pays the decoder's cross-attention over them; on the corpus' tune split,
    cutting the 8 s window of a 3 s command to 5 s made the recognizer ~10% cheaper in CPU time
    for one reading fewer in 120 (speech + 1 s: two fewer)."""
    return 2 * math.ceil((samples / SAMPLE_RATE + JUDGE_MARGIN_SECONDS) * 25)


def is_long(samples: int) -> bool:
    """Longer than one window: the engine's own multi-window transcribe() handles it."""
    return samples > FULL_FRAMES * HOP


def token_budget(samples: int) -> int:
    """Most new tokens for an utterance: ample for speech (~4 tokens/s), cuts a runaway loop short."""
    return min(MAX_NEW_TOKENS, 20 + math.ceil(6 * samples / SAMPLE_RATE))


def looks_like_loop(tokens: Sequence[int], budget: int) -> bool:
    """The decoder ran out of budget or ends by repeating a phrase (3+ tokens) back to back."""
    if len(tokens) >= budget:
        return True
    tokens = list(tokens)
    return any(tokens[-size:] == tokens[-2 * size : -size] for size in range(3, len(tokens) // 2 + 1))


def final_text(text: str, no_speech_prob: Optional[float], avg_logprob: Optional[float]) -> str:
    """Whisper's rule: likely no speech and not confident -> nothing was said."""
    if no_speech_prob is None or avg_logprob is None:
        return text.strip()
    if no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOGPROB_THRESHOLD:
        return ""
    return text.strip()


Item = TypeVar("Item")
Result = TypeVar("Result")


def run_grouped(
    items: Sequence[Item], key: Callable[[Item], Hashable], run: Callable[[List[Item]], List[Result]]
) -> List[Result]:
    """Run `run` once per group of items with equal keys; results come back in input order."""
    groups: Dict[Hashable, List[Tuple[int, Item]]] = {}
    for index, item in enumerate(items):
        groups.setdefault(key(item), []).append((index, item))
    results: List[Optional[Result]] = [None] * len(items)
    for members in groups.values():
        outputs = run([item for _, item in members])
        for (index, _), output in zip(members, outputs):
            results[index] = output
    return results  # type: ignore[return-value]


_Item = Tuple["Audio", Optional[str]]


class WindowedEngine:
    """Batching and windowing both engines share; subclasses decode.

    A subclass sets `speech_window` and provides `_decode(audios, prompt, frames)` (one result per
    audio, None where the output looped) and `_transcribe_whole(audio, prompt)` (empty audio, or
    audio past 30 s, through the library's own loop over 30 s windows).
    """

    name: str
    model: str
    device: str
    speech_window: bool

    def transcribe(self, audio: Audio, prompt: Optional[str] = None) -> Transcription:
        return self.transcribe_batch([audio], [prompt])[0]

    def transcribe_batch(self, audios: Sequence[Audio], prompts: Sequence[Optional[str]]) -> List[Transcription]:
        """One decode per (window, prompt) group: each result equals its solo run."""
        import numpy as np

        if len(audios) != len(prompts):
            raise ValueError("transcribe_batch needs one prompt per audio")
        items = [(np.asarray(audio, np.float32), prompt) for audio, prompt in zip(audios, prompts)]
        return run_grouped(items, self._group, self._run_group)

    def _group(self, item: _Item) -> Hashable:
        audio, prompt = item
        if audio.size == 0 or is_long(audio.size):
            return ("whole", prompt)
        return (window_frames(audio.size, self.speech_window), prompt)

    def _run_group(self, items: List[_Item]) -> List[Transcription]:
        audio, prompt = items[0]
        if audio.size == 0 or is_long(audio.size):
            return [self._transcribe_whole(audio, prompt) for audio, prompt in items]
        frames = window_frames(audio.size, self.speech_window)
        results = self._decode([audio for audio, _ in items], prompt, frames)
        done: List[Transcription] = []
        for (audio, _), result in zip(items, results):
            wider = frames
            while result is None:  # a phrase repeated back to back: a wider window ends it
                wider = retry_frames(wider)
                _LOGGER.debug("window looped; decoding %.1f s again with %d frames", audio.size / SAMPLE_RATE, wider)
                result = self._decode([audio], prompt, wider)[0]
            done.append(result)
        return done

    def _decode(self, audios: List[Audio], prompt: Optional[str], frames: int) -> List[Optional[Transcription]]:
        raise NotImplementedError

    def _transcribe_whole(self, audio: Audio, prompt: Optional[str]) -> Transcription:
        raise NotImplementedError
