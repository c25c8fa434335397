"""Recognition that knows the commands, end to end: the real tiny.en, real speech, a real server.

A client that sends its grammar in the hello gets a reading with each transcript; the client's
decision (`va.matching.from_reading`) runs what the reading says, and nothing for speech that is
not one of its commands. The seed server's side (no reading: the client matches the transcript
itself) is tests/test_client_e2e.py::test_the_client_talks_to_the_seed_server_too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect

from va.config import CommandSettings, ServerSettings, Settings
from va.language.grammar import CommandSpec, Grammar, ParamSpec
from va.language.grammar_registry import grammar_of
from va.language.matching import from_reading
from va.protocol import Hello, Transcript, parse_server_message
from va.commands.registry import load_registry
from va.server.app import SpeechServer

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).parent / "commands" / "demo.py"
TIMEOUT = 180.0


@pytest.fixture(scope="module")
def registry():
    loaded = load_registry(CommandSettings(modules=("clock", "system", "web"), paths=(str(DEMO),)))
    assert loaded.failures == []
    return loaded


@pytest.fixture(scope="module")
def engine():
    from va.stt import create_engine

    return create_engine(dataclasses.replace(ServerSettings(), device="cpu"))


def audio_input(name: str, request_id: int) -> str:
    with wave.open(str(FIXTURES / name), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    return json.dumps({"type": "audio_input", "data": base64.b64encode(pcm).decode("ascii"), "id": request_id})


@contextlib.asynccontextmanager
async def running(engine, **server):
    base = Settings()
    settings = dataclasses.replace(base, server=dataclasses.replace(base.server, host="127.0.0.1", port=0, **server))
    speech = SpeechServer(settings, engine_factory=lambda _: engine)
    await asyncio.wait_for(speech.start(), TIMEOUT)
    try:
        yield speech
    finally:
        await asyncio.wait_for(speech.stop(), TIMEOUT)


def transcripts(engine, commands, files, **server) -> list[Transcript]:
    """Each file's reply, to a client whose hello carries the grammar (or a registry's)."""
    grammar = commands if isinstance(commands, Grammar) else grammar_of(commands)
    hello = Hello("computer", (), "test", grammar)

    async def scenario():
        async with running(engine, **server) as speech:
            async with connect(speech.url, max_size=None) as ws:
                await ws.send(hello.to_json())
                assert parse_server_message(await asyncio.wait_for(ws.recv(), TIMEOUT)).TYPE == "ready"
                for index, name in enumerate(files):
                    await ws.send(audio_input(name, index))
                replies = [parse_server_message(await asyncio.wait_for(ws.recv(), TIMEOUT)) for _ in files]
        return sorted(replies, key=lambda reply: reply.id)

    return asyncio.run(asyncio.wait_for(scenario(), TIMEOUT * 2))


def decided(registry, reply: Transcript):
    decision = from_reading(reply.reading, registry)
    return (decision.command.name, decision.args) if decision.command is not None else None


CASES = {
    "timer-joe.wav": ("set_timer", {"minutes": 25.0}),  # typed arguments: a float
    "add-joe-high.wav": ("add_numbers", {"first": 3, "second": 4}),  # two ints
    "volume-espeak.wav": ("set_volume", {"percent": 70}),
    "template-joe.wav": ("set_timer", {"minutes": 5.0}),  # "set a five minute timer": a template
    "search-joe.wav": ("search_for", {"query": "Python tutorials"}),  # free text
    "time-joe.wav": ("what_time_is_it", {}),
    "nokey-joe.wav": None,  # "the weather is lovely today": no keyword
    "unknown-joe.wav": None,  # "computer make me a sandwich": no such command
    "unknown-espeak.wav": None,
}


def test_readings_run_the_right_command_with_typed_and_free_arguments_and_negatives_run_nothing(engine, registry):
    files = list(CASES)
    replies = transcripts(engine, registry, files)
    for name, reply in zip(files, replies):
        assert reply.reading is not None, name
        assert decided(registry, reply) == CASES[name], (name, reply.text, reply.reading)
        assert reply.reading.why, name
    for name, reply in zip(files, replies):
        if CASES[name] is None and reply.reading.command is not None:
            assert "is rejected" in reply.reading.why, reply.reading


ROOMS = ("kitchen", "bedroom", "living room", "hall", "office")
DEVICES = ("lights", "fan", "heater", "radio", "television")
HOME = Grammar(tuple(
    [CommandSpec(name, (name.replace("_", " "),), (ParamSpec("device", "choice", choices=DEVICES),
                                                 ParamSpec("room", "choice", False, choices=ROOMS)))
     for name in ("turn_on", "turn_off")]
    + [CommandSpec("call", ("call",), (ParamSpec("person", "choice", choices=("mom", "dad", "alice", "bob", "grandma")),)),
       CommandSpec("cancel_timer", ("cancel timer",)), CommandSpec("what_time_is_it", ("what time is it",))]
))


def test_the_grammar_reads_what_greedy_decoding_garbles(engine):
    """Clips from the bench corpus' tune split (espeak-ng, brown noise 10 dB / a talker 12 dB)
    where today's greedy transcript reads as no command: "Computer turn on the leader in the
    hall", "computer call that currently"."""
    replies = transcripts(engine, HOME, ["guided-turn-on-noise.wav", "guided-call-talker.wav"])
    readings = [(reply.reading.command, reply.reading.args, reply.reading.accepted) for reply in replies]
    assert readings == [("turn_on", {"device": "heater", "room": "hall"}, True), ("call", {"person": "dad"}, True)]
    assert all(reply.reading.score < 0 and "guided" in reply.reading.why for reply in replies)


CORPUS_COMMANDS = Path(__file__).parent.parent / "bench" / "corpus" / "commands.py"


def test_openers_a_lost_keyword_choice_values_and_times_of_day(engine):
    """Clips of the bench corpus' tuning splits (dev and tune, espeak-ng), read with its commands:
    "computer could you lock the back door" heard as "Computer kill you lock the Mac door" (the
    opener stays in the forced prefix); "computer could you turn on the radio" as "Can you hear
    your cut-you turn on the radio?" (heard again after a forced keyword); "computer lock the
    garage door" as "Computer lock, the door after all." (each value of the door checked); "set
    alarm for ten fifty five" as "... 1055" (a time of day fills hour and minute)."""
    corpus = load_registry(CommandSettings(modules=(), paths=(str(CORPUS_COMMANDS),)))
    files = ["guided-opener-lock-noise.wav", "guided-again-turn-on-noise.wav", "guided-values-lock-reverb.wav",
             "alarm-1055-clean.wav"]
    replies = transcripts(engine, corpus, files)
    assert [decided(corpus, reply) for reply in replies] == [
        ("lock", {"door": "back"}), ("turn_on", {"device": "radio", "room": "kitchen"}), ("lock", {"door": "garage"}),
        ("set_alarm", {"hour": 10, "minute": 55})], [(reply.text, reply.reading) for reply in replies]


def test_with_recognition_free_the_reply_has_no_reading(engine, registry):
    (reply,) = transcripts(engine, registry, ["timer-joe.wav"], recognition="free")
    assert reply.reading is None
    assert "25" in reply.text


def test_a_batch_is_judged_as_each_request_alone(engine, registry):
    """Several clients at once: one encoder pass for the batch, and every reading as if alone."""
    from va.language.grammar_registry import GrammarRegistry
    from va.server.recognition.recognizer import read

    grammar = GrammarRegistry(grammar_of(registry))
    files = ["timer-joe.wav", "nokey-joe.wav", "template-joe.wav", "volume-joe-noisy.wav"]
    audios = []
    for name in files:
        with wave.open(str(FIXTURES / name), "rb") as wav:
            audios.append(np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float32) / 32768)
    judge = lambda transcription, utterance: read(transcription.text, grammar, "computer", utterance)  # noqa: E731

    together = engine.judge_batch(audios, [None] * len(audios), [judge] * len(audios))
    alone = [engine.judge(audio, None, judge) for audio in audios]

    assert [(result.text, reading) for result, reading in together] == [(result.text, reading) for result, reading in alone]
    assert [reading.accepted for _, reading in together] == [True, False, True, True]


def test_a_forced_prefix_is_never_cut_short_by_the_token_budget(engine):
    """CTranslate2 returns at most max_length // 2 tokens when a prefix is forced: a command's
    whole prefix, and its closing, must still come back with the smallest budget."""
    with wave.open(str(FIXTURES / "time-joe.wav"), "rb") as wav:
        audio = np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float32) / 32768
    prefixes = [" Computer, what time is it", " Computer, could you please tell me what time it is"]

    _, judged = engine.judge(audio, None, lambda _, utterance: utterance.continue_after(prefixes, " Computer,", 2))

    for prefix, hypothesis in zip(prefixes, judged):
        assert hypothesis.text.startswith(prefix) and hypothesis.closed.text.startswith(prefix), hypothesis


HOME_EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "home.py"


def test_a_known_value_is_heard_where_the_free_decode_was_wrong(engine):
    """espeak-ng voices of the corpus' tuning splits (made by tests/fixtures/make_fixtures.py's
    note): tiny.en writes "open browser with a video", "play music miles day this", "turn on
    bedroom fire". With the values the module declares (docs/examples/home.py) the reading names
    them; the same grammar without values runs what the free decode wrote."""
    home = load_registry(CommandSettings(modules=(), paths=(str(HOME_EXAMPLE),)))
    files = ["values-wikipedia-m6.wav", "values-miles-davis-m4.wav", "values-bedroom-fan-f3.wav"]
    unknown = Grammar(tuple(dataclasses.replace(spec, params=tuple(dataclasses.replace(param, values=()) for param in spec.params))
                            for spec in grammar_of(home).commands))

    known = transcripts(engine, home, files)
    free = transcripts(engine, unknown, files)

    assert [decided(home, reply) for reply in known] == [
        ("open_browser", {"site": "wikipedia"}), ("play_music", {"artist": "miles davis"}),
        ("turn_on", {"device": "bedroom fan"})], [(reply.text, reply.reading) for reply in known]
    assert [decided(home, reply)[1] for reply in free] == [{"site": "a video"}, {"artist": "miles day this"},
                                                            {"device": "bedroom fire"}]
