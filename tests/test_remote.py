"""Commands across clients, one client's side: addressing another client in words
(va.language.targeting), the target's rules and memory (va.client.remote_target), settings."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path

import pytest

from va.client.remote_target import RemoteRunner, allow_warnings, permitted
from va.config import CommandSettings, ConfigError, Settings, parse_settings
from va.language.grammar_registry import args_to_wire, grammar_of
from va.language.targeting import Target, commands_from_grammar, interpret_addressed
from va.commands.registry import load_registry
from va.protocol.relay import Run, RunResult
from va.commands.runner import CommandRunner

HOUSEHOLD = Path(__file__).parent / "client_commands" / "household.py"
DEMO = Path(__file__).parent / "commands" / "demo.py"


@pytest.fixture(scope="module")
def kitchen_registry():
    return load_registry(CommandSettings(modules=(), paths=(str(HOUSEHOLD),)))


@pytest.fixture(scope="module")
def living_registry():
    return load_registry(CommandSettings(modules=("clock", "system"), paths=(str(DEMO),)))


@pytest.fixture
def targets(kitchen_registry, living_registry):
    kitchen = commands_from_grammar(grammar_of(kitchen_registry).to_dict())
    demo = commands_from_grammar(grammar_of(living_registry).to_dict())
    return [
        Target("living-room", "living room", living_registry, own=True),
        Target("kitchen", "kitchen", kitchen),
        Target("bedroom-pi", "bedroom", demo),
    ]


@pytest.mark.parametrize("text, target, command, args", [
    ("Computer kitchen, turn on the radio.", "kitchen", "turn_on", {"device": "the radio"}),
    ("Computer, in the kitchen, turn off the lights", "kitchen", "turn_off", {"device": "the lights"}),
    ("computer turn on the radio in the kitchen", "kitchen", "turn_on", {"device": "the radio"}),
    ("Computer, bedroom, set the volume to 70%.", "bedroom-pi", "set_volume", {"percent": 70}),
    ("Computer, bedroom pi, add numbers three and four", "bedroom-pi", "add_numbers", {"first": 3, "second": 4}),
    ("Computer, bedroom, switch light off", "bedroom-pi", "switch_light", {"on": False}),  # room: the target's default
    ("Computer, living room, what time is it?", None, "what_time_is_it", {}),  # its own name: here
    ("Computer, what time is it?", None, "what_time_is_it", {}),
])
def test_words_addressed_to_a_client_resolve_against_its_commands(living_registry, targets, text, target, command, args):
    result = interpret_addressed(text, living_registry, targets)
    assert result.target == target, result.reason
    assert result.command is not None and result.command.name == command, result.reason
    said = args_to_wire(result.command.parameters, result.args) if target else result.args
    assert said == args


@pytest.mark.parametrize("text, why", [
    ("Computer, kitchen, what time is it?", "kitchen: heard 'what time is it': no command matched"),
    ("Computer, kitchen, make me a sandwich", "kitchen: heard 'make me a sandwich'"),
    ("Computer, kitchen, turn on", "kitchen: heard 'turn on': turn_on not run: "),
])
def test_a_command_the_target_does_not_have_runs_nowhere(living_registry, targets, text, why):
    result = interpret_addressed(text, living_registry, targets)
    assert result.command is None and result.reason.startswith(why), result.reason


def test_two_clients_in_one_area_must_be_told_apart(living_registry, kitchen_registry):
    kitchen = commands_from_grammar(grammar_of(kitchen_registry).to_dict())
    both = [Target("living-room", None, living_registry, own=True), Target("k1", "kitchen", kitchen), Target("k2", "kitchen", kitchen)]
    result = interpret_addressed("computer kitchen turn on the radio", living_registry, both)
    assert result.command is None and "k1 and k2 can all do that" in result.reason
    assert interpret_addressed("computer k2 turn on the radio", living_registry, both).target == "k2"


def test_a_client_without_a_grammar_is_matched_by_its_spoken_names(living_registry):
    old = Target("garage", None, commands_from_grammar(None, ["open door"]))
    result = interpret_addressed("computer garage open door", living_registry, [old])
    assert (result.target, result.command.name) == ("garage", "open_door")


# --- the target's rules ------------------------------------------------------------------------


def test_permission_is_closed_by_default():
    allow = {"living-room": ("turn_on",), "*": ("what_time_is_it",), "admin": ("*",)}
    assert permitted(allow, "living-room", "turn_on")
    assert permitted(allow, "hall", "what_time_is_it") and permitted(allow, "admin", "turn_off")
    assert not permitted(allow, "living-room", "turn_off") and not permitted(allow, "hall", "turn_on")
    assert not permitted({}, "living-room", "turn_on")


class Target_:
    """A RemoteRunner with the real CommandRunner and the household commands; records what it sends."""

    def __init__(self, registry, allow, token=None, dry_run=False):
        settings = dataclasses.replace(Settings(), token=token)
        settings = dataclasses.replace(settings, remote=dataclasses.replace(settings.remote, allow=allow))
        self.sent = []
        self.runner = CommandRunner(timeout=10)
        self.remote = RemoteRunner(settings, "kitchen", self.runner, self._send)
        self.remote.configure(settings, "kitchen", dry_run)
        self.registry = registry

    async def _send(self, event):
        self.sent.append(event)
        return True

    async def ask(self, run, answers):
        self.remote.on_run(run, self.registry, asyncio.get_running_loop())
        while len(self.sent) < answers:
            await asyncio.sleep(0.01)
        return self.sent[-1]


RADIO = Run("id-1", "turn_on", {"device": "the radio"}, origin="living-room", token="secret")


def test_a_request_sent_twice_runs_once_and_both_get_the_answer(kitchen_registry, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VA_RECORDER_FILE", str(tmp_path / "ran.jsonl"))
    caplog.set_level(logging.INFO, logger="va.client.remote_target")

    async def scenario():
        target = Target_(kitchen_registry, {"living-room": ("turn_on",)}, token="secret")
        first = await target.ask(RADIO, 1)
        again = await target.ask(RADIO, 2)  # after a reconnect, the server sends it again
        return first, again

    first, again = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert (first.outcome, first.value) == ("ok", "turn_on done") and again == first
    assert [json.loads(line)["args"] for line in (tmp_path / "ran.jsonl").read_text().splitlines()] == [{"device": "the radio"}]
    records = [record for record in caplog.records if record.name == "va.client.remote_target"]
    assert len(records) == 1  # one record per request, not per delivery
    fields = {name: getattr(records[0], name) for name in ("VA_ORIGIN", "VA_TARGET", "VA_COMMAND", "VA_DECISION", "VA_ARGS")}
    assert fields == {"VA_ORIGIN": "living-room", "VA_TARGET": "kitchen", "VA_COMMAND": "turn_on",
                      "VA_DECISION": "ran", "VA_ARGS": '{"device": "the radio"}'}


@pytest.mark.parametrize("allow, token, run, why", [
    ({}, None, RADIO, "remote.allow does not let living-room run turn_on on kitchen"),
    ({"living-room": ("turn_off",)}, None, RADIO, "remote.allow does not let living-room run turn_on"),
    ({"*": ("*",)}, "other", RADIO, "missing or wrong token"),
    ({"*": ("*",)}, "secret", dataclasses.replace(RADIO, token=None), "missing or wrong token"),
    ({"*": ("*",)}, None, dataclasses.replace(RADIO, command="explode"), "kitchen has no command explode"),
])
def test_a_refused_request_runs_nothing_and_says_why(kitchen_registry, tmp_path, monkeypatch, caplog, allow, token, run, why):
    monkeypatch.setenv("VA_RECORDER_FILE", str(tmp_path / "ran.jsonl"))
    answer = asyncio.run(asyncio.wait_for(Target_(kitchen_registry, allow, token).ask(run, 1), 60))
    assert answer.outcome == "refused" and why in answer.error
    assert not (tmp_path / "ran.jsonl").exists()
    assert any(getattr(record, "VA_DECISION", "") == "refused" for record in caplog.records)


@pytest.mark.parametrize("args, why", [
    ({}, "the arguments do not fit"),
    ({"device": 5}, "the arguments do not fit"),
    ({"device": "radio", "volume": 3}, "no parameter 'volume'"),
])
def test_arguments_that_do_not_fit_the_targets_command_run_nothing(kitchen_registry, tmp_path, monkeypatch, args, why):
    monkeypatch.setenv("VA_RECORDER_FILE", str(tmp_path / "ran.jsonl"))
    run = dataclasses.replace(RADIO, args=args, token=None)
    answer = asyncio.run(asyncio.wait_for(Target_(kitchen_registry, {"*": ("*",)}).ask(run, 1), 60))
    assert answer.outcome == "error" and why in answer.error
    assert not (tmp_path / "ran.jsonl").exists()


def test_in_dry_run_a_request_is_refused(kitchen_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("VA_RECORDER_FILE", str(tmp_path / "ran.jsonl"))
    answer = asyncio.run(asyncio.wait_for(Target_(kitchen_registry, {"*": ("*",)}, dry_run=True).ask(RADIO, 1), 60))
    assert answer.outcome == "refused" and "dry-run" in answer.error


# --- settings -------------------------------------------------------------------------------------


def test_remote_settings():
    settings = parse_settings('client: {name: kitchen, area: kitchen}\nremote:\n  allow:\n'
                              '    living-room: [turn_on, turn_off]\n    "*": [what_time_is_it]\n  ttl: 5\n')
    assert (settings.client.name, settings.client.area) == ("kitchen", "kitchen")
    assert settings.remote.allow == {"living-room": ("turn_on", "turn_off"), "*": ("what_time_is_it",)}
    assert settings.remote.ttl == 5 and Settings().remote.allow == {} and Settings().client.name is None


@pytest.mark.parametrize("text, message", [
    ("remote: {allow: {living-room: turn_on}}", "config.yaml:1: remote.allow must be a mapping of client names"),
    ("remote: {allow: [turn_on]}", "config.yaml:1: remote.allow must be a mapping"),
    ("remote: {allow: {x: [turn on]}}", "remote.allow must be"),
    ("remote: {ttl: 0}", "config.yaml:1: remote.ttl must be a number from 0.5 to 120"),
    ("remote: {alow: {}}", "unknown key remote.alow (did you mean remote.allow?)"),
])
def test_bad_remote_settings_are_reported(text, message):
    with pytest.raises(ConfigError) as error:
        parse_settings(text)
    assert message in str(error.value)


def test_check_warns_about_commands_it_does_not_have(kitchen_registry):
    warnings = allow_warnings({"living-room": ("turn_on", "turn_of"), "kitchen": ("*",)}, kitchen_registry, "kitchen")
    assert warnings == [
        "remote.allow.living-room: no command 'turn_of' is loaded here (did you mean turn_off?)",
        "remote.allow.kitchen: that is this client's own name",
    ]


def test_the_hello_carries_name_area_and_relay_and_old_hellos_still_parse():
    from va.protocol import Hello, parse_client_message

    hello = Hello("computer", ("turn on",), "kitchen", None, "kitchen", relay=True)
    message = json.loads(hello.to_json())
    assert (message["client"], message["area"], message["relay"]) == ("kitchen", "kitchen", True)
    assert parse_client_message(hello.to_json()) == hello
    old = parse_client_message('{"type": "hello", "keyword": "computer", "commands": ["set timer"], "client": "x"}')
    assert (old.area, old.relay) == (None, False)


# --- the origin's requests -----------------------------------------------------------------------


class Origin:
    """RemoteRequests with a fake link: records what it sends; `up` says whether it is connected."""

    def __init__(self, ttl=0.3):
        from va.client.remote import RemoteRequests

        base = Settings()
        settings = dataclasses.replace(base, client=dataclasses.replace(base.client, name="living-room"),
                                       remote=dataclasses.replace(base.remote, ttl=ttl))
        self.up, self.sent, self.answers = True, [], []
        self.requests = RemoteRequests(settings, self._send, lambda: self.up)

    async def _send(self, event):
        if self.up:
            self.sent.append(event)
        return self.up

    def ask(self, registry):
        reading = interpret_addressed("computer kitchen turn on the radio", None, [Target("kitchen", None, registry)])
        self.requests.request(reading, self.answers.append)

    async def settle(self, until):
        while not until():
            await asyncio.sleep(0.01)


def test_an_origin_that_lost_the_server_for_the_whole_time_to_live_answers_offline(kitchen_registry):
    async def scenario():
        origin = Origin()
        origin.up = False
        origin.ask(commands_from_grammar(grammar_of(kitchen_registry).to_dict()))
        await asyncio.wait_for(origin.settle(lambda: origin.answers), 30)
        origin.up = True
        origin.requests.on_connected()  # too late: not sent again
        await asyncio.sleep(0)
        return origin

    origin = asyncio.run(scenario())
    assert origin.sent == [] and [answer.outcome for answer in origin.answers] == ["offline"]
    assert "the server is unreachable" in origin.answers[0].error


def test_an_origin_sends_again_after_a_reconnect_with_the_same_id_and_what_is_left_of_the_ttl(kitchen_registry):
    async def scenario():
        origin = Origin(ttl=30)
        origin.ask(commands_from_grammar(grammar_of(kitchen_registry).to_dict()))
        await asyncio.wait_for(origin.settle(lambda: origin.sent), 30)
        origin.requests.on_connected()
        await asyncio.wait_for(origin.settle(lambda: len(origin.sent) == 2), 30)
        first, again = origin.sent
        origin.requests.on_result(RunResult(first.id, "ok", "done", target="kitchen"))
        origin.requests.on_result(RunResult(first.id, "ok", "done", target="kitchen"))  # a duplicate answer
        return first, again, origin.answers

    first, again, answers = asyncio.run(scenario())
    assert (first.id, first.command, first.args, first.target) == (again.id, "turn_on", {"device": "the radio"}, "kitchen")
    assert 0 < again.ttl <= first.ttl == 30
    assert [answer.outcome for answer in answers] == ["ok"]


def test_an_error_from_the_server_about_a_request_answers_it(kitchen_registry):
    from va.client.remote import Remote
    from va.protocol import Error

    async def scenario():
        remote = Remote(Settings(), CommandRunner(), lambda: None)
        answers = []
        reading = interpret_addressed("computer kitchen turn on the radio", None,
                                      [Target("kitchen", None, commands_from_grammar(grammar_of(kitchen_registry).to_dict()))])
        remote.requests.request(reading, answers.append)
        request_id = next(iter(remote.requests._waiting))
        remote.on_event(Error("unknown message type 'run'", request_id), None)
        return answers

    answers = asyncio.run(scenario())
    assert [(a.outcome, a.error) for a in answers] == [("error", "the server refused it: unknown message type 'run'")]


@pytest.mark.parametrize("result, decision, why", [
    (RunResult("1", "ok", "on"), "ran", "ran kitchen: turn_on(device='the radio') -> 'on'"),
    (RunResult("1", "error", error="TypeError: boom"), "failed", "failed kitchen: turn_on(device='the radio'): TypeError: boom"),
    (RunResult("1", "refused", error="no"), "refused", "refused kitchen: turn_on(device='the radio'): no"),
    (RunResult("1", "offline", error="kitchen is offline"), "offline", "offline kitchen: turn_on(device='the radio'): kitchen is offline"),
])
def test_the_origins_record_names_both_clients(kitchen_registry, result, decision, why):
    from va.client.remote import answer_record

    reading = interpret_addressed("computer kitchen turn on the radio", None,
                                  [Target("kitchen", None, commands_from_grammar(grammar_of(kitchen_registry).to_dict()))])
    assert answer_record("living-room", reading, result) == (decision, why, {"VA_ORIGIN": "living-room", "VA_TARGET": "kitchen"})
