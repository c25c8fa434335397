"""Known values of free-text parameters: declared in Python, carried in the grammar, shown by
`va commands` and `va match`, and preferred by the recognizer only when the audio supports them.

The recognizer's half uses a hand-written utterance; real audio is tests/test_recognition_e2e.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from va.cli.match import cli_match
from va.commands.registry import load_registry
from va.config import CommandSettings, Settings
from va.language.grammar import Grammar
from va.language.grammar_registry import GrammarRegistry, grammar_of
from va.language.parameters import Values
from va.server.recognition.recognizer import nearest_values, read
from va.stt.scoring import Hypothesis

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "home.py"


def load(path: Path):
    registry = load_registry(CommandSettings(modules=(), paths=(str(path),)))
    assert registry.failures == []
    return registry


def test_a_str_parameter_names_its_values_in_a_list_or_a_function_of_its_module():
    registry = load(EXAMPLE)

    assert list(registry.commands) == ["turn on", "play music", "open browser"]  # _artists is no command
    params = {command.name: command.parameters[0] for command in registry.commands.values()}
    assert params["turn_on"].values == ("kitchen lights", "bedroom fan", "living room lamp")
    assert params["play_music"].values == ("miles davis", "nina simone", "the beatles", "bob marley")
    assert params["open_browser"].kind == "str" and params["open_browser"].values == ("wikipedia", "github", "youtube")
    assert params["turn_on"].describe() == "device: str (kitchen lights, bedroom fan, living room lamp)"


def test_a_public_function_that_lists_values_is_not_a_command_and_one_that_fails_costs_only_its_values(tmp_path):
    module = tmp_path / "mine.py"
    module.write_text(textwrap.dedent("""
        from typing import Annotated, Optional
        from va.command import Values

        def rooms():
            return ["kitchen", "hall", "kitchen", " "]

        def broken():
            raise OSError("no music folder")

        def clean(room: Annotated[str, Values(rooms)]) -> str:
            return room

        def play(artist: Optional[Annotated[str, Values(broken, "queen")]] = None) -> str:
            return artist
    """))
    registry = load(module)

    assert list(registry.commands) == ["clean", "play"]
    assert registry.commands["clean"].parameters[0].values == ("kitchen", "hall")
    assert registry.commands["play"].parameters[0].values == ("queen",)
    assert not registry.commands["play"].parameters[0].required


def test_values_ride_in_the_hello_grammar_and_back():
    grammar = grammar_of(load(EXAMPLE))
    wire = json.loads(json.dumps(grammar.to_dict()))

    assert wire["commands"][0]["params"][0]["values"] == ["kitchen lights", "bedroom fan", "living room lamp"]
    back = Grammar.from_dict(wire)
    assert back == grammar
    assert GrammarRegistry(back).commands["play_music"].parameters[0].values[0] == "miles davis"


def test_the_nearest_values_are_judged_first():
    assert nearest_values("me room and", ("kitchen lights", "bedroom fan", "living room lamp"), 2) == [
        "bedroom fan", "living room lamp"]
    assert Values("a", ["b", "c"], lambda: ("d",)).resolve() == ("a", "b", "c", "d")


def test_va_match_shows_the_known_values_and_whether_the_words_are_one(tmp_path, capsys):
    settings = dataclasses.replace(Settings(), commands=CommandSettings(modules=(), paths=(str(EXAMPLE),)))

    cli_match(argparse.Namespace(text=["computer open browser repeated"], json=False), settings)
    first = capsys.readouterr().out
    cli_match(argparse.Namespace(text=["computer play music Miles Davis"], json=False), settings)
    second = capsys.readouterr().out

    assert "known site: wikipedia, github, youtube; heard 'repeated': not one of them" in first
    assert "known artist: miles davis, nina simone, the beatles, bob marley; heard 'Miles Davis': one of them" in second


class Audio:
    """Texts the "audio" supports: a forced text is judged at `logprob` when listed, far below otherwise."""

    def __init__(self, free: str, free_logprob: float, judged: Dict[str, float]) -> None:
        self.free = Hypothesis(free, free_logprob)
        self.judged = judged
        self.asked: List[str] = []

    def continue_after(self, prefixes: Sequence[str], lead: str = "", budget: Optional[int] = None) -> List[Hypothesis]:
        self.asked.extend(prefixes)
        out = []
        for prefix in prefixes:
            logprob = self.judged.get(prefix, -60.0)
            out.append(Hypothesis(prefix + " and so on", logprob - 5, logprob, -0.5, Hypothesis(prefix + ".", logprob, logprob, -0.5)))
        return out

    def alternatives(self, prefixes, n):
        return [[] for _ in prefixes]


@pytest.fixture(scope="module")
def home():
    return GrammarRegistry(grammar_of(load(EXAMPLE)))


def test_a_known_value_the_audio_supports_replaces_what_the_free_decode_wrote(home):
    audio = Audio("computer open browser with a video", -6.5, {" computer open browser Wikipedia": -3.4})

    reading = read("computer open browser with a video", home, "computer", audio)

    assert (reading.command, reading.args, reading.accepted) == ("open_browser", {"site": "wikipedia"}, True)
    assert reading.score == pytest.approx(3.1)
    assert "known value" in reading.why


def test_words_that_sound_like_no_known_value_stay_as_heard(home):
    audio = Audio("Computer, play music by Frank Sinatra.", -4.0, {" Computer, play music by Miles Davis": -19.0})

    reading = read("Computer, play music by Frank Sinatra.", home, "computer", audio)

    assert (reading.command, reading.args, reading.accepted) == ("play_music", {"artist": "Frank Sinatra"}, True)
    assert audio.asked  # the known values were judged, and lost


def test_a_known_value_heard_as_it_is_costs_no_decoding(home):
    class Untouchable(Audio):
        def continue_after(self, *args, **kwargs):
            raise AssertionError("no decoding for a value that is already known")

    reading = read("Computer, turn on the bedroom fan.", home, "computer", Untouchable("", 0.0, {}))
    assert (reading.command, reading.args, reading.score) == ("turn_on", {"device": "bedroom fan"}, 0.0)


def test_a_value_heard_after_the_is_tried_after_the(home):
    audio = Audio("Computer, turn on the bedroom fire.", -5.0, {" Computer, turn on the bedroom fan": -6.0})

    reading = read("Computer, turn on the bedroom fire.", home, "computer", audio)

    assert (reading.command, reading.args) == ("turn_on", {"device": "bedroom fan"})
    assert " Computer, turn on bedroom fan" not in audio.asked


def test_a_value_is_found_in_the_text_with_the_punctuation_the_decoder_put_in_it(home):
    audio = Audio("computer turn on the bedroom, fun", -5.0, {" computer turn on the bedroom fan": -6.0})

    reading = read("computer turn on the bedroom, fun", home, "computer", audio)

    assert (reading.command, reading.args) == ("turn_on", {"device": "bedroom fan"})
