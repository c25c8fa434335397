"""va hears the room while it speaks, through PulseAudio's echo cancellation (WebRTC) instead of
the gate: va plays into the echo-cancel sink, its speaker's sound reaches the room (a null sink)
through a loopback, and the microphone is the echo-cancelled source (sound_server.ECHO_SCRIPT).
With `speech.gate: false`: va's own sound is more than 10 dB lower in the cancelled source.
Whether the leftover echo of a reply with the keyword ran anything is printed, not asserted (it
did once in about 12 runs). Whether a person as loud as va is heard over it is measured, not
tested: heard in 6 of 6 runs through PortAudio, but missed once in CI through pacat
(docs/speech.md). Whether that person's keyword stops va is printed, not asserted: on
this machine the keyword was lost under va's voice in every run (docs/speech.md).
"""

from __future__ import annotations

import time
from typing import Iterator

import numpy as np
import pytest

from procs import FIXTURES, wait_until
from sound_server import PulseAudio
from test_speech import Recording, _client, _runs, pytestmark as speech_marks, segments

pytestmark = speech_marks


@pytest.fixture(scope="module")
def room(tmp_path_factory) -> Iterator[PulseAudio]:
    with PulseAudio(tmp_path_factory.mktemp("pulse-echo")) as server:
        failed = server.echo_cancel()
        if failed is not None:
            pytest.skip(f"PulseAudio's module-echo-cancel could not be set up: {failed}")
        yield server


@pytest.fixture(scope="module")
def server_port(tmp_path_factory) -> Iterator[int]:
    from procs import start_server, write_config

    folder = tmp_path_factory.mktemp("server")
    server = start_server(folder, write_config(folder / "server.yaml", 0))
    yield server.port
    server.stop()


def _db(audio: np.ndarray, start: float, end: float) -> float:
    part = audio[int(start * 16000):int(end * 16000)]
    return 20 * np.log10(np.sqrt((part ** 2).mean()) + 1e-3)


def test_echo_cancelled_a_reply_with_the_keyword_runs_nothing(tmp_path, room, server_port):
    reply = "Computer, what time is it? It is ten past four."
    client = _client(tmp_path, room, server_port, reply, gate=False)
    raw = Recording(room, tmp_path / "room.wav")  # what a microphone without cancelling hears
    cancelled = Recording(room, tmp_path / "cancelled.wav", "va_ec_source")
    try:
        room.play(FIXTURES / "time-joe.wav")
        wait_until(lambda: "Played the reply" in client.text() or "Stopped playing" in client.text(),
                   "the reply to be played", client)
        time.sleep(4)  # the echo, had it been heard as a phrase, would have run by now
    finally:
        heard, left = raw.stop(), cancelled.stop()
        client.stop()
    log = client.text()
    # what the leftover echo did is reported, not asserted: in 1 of about 12 runs it ran something or
    # stopped va (docs/speech.md: keep the gate where va's replies say commands)
    print(f"echo-cancel: {len(_runs(tmp_path))} run(s); va stopped itself: {'Stopped playing' in log}")
    assert len(_runs(tmp_path)) >= 1, log[-3000:]
    parts = segments(heard)
    assert len(parts) >= 2, parts
    person, said = parts[0], (parts[1][0], parts[-1][1])  # the command, then va's reply
    person_kept = _db(left, *person) - _db(heard, *person)
    attenuation = _db(heard, *said) - _db(left, *said)
    print(f"echo-cancel: va's reply {attenuation:.1f} dB lower in the cancelled source; the person {person_kept:+.1f} dB")
    assert attenuation > 10, (attenuation, person_kept)
