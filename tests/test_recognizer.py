"""The recognizer's decisions, with a hand-written utterance in place of the model.

The model-backed half (real tiny.en, real speech, a real server) is tests/test_recognition_e2e.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from va.config import CommandSettings
from va.language.grammar_registry import GrammarRegistry, grammar_of
from va.server.recognition.prefixes import guided_prefixes, spoken_part
from va.server.recognition.recognizer import RecognizerSettings, read
from va.commands.registry import load_registry
from va.stt.scoring import Hypothesis

DEMO = Path(__file__).parent / "commands" / "demo.py"


@pytest.fixture(scope="module")
def grammar():
    registry = load_registry(CommandSettings(modules=("clock", "system", "web"), paths=(str(DEMO),)))
    return GrammarRegistry(grammar_of(registry))


class FakeUtterance:
    """Texts the "audio" supports: each forced prefix continues as `endings` says, at `logprob`."""

    def __init__(self, free: str, free_logprob: float, endings: Dict[str, tuple], keyword: float = -0.5) -> None:
        self.free = Hypothesis(free, free_logprob)
        self.endings = endings  # forced prefix -> (whole text, its logprob)
        self.keyword = keyword
        self.asked: List[str] = []

    def continue_after(self, prefixes: Sequence[str], lead: str = "", budget: Optional[int] = None) -> List[Hypothesis]:
        self.asked.extend(prefixes)
        judged = []
        for prefix in prefixes:
            text, logprob = self.endings.get(prefix, (prefix + " something else", -60.0))
            closed = Hypothesis(prefix + ".", logprob, logprob, self.keyword)
            judged.append(Hypothesis(text, logprob, logprob / 2, self.keyword, closed))
        return judged

    def alternatives(self, prefixes: Sequence[str], n: int) -> List[List[Hypothesis]]:
        return [[] for _ in prefixes]


class Untouchable:
    free = Hypothesis("", 0.0)

    def continue_after(self, prefixes, lead="", budget=None):
        raise AssertionError("the decoder must not run when the free transcript reads")

    alternatives = continue_after


def test_a_free_transcript_that_reads_costs_no_decoding(grammar):
    reading = read("Computer, set a timer for 25 minutes.", grammar, "computer", Untouchable())
    assert (reading.command, reading.args, reading.score, reading.accepted) == ("set_timer", {"minutes": 25.0}, 0.0, True)


def test_the_grammar_finds_what_the_free_transcript_garbled(grammar):
    utterance = FakeUtterance("Computer, set volume to family.", -6.0,
                              {" Computer, set volume": (" Computer, set volume to 70%.", -9.0)})

    reading = read("Computer, set volume to family.", grammar, "computer", utterance)

    assert (reading.command, reading.args, reading.accepted) == ("set_volume", {"percent": 70}, True)
    assert reading.score == pytest.approx(-3.0)
    assert " Computer, set volume" == utterance.asked[0]


def test_a_reading_far_below_the_free_transcript_is_rejected_and_says_why(grammar):
    utterance = FakeUtterance("The weather is lovely today.", -5.0, {})  # every reading costs 60

    reading = read("The weather is lovely today.", grammar, "computer", utterance)

    assert reading.command is not None and not reading.accepted
    assert "score -55.0 < -11" in reading.why


def test_a_keyword_the_audio_does_not_support_is_rejected(grammar):
    utterance = FakeUtterance("Turn the volume up.", -5.0,
                              {" Computer,": (" Computer, turn the volume up.", -9.0)}, keyword=-14.0)

    reading = read("Turn the volume up.", grammar, "computer", utterance, RecognizerSettings(margin=20))

    assert (reading.command, reading.accepted) == ("volume_up", False)
    assert "keyword -14.0 < -10" in reading.why


def test_a_transcript_without_the_keyword_is_heard_again_after_it(grammar):
    # "computer could you ..." written as "Can you ..."; with " Computer," forced the rest reads
    utterance = FakeUtterance("Can you turn it up?", -6.0, {" Computer,": (" Computer, could you turn it up?", -7.5)})

    reading = read("Can you turn it up?", grammar, "computer", utterance)

    assert utterance.asked[0] == " Computer,"
    assert (reading.command, reading.accepted, reading.score) == ("volume_up", True, -1.5)


def test_silence_is_never_read_as_a_command(grammar):
    assert read("", grammar, "computer", Untouchable()).accepted is False


def test_without_the_audio_only_the_free_transcript_counts(grammar):
    reading = read("Computer, set volume to family.", grammar, "computer", None)
    assert reading.command is None and not reading.accepted
    assert "percent" in reading.why


def test_prefixes_go_to_the_nearest_commands_with_the_keyword_as_written(grammar):
    prefixes = guided_prefixes("Computer. Set volume to family", grammar, "computer", 2)
    assert [text for _, text in prefixes][0] == " Computer. Set volume"
    assert len(prefixes) == 2
    glued = guided_prefixes("Computer-set volume to family", grammar, "computer", 1)
    assert [text for _, text in glued] == [" Computer set volume"]
    lost = guided_prefixes("Set volume to family", grammar, "computer", 1)
    assert [text for _, text in lost] == [" Computer, set volume"]


def test_prefixes_keep_what_was_said_before_the_name(grammar):
    def nearest(text):
        return guided_prefixes(text, grammar, "computer", 1)[0][1]

    assert nearest("Computer, could you set the volume to 5") == " Computer, could you set the volume"
    assert nearest("Computer kill you set volume to family") == " Computer kill you set volume"  # "could you", misheard
    assert nearest("Computer set a volume to family") == " Computer set a volume"
    assert nearest("Can you set volume to 5") == " Computer, set volume"  # no keyword: its words are the keyword


def test_a_reading_is_interpreted_without_its_opener():
    assert [text for _, text in spoken_part("Computer kill you set volume to 5", "computer")][:2] == [
        "Computer kill you set volume to 5", "Computer you set volume to 5"]
    assert spoken_part("Set volume to 5", "computer") == [(0, "Set volume to 5")]


def test_a_number_out_of_the_grammars_range_is_not_a_reading():
    from va.language.grammar import CommandSpec, Grammar, ParamSpec

    spec = CommandSpec("set_volume", ("set volume",), (ParamSpec("percent", "int", True, 0, 100),))
    grammar = GrammarRegistry(Grammar((spec,)))
    assert read("Computer, set volume to 70", grammar, "computer", None).accepted
    assert not read("Computer, set volume to 700", grammar, "computer", None).accepted


VOLUME = '''
from typing import Annotated
from va.command import Range

def set_volume(percent: Annotated[int, Range(0, 100)]):
    "Set the volume."
'''


def test_a_number_outside_its_declared_range_is_not_the_reading(tmp_path):
    module = tmp_path / "volume.py"
    module.write_text(VOLUME)
    grammar = GrammarRegistry(grammar_of(load_registry(CommandSettings(modules=(), paths=(str(module),)))))
    assert grammar.grammar.to_dict()["commands"][0]["params"][0] == {
        "name": "percent", "kind": "int", "required": True, "min": 0, "max": 100}

    assert read("Computer, set volume to 70.", grammar, "computer", None).accepted
    assert not read("Computer, set volume to 170.", grammar, "computer", None).accepted
    utterance = FakeUtterance("Computer, set volume to 170.", -6.0,
                              {" Computer, set volume": (" Computer, set volume to 70%.", -9.0)})
    reading = read("Computer, set volume to 170.", grammar, "computer", utterance)
    assert (reading.command, reading.args, reading.accepted) == ("set_volume", {"percent": 70}, True)
