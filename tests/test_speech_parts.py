"""The pure parts of va's speech: the microphone's gate, the sounds, the clauses a reply is made in,
and `va check` on a voice that is not there."""

from __future__ import annotations

import subprocess
import sys
from array import array

from procs import ROOT, environment, write_config

from va.client.endpoint import Discarded, Started
from va.client.speech.barge import Interrupter
from va.client.speech.gate import BARGE_IN_FRAMES, LEARN_FRAMES, Gate
from va.client.speech.sounds import KINDS, sound
from va.client.speech.tts import clauses


def frame(level: int) -> bytes:
    return array("h", [level, -level] * 240).tobytes()


class FakePlayer:
    def __init__(self) -> None:
        self.playing = False
        self.ended_at = float("-inf")
        self.stops = 0

    def stop(self) -> bool:
        self.stops += 1
        self.playing = False
        self.ended_at = 0.0
        return True


def gate_for(player: FakePlayer) -> Gate:
    return Gate(lambda: player.playing, lambda: player.ended_at, player.stop, tail=0.3, barge_in_db=10.0)


def test_without_the_gate_a_phrase_begun_over_va_stops_it_when_it_reads_as_the_keyword():
    player = FakePlayer()
    interrupter = Interrupter(lambda: player.playing, player.stop, "computer")
    interrupter.progress(Started(1, b""))
    interrupter.reading("Computer, what time is it?")
    assert player.stops == 0  # begun before va spoke: an ordinary phrase
    player.playing = True
    interrupter.progress(Started(2, b""))
    interrupter.reading("now I went from the west")  # va's own echo, left after cancelling
    assert player.stops == 0
    interrupter.reading("Computer, what")
    assert player.stops == 1
    player.playing = True
    interrupter.progress(Started(3, b""))
    interrupter.progress(Discarded(3, "too short"))
    interrupter.reading("Computer")  # a late reading of a phrase no longer heard
    assert player.stops == 1


def test_without_the_gate_the_echo_of_vas_own_keyword_stops_nothing():
    player = FakePlayer()
    player.playing = True
    interrupter = Interrupter(lambda: player.playing, player.stop, "computer",
                              saying=lambda: "Computer, what time is it? It is ten past four.")
    interrupter.progress(Started(1, b""))
    interrupter.reading("Computer.")  # read from va's own echo
    assert player.stops == 0
    interrupter.reading("Computer, stop.")
    assert player.stops == 1


def test_without_the_gate_the_speech_rule_stops_va_when_any_phrase_begins_over_it():
    player = FakePlayer()
    interrupter = Interrupter(lambda: player.playing, player.stop, "computer", rule="speech")
    interrupter.progress(Started(1, b""))
    assert player.stops == 0
    player.playing = True
    interrupter.progress(Started(2, b""))
    assert player.stops == 1


def test_the_gate_hears_nothing_while_va_plays_and_for_its_tail():
    player = FakePlayer()
    gate = gate_for(player)
    assert gate(frame(2000), 0.0) == [frame(2000)]
    player.playing = True
    assert gate(frame(2000), 1.0) == [bytes(960)]
    player.playing, player.ended_at = False, 2.0
    assert gate(frame(2000), 2.2) == [bytes(960)]  # the tail: the room's echo
    assert gate(frame(2000), 2.31) == [frame(2000)]


def test_a_voice_ten_db_louder_than_va_barges_in_and_keeps_its_first_frames():
    player = FakePlayer()
    gate = gate_for(player)
    player.playing = True
    for index in range(LEARN_FRAMES + 5):
        gate(frame(1000), index * 0.03)
    assert gate(frame(2500), 1.0) == [bytes(960)]  # 8 dB louder: one of va's loud syllables
    heard = [gate(frame(4000), 1.0 + index * 0.03) for index in range(BARGE_IN_FRAMES)]
    assert player.stops == 1
    assert heard[-1] == [frame(4000)] * BARGE_IN_FRAMES  # the person's start is not lost
    assert gate(frame(300), 1.2) == [frame(300)]  # no tail after a barge-in: the person goes on


def test_no_barge_in_before_va_has_been_heard():
    player = FakePlayer()
    gate = gate_for(player)
    player.playing = True
    for index in range(BARGE_IN_FRAMES + 2):
        assert gate(frame(8000), index * 0.03) == [bytes(960)]
    assert player.stops == 0


def test_each_sound_is_short_and_never_clips():
    for kind in KINDS:
        samples = array("h", sound(kind, 22050))
        assert 0.1 < len(samples) / 22050 < 0.6, kind
        assert max(map(abs, samples)) < 32767 / 2, kind


def test_a_reply_is_made_in_clauses_of_four_words_or_more():
    assert clauses("Computer, what time is it? It is ten past four.") == ["Computer, what time is it?", "It is ten past four."]
    assert clauses("  Done.  ") == ["Done."]


def test_va_check_fails_in_one_line_when_the_voice_is_missing(tmp_path):
    config = write_config(tmp_path / "config.yaml", 8001, {"speech": {"enabled": True, "voice": str(tmp_path / "x.onnx")}})
    result = subprocess.run([sys.executable, "-m", "va", "check", "--config", str(config)], capture_output=True, text=True,
                            env=environment(tmp_path), cwd=ROOT, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"error: speech.voice '{tmp_path / 'x.onnx'}': not a Piper voice file (a .onnx file, or 'joe')" in result.stdout
    assert "Traceback" not in result.stderr
