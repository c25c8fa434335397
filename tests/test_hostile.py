"""Hostile and clumsy inputs against ONE real `va server` process: a table, one line a probe.

Each probe opens its own connection, sends its frame(s) and checks the reply (or the close code).
Then it checks that the connection still serves a request (or, when the probe was meant to close
it, that a new connection does), so a probe that kills the worker, the handler or the server fails
here and not in the next test. Error replies must stay small whatever was sent (no echo
amplification). To add a probe, add a line to PROBES.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from procs import TIMEOUT, audio_input, healthy, receive, run, start_server, stop_all, write_config

pytestmark = pytest.mark.slow

ONE = "AAE="  # one s16le sample
TINY = audio_input(b"\x00\x01")
MAX_MESSAGE_BYTES = 2 << 20  # this server's server.max_message_bytes
MAX_ERROR_BYTES = 1024


def msg(**fields: Any) -> str:
    return json.dumps(fields)


def audio(**fields: Any) -> str:
    return json.dumps({"type": "audio_input", "data": ONE, **fields})


@dataclass(frozen=True)
class Expect:
    kind: str  # a reply's type ("error", "transcript", "ready", ...), "close", or "none" (count=0)
    text: str = ""  # in an error's data; a close code for "close"
    id: Any = "unset"  # the id the reply must carry ("unset": not checked)
    count: int = 1  # replies expected


def error(text: str, id: Any = "unset") -> Expect:
    return Expect("error", text, id)


def transcript(id: Any = "unset") -> Expect:
    return Expect("transcript", id=id)


def closes(code: int) -> Expect:
    return Expect("close", str(code))


READY = Expect("ready")
Frames = Tuple[Any, ...]

PROBES = [  # (name, frames: a str/bytes, a tuple of them, or ("invalid-utf8", bytes), expectation)
    ("truncated JSON", "{", error("malformed JSON")),
    ("not JSON", "hello server", error("malformed JSON")),
    ("empty text frame", "", error("malformed JSON")),
    ("JSON null", "null", error("JSON object")),
    ("JSON list", "[]", error("JSON object")),
    ("JSON number", "42", error("JSON object")),
    ("JSON string", '"audio_input"', error("JSON object")),
    ("object without type", "{}", error("missing 'type'")),
    ("type is a number", msg(type=7), error("unknown message type")),
    ("type is null", msg(type=None), error("unknown message type")),
    ("a server event sent to the server", msg(type="transcript", data="hi"), error("unknown message type")),
    ("type in capitals", msg(type="AUDIO_INPUT", data=ONE), error("unknown message type")),
    ("type of 100 kB", msg(type="x" * 100_000), error("unknown message type")),
    ("audio without data", msg(type="audio_input"), error("needs 'data'")),
    ("data is a number", msg(type="audio_input", data=5), error("needs 'data'")),
    ("data is null", msg(type="audio_input", data=None, id=3), error("needs 'data'", id=3)),
    ("data not base64", audio(data="!!", id="b"), error("not valid base64", id="b")),
    ("data with a newline", audio(data="AA\nE="), error("not valid base64")),
    ("data url-safe base64", audio(data="-_8="), error("not valid base64")),
    ("data without padding", audio(data="AAE"), error("not valid base64")),
    ("data not ASCII", audio(data="é"), error("not valid base64")),
    ("data empty", audio(data=""), error("empty audio")),
    ("data one byte", audio(data="AA=="), error("odd number of bytes")),
    ("rate zero", audio(rate=0), error("'rate'")),
    ("rate negative", audio(rate=-16000), error("'rate'")),
    ("rate a string", audio(rate="16000"), error("'rate'")),
    ("rate a float", audio(rate=16000.0), error("'rate'")),
    ("rate true", audio(rate=True), error("'rate'")),
    ("rate NaN", '{"type": "audio_input", "data": "AAE=", "rate": NaN}', error("'rate'")),
    ("rate 1e400", '{"type": "audio_input", "data": "AAE=", "rate": 1e400}', error("'rate'")),
    ("rate just below range", audio(rate=3999), error("'rate'")),
    ("rate just above range", audio(rate=192001), error("'rate'")),
    ("rate 191999 (no common factor)", audio(rate=191999, id=1), transcript(id=1)),
    ("rate 4000", audio(rate=4000), transcript()),
    ("rate 192000", audio(rate=192000), transcript()),
    ("rate 44100", audio(rate=44100), transcript()),
    ("id a list", audio(id=[]), error("'id'")),
    ("id an object", audio(id={}), error("'id'")),
    ("id true", audio(id=True), error("'id'")),
    ("id a float", audio(id=1.5), error("'id'")),
    ("id of 1 MB", audio(id="x" * 1_000_000), error("'id'", id=None)),
    ("id of 2**70", audio(id=2**70), error("'id'", id=None)),
    ("id empty string", audio(id=""), transcript(id="")),
    ("id negative", audio(id=-1), transcript(id=-1)),
    ("id with control characters", audio(id="\x00\n\x1b"), transcript(id="\x00\n\x1b")),
    ("id a lone surrogate", '{"type": "audio_input", "data": "AAE=", "id": "\\ud800"}', transcript(id="\ud800")),
    ("unknown extra keys", audio(id=9, volume=11, type2="x"), transcript(id=9)),
    ("duplicate type key, last wins", '{"type": "audio_input", "type": "hello"}', READY),
    ("audio 31 s long", audio_input(b"\0\0" * 16000 * 31, id=7), error("audio too long", id=7)),
    ("audio 31 s long at 4 kHz", audio_input(b"\0\0" * 4000 * 31, rate=4000), error("audio too long")),
    ("binary empty", b"", error("empty audio")),
    ("binary odd length", b"\0\0\0", error("odd number of bytes")),
    ("binary one sample", b"\0\1", transcript(id=None)),
    ("JSON nested 100000 deep", "[" * 100_000 + "]" * 100_000, error("malformed JSON")),
    ("deep value inside audio", audio(x=0)[:-1] + ', "y": ' + "[" * 50_000 + "]" * 50_000 + "}", error("malformed JSON")),
    ("hello commands not a list", msg(type="hello", commands="set timer"), error("'commands'")),
    ("hello commands of numbers", msg(type="hello", commands=[1, 2]), error("'commands'")),
    ("hello client a number", msg(type="hello", client=5), error("'client'")),
    ("hello keyword null", msg(type="hello", keyword=None), READY),
    ("hello with 10000 commands", msg(type="hello", commands=[f"command {n}" for n in range(10_000)]), READY),
    ("hello client of 100 kB", msg(type="hello", client="k" * 100_000), READY),
    ("hello client with a newline", msg(type="hello", client="a\nERROR va.server: forged"), READY),
    ("hello twice", (msg(type="hello"), msg(type="hello")), Expect("ready", count=2)),
    ("three requests pipelined", (audio(id=1), audio(id=2), audio(id=3)), Expect("transcript", count=3)),
    ("grammar that is not one", msg(type="hello", grammar={"version": 1, "commands": "x"}), error("grammar")),
    ("grammar of an unknown version", msg(type="hello", grammar={"version": 99}), READY),
    ("relay run before a hello", msg(type="run", id="r1", command="lights", target="hall"), Expect("run_result")),
    ("relay run without a command", msg(type="run", id="r2"), error("'command'")),
    ("relay run with a 1 MB id", msg(type="run", id="x" * 1_000_000, command="c"), error("'id'", id=None)),
    ("relay directory query", msg(type="directory"), Expect("directory")),
    ("relay result nobody waits for", msg(type="run_result", id="z", outcome="ok"), Expect("none", count=0)),
    ("frame over max_message_bytes", "x" * (MAX_MESSAGE_BYTES + 1), closes(1009)),
    ("text frame of invalid UTF-8", ("invalid-utf8", b'{"type": "\xff"}'), closes(1007)),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile")
    config = write_config(tmp_path / "config.yaml", 0, {"server": {"max_message_bytes": MAX_MESSAGE_BYTES}})
    yield start_server(tmp_path, config)
    stop_all()


def test_the_table_is_long_enough():
    assert len(PROBES) >= 40 and len({name for name, _, _ in PROBES}) == len(PROBES)


@pytest.mark.parametrize("frames, expect", [probe[1:] for probe in PROBES], ids=[probe[0] for probe in PROBES])
def test_probe(server, frames: Any, expect: Expect) -> None:
    run(_probe(server.url, frames, expect))
    assert server.popen.poll() is None, server.text()[-3000:]
    assert healthy(server.port)


async def _probe(url: str, frames: Any, expect: Expect) -> None:
    async with connect(url, max_size=None, close_timeout=2) as connection:
        for frame in _frames(frames):
            if isinstance(frame, tuple):  # ("invalid-utf8", bytes): bytes in a text frame
                await connection.send(frame[1], text=True)
            else:
                await connection.send(frame)
        closed = await _replies(connection, expect)
    if closed is not None:  # the server closed this one: a new connection is served
        async with connect(url) as connection:
            await connection.send(TINY)
            assert (await receive(connection))["type"] == "transcript"


def _frames(frames: Any) -> Frames:
    if isinstance(frames, tuple) and not (len(frames) == 2 and frames[0] == "invalid-utf8"):
        return frames
    return (frames,)


async def _replies(connection: Any, expect: Expect) -> Optional[int]:
    """Check the replies; None when the connection stays open (and a follow-up was sent)."""
    try:
        raws = [await _raw(connection) for _ in range(expect.count)]
    except ConnectionClosed as closed:
        assert expect.kind == "close", f"closed ({closed}) instead of {expect}"
        assert str(closed.rcvd.code if closed.rcvd else None) == expect.text, closed
        return closed.rcvd.code
    assert expect.kind != "close", f"not closed: {raws[0][:200]}"
    for raw in raws:
        reply = json.loads(raw)
        assert reply["type"] == expect.kind, reply if len(raw) < 2000 else raw[:2000]
        if expect.kind == "error":
            assert expect.text in reply["data"] and len(raw) <= MAX_ERROR_BYTES, raw[:2000]
        if expect.id != "unset":
            assert reply.get("id") == expect.id, raw[:2000]
    await connection.send(TINY)
    follow_up = json.loads(await _raw(connection))
    assert follow_up["type"] == "transcript", follow_up
    return None


async def _raw(connection: Any) -> str:
    return await asyncio.wait_for(connection.recv(), TIMEOUT)
