"""The phrase belongs to the person who said the keyword (va.client.foreground).

Pure checks of the level tracker, then real audio: a command with a real recorded talker going on
after it, through the real WebRTC detector, the endpointer and the bundled tiny.en.
"""

from __future__ import annotations

import dataclasses
import math
import wave
from array import array
from pathlib import Path

import numpy as np
import pytest

from va.client.endpoint import Ended, Endpointer
from va.client.foreground import Foreground, level_db
from va.client.vad import FRAME_BYTES, FRAME_SAMPLES, FRAME_SECONDS, WebRtcDetector
from va.config import CommandSettings, MicrophoneSettings, ServerSettings

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS_COMMANDS = Path(__file__).parent.parent / "bench" / "corpus" / "commands.py"


def tone(db: float) -> bytes:
    """A 30 ms frame of a 200 Hz tone at `db` dBFS (RMS)."""
    amplitude = 32768 * 10 ** (db / 20) * math.sqrt(2)
    return array("h", (int(amplitude * math.sin(2 * math.pi * 200 * n / 16000)) for n in range(FRAME_SAMPLES))).tobytes()


def test_a_voice_well_below_the_loudest_of_the_phrase_is_not_its_speech():
    foreground = Foreground(drop_db=8)
    near = [foreground.speech(tone(-20), True) for _ in range(20)]
    far = [foreground.speech(tone(-32), True) for _ in range(20)]  # 12 dB below: the TV
    close = [foreground.speech(tone(-24), True) for _ in range(20)]  # 4 dB below: still the speaker

    assert all(near) and not any(far[5:]) and all(close[5:])
    assert level_db(tone(-20)) == pytest.approx(-20, abs=0.1)


def test_each_phrase_measures_its_own_speaker():
    foreground = Foreground(drop_db=8)
    for _ in range(10):
        foreground.speech(tone(-10), True)
    for _ in range(10):
        foreground.speech(tone(-60), False, in_phrase=False)  # between phrases
    assert foreground.speech(tone(-30), True, in_phrase=False)  # a softer speaker's new phrase


def read_wav(name: str) -> bytes:
    with wave.open(str(FIXTURES / name)) as wav:
        return wav.readframes(wav.getnframes())


def phrase(pcm: bytes, foreground):
    """The first phrase the client's endpointer delivers: (its last speech frame's end, its pcm),
    or (None, everything) when it never ends."""
    detector = WebRtcDetector(2)
    endpointer = Endpointer(MicrophoneSettings().pause_threshold, preroll=0.5, start_frames=2, foreground=foreground)
    for index in range(len(pcm) // FRAME_BYTES):
        frame = pcm[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        for event in endpointer.feed(frame, detector.is_speech(frame, endpointer.active), index * FRAME_SECONDS):
            if isinstance(event, Ended):
                return event.last_loud + FRAME_SECONDS, event.pcm
    return None, pcm


# fixture -> (where the command ends, s; what runs)
TALKED_OVER = {
    "foreground-shopping-m3.wav": (2.76, ("add_to_shopping_list", {"item": "olive oil"})),
    "foreground-play-f3.wav": (2.86, ("play_music", {"query": "the beatles"})),
}


@pytest.mark.slow
def test_a_phrase_with_a_talker_after_it_ends_where_the_speaker_stopped_and_runs_their_words():
    """A real recorded talker 12 dB below goes on for 3 s after the command: without the
    foreground filter the phrase never ends (and the talker's words run into the free text:
    "olive oil Please try again to increase"); with it the phrase ends at the speaker's last word
    and reads as they said it."""
    from va.commands.registry import load_registry
    from va.language.grammar_registry import GrammarRegistry, grammar_of
    from va.server.recognition.recognizer import read
    from va.stt import create_engine

    registry = load_registry(CommandSettings(modules=(), paths=(str(CORPUS_COMMANDS),)))
    grammar = GrammarRegistry(grammar_of(registry))
    engine = create_engine(dataclasses.replace(ServerSettings(), device="cpu"))

    def ran(pcm: bytes):
        audio = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
        _, reading = engine.judge(audio, None, lambda text, utterance: read(text.text, grammar, "computer", utterance))
        return (reading.command, {k: v.lower() for k, v in reading.args.items()}) if reading.accepted else None

    for name, (end, call) in TALKED_OVER.items():
        pcm = read_wav(name)
        assert phrase(pcm, None)[0] is None, name  # today: it never ends
        cut, delivered = phrase(pcm, Foreground(8.0))
        assert cut is not None and -0.3 <= cut - end <= 0.4, (name, cut)
        assert ran(delivered) == call, name
        assert ran(pcm) != call, name  # the whole phrase, talker and all, reads wrong
