"""openai-whisper (PyTorch) engine, with the same speech-length encoder window as faster.py.

The PyTorch AudioEncoder adds a 1500-frame positional embedding and asserts that shape; this
model instance gets an encoder wrapper that adds only the rows it needs (no global patching).
"""

from __future__ import annotations

import logging
import os
import functools
from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from va.config.settings import ServerSettings
from va.stt import base, models
from va.stt.base import EngineError, Transcription
from va.stt.scoring import SLACK_TOKENS, Hypothesis
from va.stt.torch_scoring import TorchUtterance

_LOGGER = logging.getLogger(__name__)


def _windowed_encoder(encoder: Any) -> Any:
    """An nn.Module running `encoder` on any even number of mel frames up to 3000."""
    import torch
    import torch.nn.functional as F

    class WindowedEncoder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, mel: Any) -> Any:
            inner = self.inner
            x = F.gelu(inner.conv1(mel))
            x = F.gelu(inner.conv2(x)).permute(0, 2, 1)
            x = (x + inner.positional_embedding[: x.shape[1]]).to(x.dtype)
            for block in inner.blocks:
                x = block(x)
            return inner.ln_post(x)

    return WindowedEncoder(encoder)


class OpenAIWhisperEngine(base.WindowedEngine):
    """Not thread-safe: one worker thread calls it (see va.server.transcriber)."""

    name = "openai-whisper"

    def __init__(self, settings: ServerSettings) -> None:
        import torch
        import whisper

        torch.set_num_threads(os.cpu_count() or 1)
        self.model = settings.model
        if settings.device == "cuda" and not torch.version.cuda:
            raise EngineError("server.device is cuda but this torch is a CPU build: install a CUDA build of torch, or use cpu")
        self.device = base.pick_device(settings.device, torch.cuda.is_available())
        self.speech_window = settings.speech_window
        self._fp16 = self.device == "cuda" and settings.compute_type not in ("float32", "int8_float32")
        self._beam_size = settings.beam_size if settings.beam_size > 1 else None
        self._whisper = self._load(settings.model)
        self._whisper.encoder = _windowed_encoder(self._whisper.encoder)
        multilingual = self._whisper.is_multilingual
        self._language = None if multilingual and settings.language in ("", "auto") else (settings.language if multilingual else "en")
        _LOGGER.info("openai-whisper %s loaded on %s (fp16=%s)", self.model, self.device, self._fp16)

    def _load(self, name: str) -> Any:
        import whisper

        source = models.openai_model(name)
        if models.is_official_name(name):  # whisper downloads it into its cache
            root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "whisper")
            models.check_whisper_download(name, root)
            try:
                return whisper.load_model(name, device=self.device, download_root=root)
            except OSError as error:  # urllib's URLError is an OSError
                raise models.download_error(name, error) from error
        try:
            model = whisper.load_model(source, device=self.device)
        except Exception as error:  # torch.load / load_state_dict raise many kinds
            raise EngineError(f"cannot load openai-whisper checkpoint {source}: {error}") from error
        if models.bundled_model_dir(name) is not None:  # word timestamps need tiny.en's heads
            model.set_alignment_heads(whisper._ALIGNMENT_HEADS[name])
        return model

    def _decode(self, audios: List[np.ndarray], prompt: Optional[str], frames: int) -> List[Optional[Transcription]]:
        return [result for result, _, _ in self._decode_tokens(audios, prompt, frames)]

    def _decode_tokens(self, audios: List[np.ndarray], prompt: Optional[str], frames: int) -> List[tuple]:
        """(Transcription or None where it looped, the tokens written, the language) per audio."""
        import torch
        import whisper

        mel = torch.stack([self._mel(audio, frames) for audio in audios])
        budgets = [base.token_budget(audio.size) for audio in audios]
        options = whisper.DecodingOptions(
            language=self._language,
            temperature=0.0,
            sample_len=max(budgets),
            beam_size=self._beam_size,
            prompt=prompt.strip() if prompt and prompt.strip() else None,
            without_timestamps=True,
            fp16=self._fp16,
        )
        with torch.no_grad():
            outputs = whisper.decode(self._whisper, mel, options)
        results: List[tuple] = []
        for audio, output, budget in zip(audios, outputs, budgets):
            tokens = output.tokens[:budget]  # as if decoded alone, with its own budget
            if frames < base.FULL_FRAMES and base.looks_like_loop(tokens, budget):
                results.append((None, tokens, output.language))
                continue
            text = output.text if len(tokens) == len(output.tokens) else self._detokenize(tokens, output.language)
            text = base.final_text(text, output.no_speech_prob, output.avg_logprob)
            transcription = Transcription(text, audio.size / base.SAMPLE_RATE, output.no_speech_prob, output.avg_logprob)
            results.append((transcription, tokens, output.language))
        return results

    def judge(self, audio: np.ndarray, prompt: Optional[str], judge: Callable[[Transcription, Any], Any]) -> tuple:
        """The free transcript and ``judge(transcript, utterance)``, as FasterWhisperEngine.judge:
        the utterance (va.stt.torch_scoring.TorchUtterance) scores texts with this model's decoder."""
        return self.judge_batch([audio], [prompt], [judge])[0]

    def judge_batch(self, audios: Sequence, prompts: Sequence[Optional[str]], judges: Sequence[Callable]) -> List[tuple]:
        items = [(np.asarray(audio, np.float32), prompt, judge) for audio, prompt, judge in zip(audios, prompts, judges)]
        return base.run_grouped(items, lambda item: self._group(item[:2]), self._judge_group)

    def _judge_group(self, items: List[tuple]) -> List[tuple]:
        audio, prompt, _ = items[0]
        if audio.size == 0 or base.is_long(audio.size):
            return [self._judge_text(audio, prompt, judge) for audio, prompt, judge in items]
        frames = base.window_frames(audio.size, self.speech_window)
        decoded = self._decode_tokens([audio for audio, _, _ in items], prompt, frames)
        judged = []
        for (audio, _, judge), (result, tokens, language) in zip(items, decoded):
            if result is None:  # looped: the wider windows of transcribe(), judged on the text alone
                judged.append(self._judge_text(audio, prompt, judge))
                continue
            tokenizer = self._tokenizer(language)
            start = self._start_tokens(tokenizer, prompt)
            free = Hypothesis(tokenizer.decode(tokens), (result.avg_logprob or 0.0) * (len(tokens) + 1))
            utterance = TorchUtterance(
                self._whisper, tokenizer, functools.partial(self._encoded, audio, frames), start, free,
                min(base.token_budget(audio.size), len(tokens) + SLACK_TOKENS),
            )
            judged.append((result, judge(result, utterance)))
        return judged

    def _judge_text(self, audio: np.ndarray, prompt: Optional[str], judge: Callable) -> tuple:
        transcription = self.transcribe(audio, prompt)
        return transcription, judge(transcription, None)

    def _encoded(self, audio: np.ndarray, frames: int) -> Any:
        """The encoder output of the speech and JUDGE_MARGIN_SECONDS more: what guided decoding attends to."""
        import torch

        with torch.no_grad():
            mel = self._mel(audio, frames).unsqueeze(0)
            if self._fp16:
                mel = mel.half()
            return self._whisper.encoder(mel)[:, : base.judged_positions(audio.size)]

    def _tokenizer(self, language: str) -> Any:
        from whisper.tokenizer import get_tokenizer

        model = self._whisper
        return get_tokenizer(model.is_multilingual, num_languages=model.num_languages, language=language, task="transcribe")

    def _start_tokens(self, tokenizer: Any, prompt: Optional[str]) -> List[int]:
        """What whisper's decoding starts from without timestamps, the prompt before it."""
        start = list(tokenizer.sot_sequence_including_notimestamps)
        if not prompt or not prompt.strip():
            return start
        previous = tokenizer.encode(" " + prompt.strip())[-(self._whisper.dims.n_text_ctx // 2 - 1):]
        return [tokenizer.sot_prev, *previous, *start]

    def _detokenize(self, tokens: List[int], language: str) -> str:
        from whisper.tokenizer import get_tokenizer

        model = self._whisper
        return get_tokenizer(model.is_multilingual, num_languages=model.num_languages, language=language).decode(tokens)

    def _mel(self, audio: np.ndarray, frames: int) -> Any:
        import whisper

        mel = whisper.log_mel_spectrogram(
            audio, self._whisper.dims.n_mels, padding=frames * base.HOP - audio.size, device=self.device
        )
        return mel[:, :frames]

    def _transcribe_whole(self, audio: np.ndarray, prompt: Optional[str]) -> Transcription:
        """Empty or longer than 30 s: whisper's own loop over 30 s windows."""
        import whisper

        if audio.size == 0:
            return Transcription("", 0.0)
        result = whisper.transcribe(
            self._whisper,
            audio,
            language=self._language,
            temperature=0.0,
            initial_prompt=prompt or None,
            without_timestamps=True,
            fp16=self._fp16,
            beam_size=self._beam_size,
            verbose=None,
        )
        segments = result.get("segments") or []
        no_speech = min((s["no_speech_prob"] for s in segments), default=None)
        logprob = float(np.mean([s["avg_logprob"] for s in segments])) if segments else None
        return Transcription(result["text"].strip(), audio.size / base.SAMPLE_RATE, no_speech, logprob)

    def close(self) -> None:
        self._whisper = None
