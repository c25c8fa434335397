"""Playing through the sound server's own client, `pacat` (PulseAudio, or PipeWire's pipewire-pulse).

Through ALSA's pulse plugin, a stream written only while va speaks runs dry between clauses, and
the plugin's recovery then drops what the sound server still holds: part of a reply was lost now
and then (docs/speech.md). `pacat` keeps its own stream to the server, so nothing is dropped.
Its pipe is made small and its latency short, so va writes at the pace it plays and the gate's
tail covers what is still on its way; a barge-in kills it, which silences it at once.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
from typing import Any, Optional

_LOGGER = logging.getLogger(__name__)

LATENCY_MS = 100
"""How much the sound server holds ahead of the speaker."""
PIPE_BYTES = 4096
"""The pipe to pacat (about 93 ms at 22.05 kHz): with LATENCY_MS, under the gate's 0.3 s tail."""
_F_SETPIPE_SZ = 1031  # Linux


def available() -> bool:
    """Whether a sound server answers and `pacat` is installed."""
    from va.client.soundroute import find_sound_server

    return find_sound_server() is not None and shutil.which("pacat") is not None


class ServerOutput:
    """One `pacat --playback` at a time, at one rate; restarted on a new rate or after a kill."""

    def __init__(self) -> None:
        self._process: Optional[subprocess.Popen] = None
        self._rate = 0

    def write(self, pcm: bytes, rate: int) -> None:
        if self._process is None or self._process.poll() is not None or rate != self._rate:
            self.close_stream()
            self._process = self._start(rate)
            self._rate = rate
        stdin: Any = self._process.stdin
        try:
            stdin.write(pcm)
            stdin.flush()
        except (BrokenPipeError, ValueError):  # killed by abort(): the clip is being dropped
            pass

    def abort(self) -> None:
        """Silence now: what the sound server holds is dropped with the stream."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def close_stream(self) -> None:
        if self._process is None:
            return
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process.wait(2)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self._process.kill()
        self._process = None

    def close(self) -> None:
        self.close_stream()

    def _start(self, rate: int) -> subprocess.Popen:
        process = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={rate}", "--channels=1",
             f"--latency-msec={LATENCY_MS}", "--client-name=va", "--stream-name=va speech"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            fcntl.fcntl(process.stdin.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        except OSError:
            _LOGGER.debug("cannot shrink the pipe to pacat; its buffer stays larger", exc_info=True)
        return process
