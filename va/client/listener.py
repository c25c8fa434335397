"""The listening thread: cuts a source's audio into phrases (va.client.endpoint, va.client.vad).

It reads 30 ms frames itself, so an error is logged and listening goes on, and it never waits for
the server or a command: each frame's news (a phrase started, audio, a short quiet, speech again)
goes to ``on_progress`` and each whole phrase to ``on_phrase`` (both must be quick and
thread-safe), and the next frame is read at once.

End of speech: a phrase ends after ``pause_threshold`` seconds of quiet. Latency is counted from
its last loud frame (``Phrase.last_loud``): what a person waits after their last word. How long
the ending quiet took to hear is ``Phrase.silence`` (from the last loud frame to the moment the
phrase was cut: ``end_of_speech``). From files read faster than real time, that quiet takes
microseconds; with ``VA_INPUT_PACE=1`` or a microphone it takes what it takes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from va.client.endpoint import Discarded, Endpointer, Ended, Event
from va.client.foreground import Foreground
from va.client.microphone import SAMPLE_RATE, SAMPLE_WIDTH, AudioUnavailable, Source, sr
from va.client.vad import FRAME_BYTES, FRAME_SAMPLES, Detector, make_detector, rms

from va.config.settings import MicrophoneSettings

__all__ = ["Listener", "Phrase", "rms"]

_LOGGER = logging.getLogger(__name__)

_MAX_ERRORS = 10
"""Consecutive failed reads before the thread gives up (then healthy() is False)."""


@dataclass(frozen=True)
class Phrase:
    """One utterance, cut at its pauses."""

    pcm: bytes = field(repr=False)
    """s16le mono 16 kHz."""
    end_of_speech: float
    """``time.monotonic()`` when it was cut: its ending quiet heard, or an early decision taken."""
    silence: float = 0.0
    """Seconds from its last loud frame to ``end_of_speech``: the wait for the ending quiet."""
    number: int = 0
    """The listener's count of phrases (0: not from a listener)."""

    @property
    def duration(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH / SAMPLE_RATE

    @property
    def last_loud(self) -> float:
        """When its last loud audio was read: latencies a person feels count from here."""
        return self.end_of_speech - self.silence


class _Frames:
    """30 ms s16le 16 kHz frames from a source's stream, converted from its own rate if needed."""

    def __init__(self, source: Any) -> None:
        self._stream = source.stream
        self._rate = source.SAMPLE_RATE
        self._width = source.SAMPLE_WIDTH
        self._chunk = FRAME_SAMPLES if self._rate == SAMPLE_RATE and self._width == SAMPLE_WIDTH else source.CHUNK
        self._buffer = bytearray()
        self._state: Any = None
        self.ended = False

    def read(self) -> Optional[bytes]:
        """The next frame; None at the end of the input."""
        while len(self._buffer) < FRAME_BYTES:
            chunk = self._stream.read(self._chunk)
            if not chunk:
                self.ended = True
                return None
            self._buffer += self._convert(chunk)
        frame = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        return frame

    def _convert(self, chunk: bytes) -> bytes:
        if self._rate == SAMPLE_RATE and self._width == SAMPLE_WIDTH:
            return chunk
        import audioop  # noqa: PLC0415 - deprecated, and only needed for cards without 16 kHz

        if self._width != SAMPLE_WIDTH:
            chunk = audioop.lin2lin(chunk, self._width, SAMPLE_WIDTH)
        converted, self._state = audioop.ratecv(chunk, SAMPLE_WIDTH, 1, self._rate, SAMPLE_RATE, self._state)
        return converted


class Listener:
    """Reads frames in a thread; hands progress to ``on_progress`` and each ``Phrase`` to ``on_phrase``."""

    def __init__(
        self,
        source: Source,
        settings: MicrophoneSettings,
        on_phrase: Callable[[Phrase], None],
        on_end: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        on_progress: Optional[Callable[[Event], None]] = None,
        marks: tuple = (),
        gate: Optional[Callable[[bytes, float], List[bytes]]] = None,
    ) -> None:
        """``settings`` is the ``microphone`` section; ``marks`` the quiet lengths (s) at which
        ``on_progress`` hears a ``Quiet``. The callbacks are called on the listening thread."""
        self.source = source
        self._settings = settings
        self._on_phrase = on_phrase
        self._on_end = on_end
        self._on_progress = on_progress
        self._clock = clock
        self.gate = gate
        """What the listener hears of each frame while va plays (va.client.speech.gate); None: all."""
        self._recognizer = sr.Recognizer()
        self._recognizer.dynamic_energy_threshold = settings.dynamic_energy
        self._detector: Optional[Detector] = None
        self._endpointer = Endpointer(
            settings.pause_threshold, marks, preroll=min(0.5, settings.pause_threshold),
            max_seconds=settings.phrase_time_limit, start_frames=1 if settings.vad == "energy" else 2,
            foreground=Foreground(settings.foreground_drop) if settings.foreground_drop > 0 else None,
        )
        self._frames: Optional[_Frames] = None
        self._cut: Optional[int] = None
        self._stopping = threading.Event()
        self._recalibrate = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.finished = threading.Event()
        """Set when the thread has ended: stopped, end of the input files, or too many errors."""
        self.exhausted = False
        """True when the source ran out (the input files are done)."""
        self.phrases = 0

    @property
    def energy_threshold(self) -> float:
        return self._recognizer.energy_threshold

    def open(self) -> None:
        """Open the source and calibrate to its noise. Blocking: call it in a thread."""
        self._detector = make_detector(self._settings, self._recognizer)
        self.source.__enter__()
        if getattr(self.source, "stream", None) is None:
            raise AudioUnavailable(f"cannot open {getattr(self.source, 'label', self.source)}")
        if self._settings.vad != "energy":
            _LOGGER.info("End of speech: %s VAD", self._settings.vad)
        elif self._settings.energy_threshold is not None:
            self._recognizer.energy_threshold = self._settings.energy_threshold
        else:
            self._calibrate()
        if self._settings.vad == "energy":
            _LOGGER.info("Energy threshold %.0f (%s)", self.energy_threshold,
                         "calibrated" if self._settings.energy_threshold is None else "configured")
        self._frames = _Frames(self.source)

    def recalibrate(self) -> None:
        """Measure the ambient noise again before the next phrase (the room got louder or quieter)."""
        if self._settings.energy_threshold is not None or self._settings.vad != "energy":
            _LOGGER.info("Not recalibrating: microphone.%s is set",
                         "energy_threshold" if self._settings.vad == "energy" else "vad")
            return
        self._recalibrate.set()

    def cut(self, number: int) -> None:
        """Phrase ``number`` was acted on: stop hearing it (thread-safe; takes effect at the next frame)."""
        self._cut = number

    def _calibrate(self) -> None:
        self._recognizer.adjust_for_ambient_noise(self.source, duration=self._settings.calibrate_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="va-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop at the next frame."""
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
            if self._recalibrate.is_set() and not self._endpointer.active:  # between phrases
                self._recalibrate.clear()
                self._calibrate()
                _LOGGER.info("Energy threshold %.0f (recalibrated)", self.energy_threshold)
            try:
                assert self._frames is not None  # open() made it
                frame = self._frames.read()
                now = self._clock()
            except Exception:  # noqa: BLE001 - a device hiccup must not end listening
                errors += 1
                if errors >= _MAX_ERRORS:
                    _LOGGER.error("Listening failed %d times in a row; giving up", errors, exc_info=True)
                    return
                _LOGGER.warning("Listening failed; trying again in 1 s", exc_info=True)
                self._stopping.wait(1.0)
                continue
            errors = 0
            if frame is None:  # a phrase cut off by the end of the input is not delivered
                self.exhausted = True
                _LOGGER.debug("End of the audio input")
                return
            for heard in self.gate(frame, now) if self.gate is not None else (frame,):
                self._hear(heard, now)

    def _hear(self, frame: bytes, now: float) -> None:
        cut, self._cut = self._cut, None
        if cut is not None:
            self._endpointer.cut(cut)
        assert self._detector is not None  # open() made it
        speech = self._detector.is_speech(frame, self._endpointer.active)
        for event in self._endpointer.feed(frame, speech, now):
            try:
                self._deliver(event)
            except Exception:  # noqa: BLE001 - one lost phrase, not a deaf assistant
                _LOGGER.exception("Handing over a phrase failed")

    def _deliver(self, event: Event) -> None:
        if isinstance(event, Ended):
            self.phrases += 1
            phrase = Phrase(event.pcm, event.at, max(0.0, event.at - event.last_loud), event.number)
            _LOGGER.debug("Phrase %d: %.2f s of audio, ended by %.2f s of quiet", event.number, phrase.duration,
                          phrase.silence)
            self._on_phrase(phrase)
        elif isinstance(event, Discarded):
            _LOGGER.debug("Phrase %d dropped: %s", event.number, event.why)
        if self._on_progress is not None:
            self._on_progress(event)
