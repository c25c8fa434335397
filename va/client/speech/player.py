"""Plays speech and sounds on an output device, one clip after another, in a thread of its own.

A clip is an iterator of 16-bit mono PCM pieces at one rate (a reply is made while it plays).
`stop()` abandons the clip playing and those waiting (barge-in): the device then plays at most
what it has buffered, a piece of `PIECE_FRAMES`. `playing` and `ended_at` tell the microphone's
gate when va's own sound may be in the room.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

from va.errors import SetupError

_LOGGER = logging.getLogger(__name__)

PIECE_FRAMES = 1024
"""Frames written to the device at a time: about 46 ms at 22.05 kHz, the most a stop lets through."""


@dataclass(frozen=True)
class Clip:
    label: str
    pcm: Callable[[], Iterable[bytes]]
    """Made when the clip's turn comes (speech is synthesised on the player's thread)."""
    rate: int
    asked_at: float = field(default_factory=time.monotonic)


class Output:
    """A PortAudio output stream at one rate (PyAudio), opened on first use, reopened on a new rate.

    Used where no sound server answers (plain ALSA) or `speech.device` names a device: through
    ALSA's pulse plugin it loses part of a reply when it runs dry between clauses, which is why a
    sound server gets va.client.speech.server_output instead."""

    def __init__(self, device: Union[int, str, None]) -> None:
        try:
            import pyaudio
        except ImportError:
            raise SetupError("speech needs PyAudio to play: pip install 'va[client]'") from None
        self._pyaudio = pyaudio
        self._audio: Any = pyaudio.PyAudio()
        self.index = output_device(self._audio, device)
        self._stream: Any = None
        self._rate = 0

    def write(self, pcm: bytes, rate: int) -> None:
        if self._stream is None or rate != self._rate:
            self.close_stream()
            self._stream = self._audio.open(format=self._pyaudio.paInt16, channels=1, rate=rate, output=True,
                                            output_device_index=self.index, frames_per_buffer=PIECE_FRAMES)
            self._rate = rate
        self._stream.write(pcm)

    def close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self.close_stream()
        self._audio.terminate()


def open_output(device: Union[int, str, None]) -> Any:
    """The sound server's own client when one answers and no device is named (nothing of a reply
    is dropped there: va.client.speech.server_output); else a PortAudio stream on `device`."""
    from va.client.speech import server_output

    if device is None and server_output.available():
        return server_output.ServerOutput()
    return Output(device)


def output_device(audio: Any, wanted: Union[int, str, None]) -> Optional[int]:
    """The index of the output device `speech.device` names (an index or part of a name); None: default."""
    if wanted is None:
        return None
    infos = [audio.get_device_info_by_index(index) for index in range(audio.get_device_count())]
    outputs = [info for info in infos if int(info.get("maxOutputChannels", 0)) > 0]
    found = [info for info in outputs if (info["index"] == wanted if isinstance(wanted, int) else str(wanted).lower() in str(info["name"]).lower())]
    if not found:
        names = ", ".join(f"{info['index']}: {info['name']}" for info in outputs) or "none"
        raise SetupError(f"no output device matches speech.device {wanted!r} (output devices: {names})")
    return int(found[0]["index"])


class Player:
    """One thread, one clip at a time; every method may be called from any thread."""

    def __init__(self, output: Any, volume: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._output = output
        self._volume = volume
        self._clock = clock
        self._clips: "queue.Queue[Optional[Clip]]" = queue.Queue()
        self._generation = 0  # stop() moves it on: pieces of an older clip are not written
        self.playing = False
        self.ended_at = float("-inf")
        """clock() when the last clip ended (the gate's tail counts from here)."""
        self.played = 0
        """Clips played to their end."""
        self._thread = threading.Thread(target=self._run, name="va-speech", daemon=True)
        self._thread.start()

    def play(self, clip: Clip) -> None:
        self._clips.put(clip)

    def stop(self) -> bool:
        """Abandon what plays and what waits; True when something was playing."""
        was = self.playing or not self._clips.empty()
        self._generation += 1
        abort = getattr(self._output, "abort", None)
        if abort is not None and self.playing:
            abort()
        while not self._clips.empty():
            try:
                self._clips.get_nowait()
            except queue.Empty:
                break
        return was

    def close(self) -> None:
        self.stop()
        self._clips.put(None)
        self._thread.join(5)
        self._output.close()

    def _run(self) -> None:
        while True:
            clip = self._clips.get()
            if clip is None:
                return
            generation = self._generation
            try:
                finished = self._play(clip, generation)
            except Exception:  # noqa: BLE001 - a broken device or voice loses one clip, not the daemon
                _LOGGER.exception("Playing %s failed", clip.label)
                finished = False
            finally:
                self.playing = False
                self.ended_at = self._clock()
            if finished:
                self.played += 1
                _LOGGER.info("Played %s", clip.label)
            else:
                _LOGGER.info("Stopped playing %s", clip.label)

    def _play(self, clip: Clip, generation: int) -> bool:
        piece = PIECE_FRAMES * 2
        for pcm in self._ahead(clip, generation):
            pcm = scaled(pcm, self._volume)
            for start in range(0, len(pcm), piece):
                if generation != self._generation:
                    return False
                if not self.playing:  # from the first sound on: the gate closes when va is heard
                    self.playing = True
                    _LOGGER.info("Playing %s: first audio %.0f ms after it was asked for", clip.label,
                                 (self._clock() - clip.asked_at) * 1000)
                self._output.write(pcm[start:start + piece], clip.rate)
        return generation == self._generation


    def _ahead(self, clip: Clip, generation: int) -> Iterable[bytes]:
        """The clip's pieces, made in a thread of their own while the earlier ones play: a reply's
        next clause is synthesised while its first is heard, so no gap opens between them."""
        made: "queue.Queue[object]" = queue.Queue()
        done = object()

        def make() -> None:
            try:
                for pcm in clip.pcm():
                    if generation != self._generation:
                        break  # stopped: the rest would be thrown away
                    made.put(pcm)
            except Exception as error:  # noqa: BLE001 - handed to the playing thread, which logs it
                made.put(error)
            finally:
                made.put(done)

        threading.Thread(target=make, name="va-speech-synth", daemon=True).start()
        while (item := made.get()) is not done:
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]


def scaled(pcm: bytes, volume: float) -> bytes:
    if volume >= 1.0:
        return pcm
    from array import array

    samples = array("h", pcm)
    return array("h", (int(sample * volume) for sample in samples)).tobytes()
