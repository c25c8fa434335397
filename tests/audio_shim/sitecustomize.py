"""Loaded into the client process only (first on its PYTHONPATH) by tests/test_microphone_path.py.

It makes every PortAudio input device behave like a USB card that offers one rate
($VA_TEST_ONLY_RATE, e.g. 48000: opening it at any other rate fails as PortAudio's
"Invalid sample rate" does) and whose stream overflows on every $VA_TEST_OVERFLOW_EVERY-th read
(a reader that asks for exceptions gets PortAudio's "Input overflowed", as PyAudio raises it).
The audio itself still comes from the real device through the real PyAudio.
"""

import os

import pyaudio

RATE = int(os.environ.get("VA_TEST_ONLY_RATE", "0"))
EVERY = int(os.environ.get("VA_TEST_OVERFLOW_EVERY", "0"))

_open = pyaudio.PyAudio.open
_info = pyaudio.PyAudio.get_device_info_by_index
_default_info = pyaudio.PyAudio.get_default_input_device_info


class _Overflowing:
    def __init__(self, stream):
        self._stream = stream
        self._reads = 0

    def read(self, frames, exception_on_overflow=True):
        self._reads += 1
        data = self._stream.read(frames, exception_on_overflow=False)
        if self._reads % EVERY == 0 and exception_on_overflow:
            raise OSError(pyaudio.paInputOverflowed, "Input overflowed")
        return data

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _open_one_rate(self, *args, **kwargs):
    if RATE and kwargs.get("input") and int(kwargs.get("rate", 0)) != RATE:
        raise OSError(pyaudio.paInvalidSampleRate, "Invalid sample rate")
    stream = _open(self, *args, **kwargs)
    return _Overflowing(stream) if EVERY else stream


def _with_rate(info):
    return {**info, "defaultSampleRate": float(RATE)} if RATE else info


pyaudio.PyAudio.open = _open_one_rate
pyaudio.PyAudio.get_device_info_by_index = lambda self, index: _with_rate(_info(self, index))
pyaudio.PyAudio.get_default_input_device_info = lambda self: _with_rate(_default_info(self))
