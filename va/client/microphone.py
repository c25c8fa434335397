"""Audio sources for the listener, and `va devices`.

Two sources give SpeechRecognition the same kind of stream (s16le mono chunks): the microphone
(PyAudio, 16 kHz when the device allows it) and ``FileSource``, which plays audio files for
``va client --input`` with silence around them, so that calibration and the pause detector treat
them like speech heard by a microphone.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Sequence, Union

from va.config.settings import MicrophoneSettings, Settings
from va.protocol import SAMPLE_RATE, SAMPLE_WIDTH  # what the server wants: s16le mono 16 kHz

with warnings.catch_warnings():
    # SpeechRecognition imports aifc and audioop: deprecated on Python 3.11-3.12, and on 3.13 their
    # PyPI replacements (standard-aifc) warn too. va reads no AIFF through them: keep `-W error` working.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import speech_recognition as sr
    except ImportError:  # the client extra is missing; `va devices` and the error messages still work
        sr = None

from va.client import soundroute

_LOGGER = logging.getLogger(__name__)

CHUNK = 1024
"""Frames per read (64 ms at 16 kHz): SpeechRecognition's default."""

NO_MICROPHONE_HELP = "list the devices with `va devices`, or feed audio files with `va client --input FILE...`"

_AudioSource: Any = sr.AudioSource if sr is not None else object


class AudioUnavailable(Exception):
    """No audio to listen to; the message says what is missing and what to do."""


@dataclass(frozen=True)
class Device:
    """An audio input device as PortAudio sees it."""

    index: int
    name: str
    channels: int
    rate: int
    """The device's default sample rate in Hz."""


def list_devices() -> List[Device]:
    """The input devices, in PortAudio's order. Raises ``AudioUnavailable`` without PyAudio."""
    pyaudio = _pyaudio()
    with _quiet_native_stderr():
        audio = pyaudio.PyAudio()
        try:
            infos = [audio.get_device_info_by_index(index) for index in range(audio.get_device_count())]
        finally:
            audio.terminate()
    return [
        Device(int(info["index"]), str(info.get("name")), int(info["maxInputChannels"]), int(info["defaultSampleRate"]))
        for info in infos
        if int(info.get("maxInputChannels", 0)) > 0
    ]


def resolve_device(wanted: Union[int, str, None], devices: Sequence[Device]) -> Optional[Device]:
    """The device that ``microphone.device`` names: an index, a piece of a name, or None (default)."""
    if wanted is None:
        return None
    if isinstance(wanted, int):
        found = [device for device in devices if device.index == wanted]
    else:
        found = [device for device in devices if wanted.lower() in device.name.lower()]
    if not found:
        names = ", ".join(f"{device.index}: {device.name}" for device in devices) or "none"
        raise AudioUnavailable(f"no input device matches microphone.device {wanted!r} (input devices: {names}); {NO_MICROPHONE_HELP}")
    return found[0]


def open_microphone(settings: MicrophoneSettings) -> "Microphone":
    """The microphone that the ``microphone`` settings name; ``AudioUnavailable`` if there is none."""
    _require_speech_recognition()
    devices = list_devices()
    if not devices:
        raise AudioUnavailable(f"no microphone found: PortAudio sees no input device; {NO_MICROPHONE_HELP}")
    device = resolve_device(settings.device, devices)
    return Microphone(device)


def _require_speech_recognition() -> None:
    if sr is None:
        raise AudioUnavailable("SpeechRecognition is not installed: pip install 'va[client]'")


def _pyaudio() -> Any:
    try:
        import pyaudio
    except ImportError:
        raise AudioUnavailable(f"PyAudio is not installed (pip install 'va[client]'), so no microphone can be used; {NO_MICROPHONE_HELP}") from None
    return pyaudio


class Microphone(_AudioSource):
    """A PyAudio input device, 16 kHz when it allows, else its own rate (the listener resamples)."""

    def __init__(self, device: Optional[Device]) -> None:
        self.device = device
        self.label = device.name if device else "the default microphone"
        self._inner: Any = None
        self.stream: Any = None

    # SpeechRecognition reads these from the source
    @property
    def SAMPLE_RATE(self) -> int:  # noqa: N802
        return self._inner.SAMPLE_RATE

    @property
    def SAMPLE_WIDTH(self) -> int:  # noqa: N802
        return self._inner.SAMPLE_WIDTH

    @property
    def CHUNK(self) -> int:  # noqa: N802
        return self._inner.CHUNK

    def __enter__(self) -> Microphone:
        index = self.device.index if self.device else None
        for rate in (SAMPLE_RATE, None):  # None: the device's default rate, for cards without 16 kHz
            with _quiet_native_stderr():
                inner = sr.Microphone(device_index=index, sample_rate=rate, chunk_size=CHUNK)
                inner.__enter__()
            if inner.stream is not None:  # sr.Microphone swallows PortAudio's error and leaves stream None
                self._inner, self.stream = inner, inner.stream
                _LOGGER.info("Listening on %s at %d Hz (%s)", self.label, inner.SAMPLE_RATE,
                             soundroute.describe(self.device.name if self.device else "default", soundroute.find_sound_server()))
                return self
            _LOGGER.debug("%s does not open at %s Hz", self.label, rate or "its default")
        raise AudioUnavailable(f"cannot open {self.label}; {NO_MICROPHONE_HELP}")

    def __exit__(self, *exc_info: Any) -> None:
        inner, self._inner = self._inner, None
        # the listener may have wrapped our stream; the inner one is what PyAudio must close
        self.stream = None
        if inner is not None:
            inner.__exit__(None, None, None)


class FileSource(_AudioSource):
    """Audio files played as one 16 kHz mono stream, with silence before, between and after them.

    ``pace`` None reads as fast as the listener asks (the default: tests and benchmarks need no
    real-time wait); 1.0 plays in real time, 2.0 twice as fast.
    """

    SAMPLE_RATE = SAMPLE_RATE
    SAMPLE_WIDTH = SAMPLE_WIDTH
    CHUNK = CHUNK

    def __init__(
        self,
        paths: Sequence[str],
        lead_seconds: float = 2.0,
        gap_seconds: float = 1.0,
        pace: Optional[float] = None,
        sleep: Callable[[float], None] = time.sleep,
        start_at: Optional[float] = None,
    ) -> None:
        """``start_at``: with ``pace``, the wall-clock time (time.time()) its first sample plays."""
        _require_speech_recognition()
        self.paths = [str(path) for path in paths]
        self.label = f"{len(self.paths)} audio file(s)"
        lead = _silence(lead_seconds)
        gap = _silence(gap_seconds)
        self._pcm = lead + b"".join(decode_file(path) + gap for path in self.paths)
        self._pace = pace
        self._sleep = sleep
        self._start_at = start_at
        self.stream: Optional[_PcmStream] = None

    @classmethod
    def for_settings(cls, paths: Sequence[str], microphone: Any, pace: Optional[float] = None,
                     start_at: Optional[float] = None) -> FileSource:
        """Silence that suits the settings: calibration gets its own, and each gap ends a phrase."""
        return cls(
            paths,
            lead_seconds=microphone.calibrate_seconds + 1.0,
            gap_seconds=max(1.0, microphone.pause_threshold + 0.25),
            pace=pace,
            start_at=start_at,
        )

    def __enter__(self) -> FileSource:
        self.stream = _PcmStream(self._pcm, self._pace, self._sleep)
        if self._start_at is not None and self._pace:
            self.stream.started += self._start_at - time.time()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stream = None


Source = Union[Microphone, FileSource]
"""What the listener hears from."""


class _PcmStream:
    """Reads of ``size`` frames from PCM bytes; b"" at the end, as SpeechRecognition expects."""

    def __init__(self, pcm: bytes, pace: Optional[float], sleep: Callable[[float], None]) -> None:
        self._pcm = memoryview(pcm)
        self._position = 0
        self._pace = pace
        self._sleep = sleep
        self.started = time.monotonic()

    def read(self, size: int) -> bytes:
        chunk = bytes(self._pcm[self._position : self._position + size * SAMPLE_WIDTH])
        self._position += len(chunk)
        if self._pace and chunk:
            due = self.started + self._position / (SAMPLE_RATE * SAMPLE_WIDTH) / self._pace
            self._sleep(max(0.0, due - time.monotonic()))
        return chunk

    def close(self) -> None:
        self._pcm = memoryview(b"")


def decode_file(path: str) -> bytes:
    """A WAV, AIFF or FLAC file as s16le mono 16 kHz PCM; ``AudioUnavailable`` if it cannot be read."""
    _require_speech_recognition()
    try:
        with sr.AudioFile(str(path)) as audio_file:
            data = sr.AudioData(audio_file.stream.read(-1), audio_file.SAMPLE_RATE, audio_file.SAMPLE_WIDTH)
    except (OSError, EOFError, ValueError, AssertionError) as error:
        raise AudioUnavailable(f"cannot read {path}: {error or type(error).__name__} (WAV, AIFF or FLAC expected)") from None
    return data.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=SAMPLE_WIDTH)


def _silence(seconds: float) -> bytes:
    return bytes(int(seconds * SAMPLE_RATE) * SAMPLE_WIDTH)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Hide ALSA's and JACK's C-level chatter while PortAudio probes devices (shown with --debug)."""
    if _LOGGER.isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def cli_devices(args: argparse.Namespace, settings: Settings) -> int:
    """`va devices`: print the input devices; mark the one the settings choose."""
    try:
        devices = list_devices()
    except AudioUnavailable as error:
        print(error)
        return 2
    server = soundroute.find_sound_server()
    if not devices:
        print("No audio input devices found. Connect a microphone, or feed audio files with `va client --input FILE...`.")
        print(f"sound server: {server or 'none reachable from this process'}")
        return 1
    try:
        chosen = resolve_device(settings.microphone.device, devices)
    except AudioUnavailable as error:
        chosen = None
        print(error)
    print(f"{'index':>5}  {'channels':>8}  {'rate':>6}  name  [way to the microphone]")
    for device in devices:
        mark = "  <- microphone.device" if chosen == device else ""
        print(f"{device.index:>5}  {device.channels:>8}  {device.rate:>6}  {device.name}  [{soundroute.route(device.name)}]{mark}")
    print(f"sound server: {server or 'none reachable from this process'}")
    name = chosen.name if chosen else "default"
    print(f"va listens on: {name}{'' if chosen else ' (microphone.device not set)'}, {soundroute.describe(name, server)}")
    return 0
