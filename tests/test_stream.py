"""Streamed phrases (va.protocol.stream) through a real `va server`: real model, real speech, port 0."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from websockets.asyncio.client import connect

from test_server import TIMEOUT, SpyEngine, ask, assert_heard, audio_input, pcm, receive, run, running, words
from va.protocol.stream import AudioChunk

FRAME = 960  # 30 ms of s16le 16 kHz, as the client sends it
HELLO = json.dumps({"type": "hello", "keyword": "computer", "commands": ["set timer"], "stream": 1})
ENTRY = {"timer-joe.wav": {"file": "timer-joe.wav", "text": "computer set a timer for twenty five minutes"},
         "time-joe.wav": {"file": "time-joe.wav", "text": "computer what time is it"}}


@pytest.fixture(scope="module")
def engine():
    import dataclasses

    from va.config import ServerSettings
    from va.stt import create_engine

    return create_engine(dataclasses.replace(ServerSettings(), engine="faster-whisper", device="cpu"))


def chunks(audio: bytes, request_id: int):
    return [AudioChunk(request_id, audio[i : i + FRAME]).to_bytes() for i in range(0, len(audio), FRAME)]


async def stream(ws, audio: bytes, request_id: int) -> None:
    for frame in chunks(audio, request_id):
        await ws.send(frame)


def test_the_server_offers_streaming_only_to_a_client_that_asks(engine):
    async def scenario():
        async with running(engine) as server:
            async with connect(server.url) as ws:
                asked = await ask(ws, HELLO)
            async with connect(server.url) as ws:
                plain = await ask(ws, json.dumps({"type": "hello", "keyword": "computer", "commands": []}))
        return asked, plain

    asked, plain = run(scenario())
    assert asked["stream"] == 1
    assert "stream" not in plain


def test_a_streamed_phrase_is_read_so_far_on_check_and_answered_whole_on_end(engine):
    audio = pcm("timer-joe.wav")
    half = len(audio) // 2 // FRAME * FRAME

    async def scenario():
        async with running(engine) as server:
            async with connect(server.url) as ws:
                await ask(ws, HELLO)
                await stream(ws, audio[:half], 7)
                await ws.send(AudioChunk(7, check=True).to_bytes())
                partial = await receive(ws)
                await stream(ws, audio[half:], 7)
                await ws.send(AudioChunk(7, end=True).to_bytes())
                final = await receive(ws)
        return partial, final

    partial, final = run(scenario())
    assert partial["id"] == 7 and partial["partial"] is True
    assert "timer" in words(partial["data"]) and "minutes" not in words(partial["data"])  # only the first half
    assert final["id"] == 7 and "partial" not in final
    assert_heard(final, ENTRY["timer-joe.wav"])
    assert final["duration"] == pytest.approx(len(audio) / 32000, abs=0.01)


def test_two_streams_on_one_connection_keep_their_ids_and_a_cancelled_one_gets_no_reply(engine):
    timer, time_ = pcm("timer-joe.wav"), pcm("time-joe.wav")

    async def scenario():
        async with running(engine) as server:
            async with connect(server.url) as ws:
                await ask(ws, HELLO)
                for a, b in zip(chunks(timer, 1), chunks(time_, 2)):  # interleaved frame by frame
                    await ws.send(a)
                    await ws.send(b)
                await stream(ws, timer, 3)
                await ws.send(AudioChunk(3, cancel=True).to_bytes())
                await ws.send(AudioChunk(2, end=True).to_bytes())
                await ws.send(AudioChunk(1, end=True).to_bytes())
                replies = [await receive(ws) for _ in range(2)]
                # the seed's one-shot format is still answered on a streaming connection
                seed = await ask(ws, audio_input("time-joe.wav", id="seed"))
                served = server.served
        return replies, seed, served

    replies, seed, served = run(scenario())
    by_id = {reply["id"]: reply for reply in replies}
    assert sorted(by_id) == [1, 2]
    assert_heard(by_id[1], ENTRY["timer-joe.wav"])
    assert_heard(by_id[2], ENTRY["time-joe.wav"])
    assert_heard(seed, ENTRY["time-joe.wav"])
    assert served == 3  # nothing was decoded for the cancelled stream


def test_a_client_that_leaves_mid_phrase_costs_no_decode_and_others_are_served(spy):
    audio = pcm("time-joe.wav")

    async def scenario():
        async with running(spy) as server:
            async with connect(server.url) as ws:
                await ask(ws, HELLO)
                await stream(ws, audio[: len(audio) // 2], 5)
            async with connect(server.url) as ws:
                await ask(ws, HELLO)
                await stream(ws, audio, 5)
                await ws.send(AudioChunk(5, end=True).to_bytes())
                reply = await receive(ws)
            while server.status().find("0 clients") < 0:
                await asyncio.sleep(0.01)
        return reply

    reply = run(scenario())
    assert_heard(reply, ENTRY["time-joe.wav"])
    assert len(spy.calls) == 1  # only the phrase that was finished was transcribed


def test_malformed_and_overlong_streams_are_errors_that_name_the_request(engine):
    async def scenario():
        async with running(engine, max_audio_seconds=1.0) as server:
            async with connect(server.url) as ws:
                await ask(ws, HELLO)
                short = await ask(ws, b"\x01\x01")
                odd = await ask(ws, AudioChunk(4).to_bytes() + b"\x00")
                flags = await ask(ws, b"\x01\x80" + (9).to_bytes(4, "big"))
                for frame in chunks(bytes(32000 * 2), 6):  # 2 s, over the 1 s limit
                    await ws.send(frame)
                too_long = await receive(ws)
                await ws.send(AudioChunk(6, end=True).to_bytes())  # its error was its reply: ignored
                empty = await ask(ws, AudioChunk(8, end=True).to_bytes())
                quiet = base64.b64encode(bytes(16000)).decode("ascii")  # 0.5 s: within the limit
                still = await ask(ws, json.dumps({"type": "audio_input", "data": quiet, "id": 1}))
        return short, odd, flags, too_long, empty, still

    short, odd, flags, too_long, empty, still = run(scenario())
    assert short["type"] == "error" and "header" in short["data"]
    assert odd["type"] == "error" and odd["id"] == 4
    assert flags["type"] == "error" and flags["id"] == 9
    assert (too_long["type"], too_long["data"], too_long["id"]) == ("error", "audio too long: more than 1 s", 6)
    assert (empty["type"], empty["data"], empty["id"]) == ("error", "empty audio", 8)
    assert still["type"] == "transcript" and still["id"] == 1


def test_a_raw_binary_frame_is_still_one_whole_request_without_streaming(engine):
    async def scenario():
        async with running(engine) as server:
            async with connect(server.url) as ws:
                return await ask(ws, pcm("time-joe.wav"))

    assert_heard(run(scenario()), ENTRY["time-joe.wav"])


@pytest.fixture
def spy(engine):
    return SpyEngine(engine)



def test_a_check_that_ends_open_is_not_finished_by_the_grammar_and_the_whole_phrase_is(engine):
    """A phrase so far that ends where speech cannot stop ("Computer turn on the", from
    "computer turn on the heater in the hall" in brown noise) is read from its free transcript
    alone: no command yet, where the grammar's guided decoding would finish it as some device
    ("turn on the fan") at the cost of its decodes. Its END is read with the grammar, as every
    whole phrase is, and finds the command the audio supports."""
    from test_recognition_e2e import HOME
    from va.protocol import Hello, parse_server_message

    audio = pcm("guided-turn-on-noise.wav")
    cut = int(1.45 * 16000) * 2

    async def scenario():
        async with running(engine) as server:
            async with connect(server.url) as ws:
                await ask(ws, Hello("computer", (), "test", HOME, stream=1).to_json())
                await stream(ws, audio[:cut], 3)
                await ws.send(AudioChunk(3, check=True).to_bytes())
                partial = parse_server_message(await asyncio.wait_for(ws.recv(), TIMEOUT))
                await stream(ws, audio[cut:], 3)
                await ws.send(AudioChunk(3, end=True).to_bytes())
                final = parse_server_message(await asyncio.wait_for(ws.recv(), TIMEOUT))
        return partial, final

    partial, final = run(scenario())
    assert partial.partial and words(partial.text).split()[-1] == "the", partial.text  # it ends open
    assert partial.reading is not None and (partial.reading.command, partial.reading.accepted) == (None, False)
    reading = (final.reading.command, final.reading.args, final.reading.accepted)
    assert reading == ("turn_on", {"device": "heater", "room": "hall"}, True)
