"""faster-whisper (CTranslate2) engine, with an encoder window that follows the speech length.

Whisper pads every input to 30 s; for a 3 s command most of the encoder's work is silence.
Here the mel features stop at the window that `base.window_frames` picks, and the lower-level
CTranslate2 model encodes and decodes them (it accepts any even number of frames up to 3000).
Audio longer than one window goes through faster-whisper's own transcribe().
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from va.config.settings import ServerSettings
from va.stt import base, cuda, models, scoring
from va.stt.base import EngineError, Transcription

_LOGGER = logging.getLogger(__name__)

_AUTO_LANGUAGE = ("", "auto")


class FasterWhisperEngine(base.WindowedEngine):
    """Not thread-safe: one worker thread calls it (see va.server.transcriber)."""

    name = "faster-whisper"

    def __init__(self, settings: ServerSettings) -> None:
        import ctranslate2
        from faster_whisper import WhisperModel

        self.model = settings.model
        self.device = base.pick_device(settings.device, ctranslate2.get_cuda_device_count() > 0)
        self.libraries = self._prepare_cuda(settings.device == "cuda") if self.device == "cuda" else []
        self.compute_type = base.pick_compute_type(settings.compute_type, self.device)
        self.speech_window = settings.speech_window
        self._beam_size = settings.beam_size
        source = models.ctranslate2_model(settings.model)
        try:
            self._whisper = WhisperModel(
                source, device=self.device, compute_type=self.compute_type, cpu_threads=os.cpu_count() or 1
            )
        except (OSError, ValueError, RuntimeError) as error:  # huggingface_hub / CTranslate2
            if models.is_official_name(settings.model):
                raise models.download_error(settings.model, error) from error
            raise EngineError(f"cannot load {source}: {error}") from error
        self._language = self._pick_language(settings.language)
        self._tokenizers: Dict[str, Any] = {}
        libraries = f"; {cuda.summary(self.libraries)}" if self.libraries else ""
        _LOGGER.info("faster-whisper %s loaded on %s (%s%s)", self.model, self.device, self.compute_type, libraries)

    def _prepare_cuda(self, required: bool) -> List[cuda.Library]:
        """cuBLAS 12 found and loaded; with device auto and no cuBLAS, the CPU instead (with a warning)."""
        libraries = cuda.prepare_ctranslate2(required)
        missing = [library.name for library in libraries if not library.found]
        if missing:
            _LOGGER.warning("a CUDA device is here but %s is not installed, so the CPU is used: %s",
                            ", ".join(missing), cuda.INSTALL_HINT)
            self.device = "cpu"
            return []
        return libraries

    def _pick_language(self, language: str) -> Optional[str]:
        if not self._whisper.model.is_multilingual:
            return "en"
        return None if language in _AUTO_LANGUAGE else language

    def _decode(self, audios: List[np.ndarray], prompt: Optional[str], frames: int) -> List[Optional[Transcription]]:
        """Encode and greedy/beam decode; None where the output looks like a loop (window < 30 s)."""
        encoded = self._encode(audios, frames)
        return [decoded[0] for decoded in self._generate(encoded, audios, prompt, frames)]

    def _encode(self, audios: List[np.ndarray], frames: int) -> Any:
        import ctranslate2

        features = np.stack([self._features(audio, frames) for audio in audios])
        return self._whisper.model.encode(ctranslate2.StorageView.from_array(features))

    def _generate(self, encoded: Any, audios: List[np.ndarray], prompt: Optional[str], frames: int) -> List[tuple]:
        """(Transcription or None where it looped, tokenizer, decoded tokens, CTranslate2 score) per audio."""
        tokenizers = self._tokenizers_for(encoded, len(audios))
        prompts = [self._prompt(tokenizer, prompt) for tokenizer in tokenizers]
        budgets = [base.token_budget(audio.size) for audio in audios]
        outputs = self._whisper.model.generate(
            encoded,
            prompts,
            beam_size=self._beam_size,
            max_length=max(len(p) for p in prompts) + max(budgets),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=_suppressed(tokenizers[0]),
        )
        results: List[tuple] = []
        for audio, tokenizer, output, budget in zip(audios, tokenizers, outputs, budgets):
            tokens = output.sequences_ids[0][:budget]  # as if decoded alone, with its own budget
            if frames < base.FULL_FRAMES and base.looks_like_loop(tokens, budget):
                results.append((None, tokenizer, tokens, output.scores[0]))
                continue
            avg_logprob = output.scores[0] * len(tokens) / (len(tokens) + 1)  # as faster-whisper reports it
            text = base.final_text(tokenizer.decode(tokens), output.no_speech_prob, avg_logprob)
            result = Transcription(text, audio.size / base.SAMPLE_RATE, output.no_speech_prob, avg_logprob)
            results.append((result, tokenizer, tokens, output.scores[0]))
        return results

    def judge(self, audio: np.ndarray, prompt: Optional[str], judge: Callable[[Transcription, Any], Any]) -> tuple:
        """The free transcript and ``judge(transcript, utterance)``: the utterance (a
        va.stt.scoring.CT2Utterance, None when there is no speech window to judge) reuses this
        decode's encoder output for every text the judge scores."""
        return self.judge_batch([audio], [prompt], [judge])[0]

    def judge_batch(self, audios: Sequence, prompts: Sequence[Optional[str]], judges: Sequence[Callable]) -> List[tuple]:
        """`judge` for several requests: encoded and decoded together per window, as in
        transcribe_batch, then judged one after the other on their own rows of the encoder output."""
        items = [(np.asarray(audio, np.float32), prompt, judge) for audio, prompt, judge in zip(audios, prompts, judges)]
        return base.run_grouped(items, lambda item: self._group(item[:2]), self._judge_group)

    def _judge_group(self, items: List[tuple]) -> List[tuple]:
        audio, prompt, _ = items[0]
        if audio.size == 0 or base.is_long(audio.size):
            return [self._judge_text(audio, prompt, judge) for audio, prompt, judge in items]
        frames = base.window_frames(audio.size, self.speech_window)
        audios = [audio for audio, _, _ in items]
        encoded = self._encode(audios, frames)
        decoded = self._generate(encoded, audios, prompt, frames)
        rows = np.asarray(scoring.on_cpu(encoded))  # [batch, positions, width] in host memory
        judged = []
        for row, ((audio, _, judge), (result, tokenizer, tokens, score)) in enumerate(zip(items, decoded)):
            if result is None:  # looped: the wider windows of transcribe(), judged on the text alone
                judged.append(self._judge_text(audio, prompt, judge))
                continue
            free = scoring.free_hypothesis(tokenizer.decode(tokens), score, len(tokens))
            utterance = scoring.CT2Utterance(
                self._whisper.model, tokenizer, rows[row : row + 1], self._prompt(tokenizer, prompt), free,
                min(base.token_budget(audio.size), len(tokens) + scoring.SLACK_TOKENS), _suppressed(tokenizer),
                base.judged_positions(audio.size),
            )
            judged.append((result, judge(result, utterance)))
        return judged

    def _judge_text(self, audio: np.ndarray, prompt: Optional[str], judge: Callable) -> tuple:
        transcription = self.transcribe(audio, prompt)
        return transcription, judge(transcription, None)

    def _features(self, audio: np.ndarray, frames: int) -> np.ndarray:
        # padded with real silence, as openai-whisper does (faster-whisper pads the mel with zeros)
        mel = self._whisper.feature_extractor(audio, padding=frames * base.HOP - audio.size)
        return np.ascontiguousarray(mel[:, :frames], dtype=np.float32)

    def _tokenizers_for(self, encoded: Any, count: int) -> List[Any]:
        if self._language is not None:
            return [self._tokenizer(self._language)] * count
        detected = self._whisper.model.detect_language(encoded)
        return [self._tokenizer(ranked[0][0][2:-2]) for ranked in detected]

    def _tokenizer(self, language: str) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        if language not in self._tokenizers:
            multilingual = self._whisper.model.is_multilingual
            self._tokenizers[language] = Tokenizer(
                self._whisper.hf_tokenizer, multilingual, task="transcribe", language=language if multilingual else None
            )
        return self._tokenizers[language]

    def _prompt(self, tokenizer: Any, prompt: Optional[str]) -> List[int]:
        previous = tokenizer.encode(" " + prompt.strip()) if prompt and prompt.strip() else []
        return self._whisper.get_prompt(tokenizer, previous, without_timestamps=True)

    def _transcribe_whole(self, audio: np.ndarray, prompt: Optional[str]) -> Transcription:
        """Empty or longer than 30 s: faster-whisper's own loop over 30 s windows."""
        if audio.size == 0:
            return Transcription("", 0.0)
        segments, _ = self._whisper.transcribe(
            audio,
            language=self._language,
            beam_size=self._beam_size,
            temperature=0.0,
            initial_prompt=prompt or None,
            without_timestamps=True,
            vad_filter=False,
        )
        segments = list(segments)
        text = "".join(segment.text for segment in segments).strip()
        no_speech = min((s.no_speech_prob for s in segments), default=None)
        logprob = float(np.mean([s.avg_logprob for s in segments])) if segments else None
        return Transcription(text, audio.size / base.SAMPLE_RATE, no_speech, logprob)

    def close(self) -> None:
        self._whisper = None


def _suppressed(tokenizer: Any) -> List[int]:
    from faster_whisper.transcribe import get_suppressed_tokens

    return list(get_suppressed_tokens(tokenizer, [-1]))
