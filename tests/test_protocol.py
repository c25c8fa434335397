"""The wire events: what parses, what is refused and why, and that replies keep the seed's shape."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from va.protocol import (
    AudioInput,
    Error,
    Hello,
    ProtocolError,
    Ready,
    Transcript,
    parse_client_message,
    parse_server_message,
)

PCM = b"\x01\x00\xff\xff" * 800  # 1600 samples: 0.1 s at 16 kHz


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_the_seed_clients_exact_message_parses():
    import numpy as np

    samples = (np.sin(np.arange(1600) / 5) * 10000).astype(np.int16)
    message = json.dumps({"type": "audio_input", "data": base64.b64encode(samples.tobytes()).decode("ascii")})

    event = parse_client_message(message)

    assert event == AudioInput(samples.tobytes(), 16000, None)
    assert event.duration == pytest.approx(0.1)


def test_audio_input_carries_rate_and_id():
    event = parse_client_message(json.dumps({"type": "audio_input", "data": _b64(PCM), "rate": 8000, "id": "a1"}))
    assert (event.pcm, event.rate, event.id) == (PCM, 8000, "a1")
    assert event.duration == pytest.approx(0.2)


def test_binary_frame_is_raw_pcm_at_16k():
    assert parse_client_message(PCM) == AudioInput(PCM)
    assert parse_client_message(bytearray(PCM)) == AudioInput(PCM)


def test_hello_and_its_prompt():
    event = parse_client_message(
        json.dumps({"type": "hello", "keyword": "computer", "commands": ["set timer", "what time is it"], "client": "k"})
    )
    assert event == Hello("computer", ("set timer", "what time is it"), "k")
    assert event.prompt() == "computer, set timer, what time is it."
    assert Hello().prompt() is None
    assert Hello(keyword="jarvis").prompt() == "jarvis."


@pytest.mark.parametrize(
    "frame, reason, request_id",
    [
        ("{not json", "malformed JSON", None),
        ("[1, 2]", "JSON object", None),
        ('"audio_input"', "JSON object", None),
        ('{"data": "AAAA"}', "missing 'type'", None),
        ('{"type": "launch_rockets", "id": 7}', "unknown message type", 7),
        ('{"type": 5}', "unknown message type", None),
        ('{"type": "audio_input", "id": "x"}', "needs 'data'", "x"),
        ('{"type": "audio_input", "data": 12}', "needs 'data'", None),
        ('{"type": "audio_input", "data": "not base64!!", "id": 3}', "base64", 3),
        ('{"type": "audio_input", "data": "ü"}', "base64", None),
        ('{"type": "audio_input", "data": "AAAA"}', "odd number of bytes", None),  # 3 bytes
        ('{"type": "audio_input", "data": ""}', "empty audio", None),
        ('{"type": "audio_input", "data": "AAAAAA==", "rate": 0}', "'rate'", None),
        ('{"type": "audio_input", "data": "AAAAAA==", "rate": "16000"}', "'rate'", None),
        ('{"type": "audio_input", "data": "AAAAAA==", "rate": 16000.5}', "'rate'", None),
        ('{"type": "audio_input", "data": "AAAAAA==", "rate": true}', "'rate'", None),
        ('{"type": "audio_input", "data": "AAAAAA==", "rate": 10000000}', "'rate'", None),
        ('{"type": "audio_input", "data": "AAAAAA==", "id": [1]}', "'id'", None),
        ('{"type": "hello", "commands": "set timer"}', "list of strings", None),
        ('{"type": "hello", "keyword": 3}', "'keyword'", None),
        ("[" * 100000 + "]" * 100000, "nested too deeply", None),
        (b"", "empty audio", None),
        (b"\x00\x00\x00", "odd number of bytes", None),
    ],
)
def test_bad_input_raises_one_documented_error(frame, reason, request_id):
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(frame)
    assert reason in caught.value.message
    assert caught.value.id == request_id
    assert isinstance(caught.value, ValueError)


def test_replies_keep_the_seed_shape():
    assert json.loads(Transcript(" hello").to_json()) == {"type": "transcript", "data": " hello"}
    assert json.loads(Error("boom").to_json()) == {"type": "error", "data": "boom"}
    full = json.loads(Transcript("hi", "r1", 1.23456, 250.0, 0.01, -0.3).to_json())
    assert full == {
        "type": "transcript",
        "data": "hi",
        "id": "r1",
        "duration": 1.235,
        "processing_ms": 250.0,
        "no_speech_prob": 0.01,
        "avg_logprob": -0.3,
    }


@pytest.mark.parametrize(
    "event",
    [
        Ready("faster-whisper", "tiny.en"),
        Transcript("set a timer", 4, 2.5, 120.0, 0.125, -0.25),
        Transcript("just text"),
        Error("server busy", "abc"),
        Error("no id"),
    ],
)
def test_server_events_round_trip(event):
    assert parse_server_message(event.to_json()) == event


def test_parse_server_message_refuses_garbage():
    for frame in (b"\x00", "{", '{"type": "audio_input"}', "3"):
        with pytest.raises(ProtocolError):
            parse_server_message(frame)


@given(
    pcm=st.binary(min_size=1, max_size=64).map(lambda data: data + data),
    rate=st.integers(4000, 192000),
    request_id=st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=10)),
)
def test_client_events_round_trip(pcm, rate, request_id):
    event = AudioInput(pcm, rate, request_id)
    assert parse_client_message(event.to_json()) == event


@given(
    keyword=st.one_of(st.none(), st.text(max_size=10)),
    commands=st.lists(st.text(max_size=10), max_size=4).map(tuple),
    client=st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cn", "Zl", "Zp")), max_size=10)),
)
def test_hello_round_trips(keyword, commands, client):
    event = Hello(keyword, commands, client)
    assert parse_client_message(event.to_json()) == event


def test_the_hello_carries_the_clients_threshold():
    hello = Hello("computer", ("set timer",), "k", threshold=90.0)
    assert parse_client_message(hello.to_json()) == hello
    assert parse_client_message(json.dumps({"type": "hello"})).threshold is None  # an older client
    for bad in ("high", 101, -1, True):
        with pytest.raises(ProtocolError, match="threshold"):
            parse_client_message(json.dumps({"type": "hello", "threshold": bad}))


def _command(index, **extra):
    return {"name": f"c{index}", "spoken": [f"command {index}"], **extra}


@pytest.mark.parametrize(
    "commands, why",
    [
        ([_command(i) for i in range(501)], "501 commands (at most 500)"),
        ([_command(0, spoken=["x"] * 21)], "command 'c0' has 21 spoken names (at most 20)"),
        ([_command(0, sentences=["x {a}"] * 21)], "21 templates (at most 20)"),
        ([_command(0, params=[{"name": f"p{i}"} for i in range(17)])], "17 parameters (at most 16)"),
        ([_command(0, params=[{"name": "p", "kind": "choice", "choices": ["a"] * 1001}])], "1001 choices"),
        ([_command(0, params=[{"name": "p", "values": ["a"] * 1001}])], "1001 values (at most 1000)"),
        ([_command(i, spoken=["x"] * 20) for i in range(101)], "2020 spoken names and templates in all"),
        ([_command(i, params=[{"name": "p", "values": ["a"] * 1000}]) for i in range(21)], "21000 choices and values"),
        ([_command(0, spoken=["x" * 201])], "201 characters (at most 200)"),
    ],
)
def test_a_grammar_too_big_is_left_out_and_the_hello_says_which_bound(commands, why):
    hello = parse_client_message(json.dumps({"type": "hello", "keyword": "k", "grammar": {"version": 1, "commands": commands}}))
    assert hello.grammar is None and hello.keyword == "k"
    assert hello.left_out.startswith("hello 'grammar' left out, too big: ") and why in hello.left_out
    assert "\n" not in hello.left_out and "left_out" not in hello.to_dict()


def test_a_grammar_at_every_bound_is_accepted():
    commands = [_command(i, spoken=["x" * 200] * 4) for i in range(500)]
    commands[0]["params"] = [{"name": f"p{i}", "kind": "choice", "choices": ["a"] * 1000} for i in range(16)]
    hello = parse_client_message(json.dumps({"type": "hello", "grammar": {"version": 1, "commands": commands}}))
    assert len(hello.grammar.commands) == 500


def test_a_client_name_arrives_printable_and_short():
    hello = parse_client_message(json.dumps({"type": "hello", "client": "a\nERROR x\x1b[2J\u2028" + "k" * 300}))
    assert hello.client.startswith("a\\nERROR x\\x1b[2J\\u2028k") and len(hello.client) == 256


def test_ids_are_bounded_so_that_replies_stay_small():
    for bad in ("x" * 129, 2**63, -(2**63) - 1):
        with pytest.raises(ProtocolError, match="'id'"):
            parse_client_message(AudioInput(b"\0\0", id=bad).to_json())
    assert parse_client_message(AudioInput(b"\0\0", id="x" * 128).to_json()).id == "x" * 128


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_frame_parses_or_raises_protocol_error(frame):
    try:
        event = parse_client_message(frame)
    except ProtocolError as error:  # anything else escaping would fail the test
        assert error.message and len(error.message) <= 300 and "\n" not in error.message
    else:
        assert parse_client_message(event.to_json()) == event  # what it read, it can write back
