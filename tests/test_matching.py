"""From a transcript, as Whisper writes it, to the command that would run."""

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from va.config import CommandSettings, Settings
from va.cli.match import cli_match
from va.language.matching import _interpret, interpret
from va.commands.registry import load_registry

DEMO = Path(__file__).parent / "commands" / "demo.py"
COMMAND_SETTINGS = CommandSettings(modules=("clock", "system", "web"), paths=(str(DEMO),))


@pytest.fixture(scope="module")
def registry():
    loaded = load_registry(COMMAND_SETTINGS)
    assert loaded.failures == []
    return loaded


@pytest.mark.parametrize(
    "text, command, args",
    [
        ("Computer, set a timer for 25 minutes.", "set_timer", {"minutes": 25.0}),
        ("computer set timer for twenty-five minutes please", "set_timer", {"minutes": 25.0}),
        ("computer set a timer for twenty five minutes", "set_timer", {"minutes": 25.0}),
        (" Computer set a timer for 25 minutes!", "set_timer", {"minutes": 25.0}),
        ("COMPUTER: SET A TIMER FOR 25 MINUTES", "set_timer", {"minutes": 25.0}),
        ("Computer, set the timer to three point five minutes.", "set_timer", {"minutes": 3.5}),
        ("Computer, set a timer for a minute.", "set_timer", {"minutes": 1.0}),
        ("Computer, set a tymer for 5 minutes", "set_timer", {"minutes": 5.0}),
        ("Hey computer, what time is it?", "what_time_is_it", {}),
        ("Okay computer what time is it", "what_time_is_it", {}),
        ("OK, computer. What's the time?", "what_time_is_it", {}),
        ("Computer, please, what time is it?", "what_time_is_it", {}),
        ("komputer what time is it", "what_time_is_it", {}),
        ("Computer, computer, what time is it?", "what_time_is_it", {}),
        ("Computer-what time is it?", "what_time_is_it", {}),  # Whisper hyphenates the keyword to the next word
        ("Hey Computer-set volume to 50%.", "set_volume", {"percent": 50}),
        ("Computer. What tim is it?", "what_time_is_it", {}),
        ("computers what day is it", "what_day_is_it", {}),
        ("Computer. What is the date?", "what_day_is_it", {}),
        ("Computer, what's the date today?", "what_day_is_it", {}),
        ("computer could you please set the volume to 70%", "set_volume", {"percent": 70}),
        ("Computer, set the volume to fifty percent.", "set_volume", {"percent": 50}),
        ("Computer, volume up.", "volume_up", {}),
        ("Computer, turn the volume down.", "volume_down", {}),
        ("Computer, add numbers three and 4.", "add_numbers", {"first": 3, "second": 4}),
        ("computer add numbers twenty five and seventy", "add_numbers", {"first": 25, "second": 70}),
        ("Computer, add the numbers 3 and 4.", "add_numbers", {"first": 3, "second": 4}),
        ("Computer, add numbers one hundred and five and 1,000.", "add_numbers", {"first": 105, "second": 1000}),
        ("Computer, search for Python tutorials.", "search_for", {"query": "Python tutorials"}),
        ("computer say Hello world", "echo", {"text": "Hello world"}),
        ("Computer, repeat after me: I am a robot.", "echo", {"text": "I am a robot"}),
        ("Computer, set mode to cool.", "set_mode", {"mode": "cool"}),
        ("Computer switch light off", "switch_light", {"on": False, "room": "kitchen"}),
        ("Computer, remind me in 5 minutes to stretch.", "remind_me", {"minutes": 5, "message": "stretch"}),
        ("Computer shut down", "shutdown", {}),
    ],
)
def test_runs(registry, text, command, args):
    result = interpret(text, registry)
    assert result.keyword
    assert result.command is not None, result.reason
    assert (result.command.name, result.args) == (command, args)
    assert result.score >= 75


@pytest.mark.parametrize(
    "text",
    [
        "what time is it",
        "Set a timer for 25 minutes!",
        "the computer is broken",
        "my computer set a timer for 5 minutes",
        "compost what time is it",
        "hey what time is it computer",
        "",
        "   ",
        "...",
    ],
)
def test_without_the_keyword_nothing_runs(registry, text):
    result = interpret(text, registry)
    assert (result.keyword, result.command, result.args) == (False, None, {})
    assert "no keyword 'computer'" in result.reason


@pytest.mark.parametrize(
    "text, why",
    [
        ("Computer.", "no command after it"),
        ("computer make me a sandwich", "no command matched well enough; nearest: "),
        ("computer set a timer", "set_timer not run: minutes: not said"),
        ("computer set a timer for later", "minutes: expected a number, heard 'for later'"),
        ("computer add numbers three", "second: not said"),
        ("computer add numbers 3.5 and 2", "first: needs a whole number, heard 3.5"),
        ("computer set mode to hot", "mode: expected one of heat, cool, fan only"),
    ],
)
def test_nothing_runs_and_the_reason_says_why(registry, text, why):
    result = interpret(text, registry)
    assert result.keyword
    assert result.command is None and result.args == {}
    assert why in result.reason


def test_unmatched_reason_lists_the_nearest_commands(registry):
    result = interpret("computer set a tamer", registry, threshold=95)
    assert result.command is None
    assert result.nearest[0] == ("set timer", result.score)
    assert "'set timer' (" in result.reason


def test_threshold_decides(registry):
    assert interpret("computer what tim is it", registry, threshold=75).command is not None
    assert interpret("computer what tim is it", registry, threshold=99).command is None


def test_another_keyword(registry):
    assert interpret("Jarvis, what time is it?", registry, keyword="jarvis").command.name == "what_time_is_it"
    assert not interpret("computer what time is it", registry, keyword="jarvis").keyword
    assert interpret("hey jarvis what time is it", registry, keyword="Hey Jarvis").command.name == "what_time_is_it"


def test_commands_too_close_to_tell_apart(tmp_path):
    (tmp_path / "pets.py").write_text("def turn_on_lamp():\n    pass\n\ndef turn_on_lamb():\n    pass\n")
    registry = load_registry(CommandSettings(modules=(), paths=(str(tmp_path),)))
    result = interpret("computer turn on lam", registry)
    assert result.keyword and result.command is None
    assert "too close to tell apart" in result.reason
    assert interpret("computer turn on lamb", registry).command.name == "turn_on_lamb"  # exact wins


def test_to_dict_is_json(registry):
    result = interpret("Computer, paint it dark blue", registry)
    assert json.loads(json.dumps(result.to_dict())) == {
        "keyword": True,
        "command": "paint",
        "args": {"color": "dark blue"},
        "score": 100,
        "reason": result.reason,
    }


WORDS = st.lists(
    st.sampled_from(
        "computer hey ok set a timer for twenty five 25 minutes what time is it add numbers and 3.5 70% 1,000 $5 , . ! ? "
        "please the volume to mode cool paint dark blue say switch light on off remind me - — … minus point hundred".split()
    )
    | st.text(max_size=10),
    max_size=12,
).map(" ".join)


@hypothesis_settings(max_examples=300, deadline=None)
@given(WORDS | st.text() | st.text().map(lambda text: "computer " + text))
def test_interpret_never_raises(registry, text):
    result = _interpret(text, registry, "computer", 75)  # not the safety net around it
    assert isinstance(result.reason, str) and result.reason
    if result.command is not None:
        assert result.keyword and result.score >= 75
        json.dumps(result.to_dict())


def run_cli(capsys, *words, as_json=False):
    app_settings = dataclasses.replace(Settings(), commands=COMMAND_SETTINGS)
    status = cli_match(argparse.Namespace(text=list(words), json=as_json, config=None, debug=False), app_settings)
    return status, capsys.readouterr().out


def test_cli_match_shows_what_would_run(capsys):
    status, out = run_cli(capsys, "Computer,", "set", "a", "timer", "for", "25", "minutes.")
    assert status == 0
    assert "keyword: yes" in out
    assert "command: clock.set_timer(minutes=25.0)  score 100" in out


def test_cli_match_reads_sentence_templates(capsys):
    status, out = run_cli(capsys, "computer timer for five minutes", as_json=True)
    assert status == 0
    result = json.loads(out)
    assert (result["command"], result["args"]) == ("set_timer", {"minutes": 5.0})
    assert "the sentence 'timer for {minutes} minutes'" in result["reason"]


def test_cli_match_json(capsys):
    status, out = run_cli(capsys, "computer add numbers three and 4", as_json=True)
    assert status == 0
    assert json.loads(out) == {
        "keyword": True,
        "command": "add_numbers",
        "args": {"first": 3, "second": 4},
        "score": 100,
        "reason": "heard 'add numbers three and 4': matched 'add numbers' (100)",
    }
    status, out = run_cli(capsys, "set a timer", as_json=True)
    assert status == 1
    assert json.loads(out)["keyword"] is False
