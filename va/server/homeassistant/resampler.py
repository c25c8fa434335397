"""Audio resampled to 16 kHz as it arrives, so an utterance is never held at the client's rate.

`StreamResampler.push(samples)` gives the 16 kHz samples that the audio so far fully determines;
`flush()` the rest. Their concatenation is what `va.stt.audio.resample` gives for the whole
utterance at once (the same polyphase kernel, fed in blocks that start on a whole output sample,
each with enough context on both sides that the block's edges see real audio, or the zeros the
whole-utterance resampler pads with). What is held between calls: at most about 0.1 s of input
(one second for rates that share no factor with 16 kHz) and two contexts of a few dozen samples.
"""

from __future__ import annotations

import math

import numpy as np

from va.protocol import SAMPLE_RATE
from va.stt.audio import _ZERO_CROSSINGS, _kernel, resample  # the same kernel as the whole-utterance resampler

_CONTEXT_CROSSINGS = 40
"""Context kept on each side of a block, in output-band zero crossings (the kernel spans 16)."""
_BLOCK_SECONDS = 0.1
"""Least input resampled in one call (fewer calls for the small chunks Home Assistant sends)."""


class StreamResampler:
    """From `rate` Hz float32 mono to 16 kHz, block by block."""

    def __init__(self, rate: int, to_rate: int = SAMPLE_RATE) -> None:
        self.rate, self.to_rate = rate, to_rate
        divisor = math.gcd(rate, to_rate)
        self._up, self._down = to_rate // divisor, rate // divisor
        cutoff = min(1.0, self._up / self._down)
        self._context = math.ceil(_CONTEXT_CROSSINGS / cutoff / self._down) * self._down  # whole outputs
        self._least = max(self._down, math.ceil(rate * _BLOCK_SECONDS / self._down) * self._down)
        self._buffer = np.zeros(self._context, np.float32)  # the left context: the zeros before the start
        self._decimator = _decimator(cutoff, self._down) if self._up == 1 else None

    @property
    def held(self) -> int:
        """Bytes waiting to be resampled."""
        return self._buffer.nbytes

    def push(self, samples: np.ndarray) -> np.ndarray:
        if self.rate == self.to_rate:
            return np.asarray(samples, np.float32)
        self._buffer = np.concatenate((self._buffer, np.asarray(samples, np.float32)))
        ready = (self._buffer.size - 2 * self._context) // self._down * self._down
        if ready < self._least:
            return np.zeros(0, np.float32)
        out = self._outputs(self._buffer[: ready + 2 * self._context], ready * self._up // self._down)
        self._buffer = self._buffer[ready:].copy()
        return out

    def flush(self) -> np.ndarray:
        """The rest, as if the audio ended here (zeros after it)."""
        if self.rate == self.to_rate:
            return np.zeros(0, np.float32)
        rest = self._buffer.size - self._context
        out = self._outputs(self._buffer, round(rest * self._up / self._down)) if rest > 0 else np.zeros(0, np.float32)
        self._buffer = np.zeros(self._context, np.float32)
        return out

    def _outputs(self, segment: np.ndarray, count: int) -> np.ndarray:
        first = self._context * self._up // self._down
        if self._decimator is None:
            return resample(segment, self.rate, self.to_rate)[first : first + count]
        return self._decimate(segment, first, count)

    def _decimate(self, segment: np.ndarray, first: int, count: int) -> np.ndarray:
        """`resample` for a whole-number ratio (48 kHz, 384 kHz: every output on an input sample),
        without gathering each output's window into a matrix: a strided view of the input, one
        dot product per output (about ten times faster at 384 kHz)."""
        assert self._decimator is not None
        kernel, half = self._decimator
        padded = np.pad(segment, (half, half + 2))
        start = first * self._down + 1  # output n reads padded[n * down + 1 ...] (taps from -half + 1)
        count = max(0, min(count, (padded.size - start - kernel.size) // self._down + 1))
        rows = np.lib.stride_tricks.as_strided(padded[start:], shape=(count, kernel.size),
                                               strides=(padded.strides[0] * self._down, padded.strides[0]))
        return np.einsum("ij,j->i", rows, kernel).astype(np.float32)


def _decimator(cutoff: float, down: int) -> tuple:
    """The kernel `resample` uses for `down`:1 (its one phase), and its half width."""
    half = int(math.ceil(_ZERO_CROSSINGS / cutoff))
    taps = np.arange(-half + 1, half + 1)
    kernel = _kernel(-taps.astype(np.float64), cutoff, half).astype(np.float32)
    return kernel / kernel.sum(), half
