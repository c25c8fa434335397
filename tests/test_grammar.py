"""The command grammar in the hello, the reading in the reply, and sentence templates."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from va.config import CommandSettings
from va.language.grammar import CommandSpec, Grammar, ParamSpec
from va.language.grammar_registry import GrammarRegistry, args_from_wire, args_to_wire, grammar_of
from va.language.matching import interpret
from va.protocol import Hello, ProtocolError, Reading, Transcript, parse_client_message, parse_server_message
from va.commands.registry import load_registry

DEMO = Path(__file__).parent / "commands" / "demo.py"


@pytest.fixture(scope="module")
def registry():
    loaded = load_registry(CommandSettings(modules=("clock", "system", "web"), paths=(str(DEMO),)))
    assert loaded.failures == []
    return loaded


def test_the_grammar_carries_names_aliases_kinds_choices_and_templates(registry):
    commands = {spec.name: spec for spec in grammar_of(registry).commands}

    assert commands["set_timer"].spoken == ("set timer", "start a timer")
    assert commands["set_timer"].params == (ParamSpec("minutes", "float"),)
    assert "timer for {minutes} minutes" in commands["set_timer"].sentences
    assert commands["set_mode"].params == (ParamSpec("mode", "choice", choices=("heat", "cool", "fan only")),)
    assert commands["paint"].params[0].choices == ("red", "dark_blue")
    assert commands["switch_light"].params == (ParamSpec("on", "bool"), ParamSpec("room", "text", required=False))
    assert commands["echo"].spoken == ("say", "repeat after me")


def test_the_hello_grammar_survives_the_wire(registry):
    hello = Hello("computer", tuple(registry.vocabulary()), "kitchen", grammar_of(registry))

    parsed = parse_client_message(hello.to_json())

    assert parsed == hello
    assert json.loads(hello.to_json())["grammar"]["version"] == 1


def test_the_agreed_wire_shape_parses():
    message = {
        "type": "hello", "keyword": "computer", "commands": ["set timer"],
        "grammar": {"version": 1, "commands": [
            {"name": "set_timer", "spoken": ["set timer", "timer"],
             "params": [{"name": "minutes", "kind": "int", "min": 0, "max": 999, "required": True},
                        {"name": "room", "kind": "choice", "choices": ["kitchen", "bedroom"], "required": False},
                        {"name": "state", "kind": "bool"}, {"name": "ratio", "kind": "float"},
                        {"name": "query", "kind": "text"}],
             "sentences": ["set a {minutes} minute timer", "timer for {minutes} minutes"]}]}}

    spec = parse_client_message(json.dumps(message)).grammar.commands[0]

    assert spec.params[0] == ParamSpec("minutes", "int", True, 0, 999)
    assert spec.params[0].accepts(25) and not spec.params[0].accepts(1000)
    assert spec.params[1].choices == ("kitchen", "bedroom")


@pytest.mark.parametrize(
    "grammar, why",
    [
        ([], "JSON object"),
        ({"commands": [{"spoken": ["x"]}]}, "'name'"),
        ({"commands": [{"name": "x", "params": [{"name": "a", "kind": "blob"}]}]}, "kind"),
        ({"commands": [{"name": "x", "sentences": ["do {y}"]}]}, "no parameter named 'y'"),
        ({"commands": [{"name": "x", "params": [{"name": "a", "kind": "int", "min": "0"}]}]}, "min"),
    ],
)
def test_a_malformed_grammar_is_a_protocol_error(grammar, why):
    with pytest.raises(ProtocolError, match=why):
        parse_client_message(json.dumps({"type": "hello", "grammar": grammar}))


def test_a_newer_grammar_version_is_ignored_not_refused():
    hello = parse_client_message(json.dumps({"type": "hello", "grammar": {"version": 2, "rules": "?"}}))
    assert hello.grammar is None


def test_the_reading_rides_on_the_transcript_and_old_replies_have_none():
    reading = Reading("set_timer", {"minutes": 25}, -1.9, True, "the free transcript parses")
    reply = parse_server_message(Transcript("Computer, set a timer for 25 minutes.", 3, reading=reading).to_json())
    assert reply.reading == reading
    assert parse_server_message(json.dumps({"type": "transcript", "data": "hi"})).reading is None
    bad = parse_server_message(json.dumps({"type": "transcript", "data": "hi", "reading": {"command": 5}}))
    assert bad.reading is None


@pytest.mark.parametrize(
    "text, args",
    [
        ("Computer, set a 25 minute timer.", {"minutes": 25.0}),
        ("computer timer for twenty five minutes please", {"minutes": 25.0}),
        ("Computer set a timer for 5 minutes", {"minutes": 5.0}),  # the spoken name still works
    ],
)
def test_templates_read_other_word_orders(registry, text, args):
    result = interpret(text, registry)
    assert result.command is not None and result.command.name == "set_timer"
    assert result.args == args


def test_a_template_never_swallows_extra_words(registry):
    assert interpret("Computer, timer for five minutes and play the radio", registry).command is None


def test_the_server_side_grammar_matches_as_the_client_does(registry):
    served = GrammarRegistry(grammar_of(registry))
    for text in ("Computer, set a 25 minute timer.", "Computer, set mode to cool.", "Computer switch light off",
                 "Computer, search for Python tutorials.", "Computer, paint it dark blue"):
        mine, theirs = interpret(text, registry), interpret(text, served)
        wire = args_to_wire(theirs.command.parameters, theirs.args)
        assert (mine.command.name, mine.args) == (theirs.command.name, args_from_wire(mine.command.parameters, wire))


def test_reading_args_that_do_not_fit_the_clients_parameters_are_refused(registry):
    parameters = registry.commands["set mode"].parameters
    assert args_from_wire(parameters, {"mode": "cool"}) == {"mode": "cool"}
    assert args_from_wire(parameters, {"mode": "boil"}) is None
    assert args_from_wire(parameters, {}) is None
    assert args_from_wire(registry.commands["set timer"].parameters, {"minutes": "5"}) is None


def test_a_template_naming_no_parameter_is_reported(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text(textwrap.dedent('''
        from va.command import command

        @command(sentences=["dim to {level} percent"])
        def dim(percent: int) -> int:
            return percent

        def fine() -> str:
            return "ok"
    '''))
    loaded = load_registry(CommandSettings(modules=(), paths=(str(module),)))
    assert list(loaded.commands) == ["fine"]
    assert "no parameter named 'level'" in loaded.failures[0].error


def test_grammar_of_a_spec_round_trips():
    grammar = Grammar((CommandSpec("mute", ("mute",)),))
    assert Grammar.from_dict(json.loads(json.dumps(grammar.to_dict()))) == grammar
