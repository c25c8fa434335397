"""The listening thread: cuts a source's audio into phrases with SpeechRecognition's energy detector.

It loops on ``recognizer.listen(source)`` itself rather than using ``listen_in_background``, so an
error is logged and listening goes on, and it never waits for the server or a command: each phrase
is handed to ``on_phrase`` (which must be quick and thread-safe) and the next one is heard at once.

End of speech: a phrase ends after ``pause_threshold`` seconds of quiet, and latency is counted
from the moment that ending quiet has been read (``Phrase.end_of_speech``: when ``listen()``
returned), so it leaves out the silence that ends a phrase: from a microphone, that silence takes
``pause_threshold`` seconds to happen whatever the software does; from files read faster than
real time it takes microseconds, so file input measures the same thing. How long the ending
silence took to hear is kept apart (``Phrase.silence``: from the last loud chunk read to the end),
so what a speaker waits is ``silence`` plus the pipeline's latency.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Optional, Sequence, Tuple

from va.client.microphone import SAMPLE_RATE, SAMPLE_WIDTH, AudioUnavailable, Source, sr
from va.config.settings import MicrophoneSettings

_LOGGER = logging.getLogger(__name__)

_MAX_ERRORS = 10
"""Consecutive failed listens before the thread gives up (then healthy() is False)."""


@dataclass(frozen=True)
class Phrase:
    """One utterance, cut at its pauses."""

    pcm: bytes = field(repr=False)
    """s16le mono 16 kHz."""
    end_of_speech: float
    """``time.monotonic()`` when the quiet that ended it had been read."""
    silence: float = 0.0
    """Seconds from its last loud chunk to ``end_of_speech``: the wait for the ending quiet."""

    @property
    def duration(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH / SAMPLE_RATE


def rms(chunk: bytes) -> float:
    """Loudness of s16le samples, as SpeechRecognition measures it."""
    samples = array("h", chunk[: len(chunk) - len(chunk) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(sample * sample for sample in samples) / len(samples))


def speech_end(history: Sequence[Tuple[float, float, float]], max_quiet: int) -> Optional[float]:
    """When the last loud chunk was read. ``history`` is (read time, rms, energy threshold then)
    per chunk, oldest first. At most ``max_quiet`` trailing quiet chunks are skipped: that many
    end a phrase."""
    quiet = 0
    for read_at, loudness, threshold in reversed(history):
        if loudness > threshold or quiet >= max_quiet:
            return read_at
        quiet += 1
    return history[0][0] if history else None


class _TimedStream:
    """Wraps a source's stream; remembers when each chunk was read, how loud it was, and the
    threshold the recognizer compares it with (it adjusts the threshold only after comparing)."""

    def __init__(self, stream: Any, recognizer: Any, clock: Callable[[], float]) -> None:
        self._stream = stream
        self._recognizer = recognizer
        self._clock = clock
        self.history: Deque[Tuple[float, float, float]] = collections.deque(maxlen=512)
        self.ended = False

    def read(self, size: int) -> bytes:
        chunk = self._stream.read(size)
        if chunk:
            self.history.append((self._clock(), rms(chunk), self._recognizer.energy_threshold))
        else:
            self.ended = True
        return chunk

    def close(self) -> None:
        self._stream.close()


class Listener:
    """Runs ``recognizer.listen`` in a thread and hands each ``Phrase`` to ``on_phrase``."""

    def __init__(
        self,
        source: Source,
        settings: MicrophoneSettings,
        on_phrase: Callable[[Phrase], None],
        on_end: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``settings`` is the ``microphone`` section; ``on_phrase`` and ``on_end`` (called once,
        when the thread ends) are called on the listening thread."""
        self.source = source
        self._settings = settings
        self._on_phrase = on_phrase
        self._on_end = on_end
        self._clock = clock
        self._recognizer = sr.Recognizer()
        self._recognizer.pause_threshold = settings.pause_threshold
        self._recognizer.non_speaking_duration = min(self._recognizer.non_speaking_duration, settings.pause_threshold)
        self._recognizer.dynamic_energy_threshold = settings.dynamic_energy
        self._stream: Optional[_TimedStream] = None
        self._stopping = threading.Event()
        self._recalibrate = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.finished = threading.Event()
        """Set when the thread has ended: stopped, end of the input files, or too many errors."""
        self.exhausted = False
        """True when the source ran out (the input files are done)."""
        self.phrases = 0

    @property
    def _timed(self) -> _TimedStream:
        """The source's stream, timed; open() made it."""
        if self._stream is None:
            raise AudioUnavailable("the audio source is not open")
        return self._stream

    @property
    def energy_threshold(self) -> float:
        return self._recognizer.energy_threshold

    def open(self) -> None:
        """Open the source and calibrate to its noise. Blocking: call it in a thread."""
        self.source.__enter__()
        if getattr(self.source, "stream", None) is None:
            raise AudioUnavailable(f"cannot open {getattr(self.source, 'label', self.source)}")
        self._stream = self.source.stream = _TimedStream(self.source.stream, self._recognizer, self._clock)
        if self._settings.energy_threshold is not None:
            self._recognizer.energy_threshold = self._settings.energy_threshold
        else:
            self._calibrate()
        _LOGGER.info("Energy threshold %.0f (%s)", self.energy_threshold,
                     "calibrated" if self._settings.energy_threshold is None else "configured")

    def recalibrate(self) -> None:
        """Measure the ambient noise again before the next phrase (the room got louder or quieter)."""
        if self._settings.energy_threshold is not None:
            _LOGGER.info("Not recalibrating: microphone.energy_threshold is set to %g", self._settings.energy_threshold)
            return
        self._recalibrate.set()

    def _calibrate(self) -> None:
        self._recognizer.adjust_for_ambient_noise(self.source, duration=self._settings.calibrate_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="va-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop after the phrase being heard (a listen returns at least once a second of quiet)."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            try:
                self.source.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - closing a broken device must not hide why we stopped
                _LOGGER.debug("Closing %s failed", getattr(self.source, "label", "the source"), exc_info=True)
            self.finished.set()
            self._on_end()

    def _loop(self) -> None:
        errors = 0
        while not self._stopping.is_set():
            if self._recalibrate.is_set():  # between phrases, on this thread: the source is ours
                self._recalibrate.clear()
                self._calibrate()
                _LOGGER.info("Energy threshold %.0f (recalibrated)", self.energy_threshold)
            try:
                audio = self._recognizer.listen(self.source, timeout=1.0, phrase_time_limit=self._settings.phrase_time_limit)
                ended = self._clock()
            except sr.WaitTimeoutError:  # a second of quiet: look at the stop flag, listen again
                continue
            except Exception:  # noqa: BLE001 - a device hiccup must not end listening
                errors += 1
                if errors >= _MAX_ERRORS:
                    _LOGGER.error("Listening failed %d times in a row; giving up", errors, exc_info=True)
                    return
                _LOGGER.warning("Listening failed; trying again in 1 s", exc_info=True)
                self._stopping.wait(1.0)
                continue
            errors = 0
            if self._timed.ended:  # what listen() returns at the end of the input is leftover quiet
                self.exhausted = True
                _LOGGER.debug("End of the audio input")
                return
            try:
                self._deliver(audio, ended)
            except Exception:  # noqa: BLE001 - one lost phrase, not a deaf assistant
                _LOGGER.exception("Handing over a phrase failed")

    def _deliver(self, audio: Any, ended: float) -> None:
        seconds_per_chunk = self.source.CHUNK / self.source.SAMPLE_RATE
        max_quiet = math.ceil(self._recognizer.pause_threshold / seconds_per_chunk) + 1
        spoken = speech_end(self._timed.history, max_quiet) or ended
        pcm = audio.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=SAMPLE_WIDTH)
        self.phrases += 1
        phrase = Phrase(pcm, ended, max(0.0, ended - spoken))
        _LOGGER.debug("Phrase %d: %.2f s of audio, ended by %.2f s of quiet", self.phrases, phrase.duration, phrase.silence)
        self._on_phrase(phrase)
