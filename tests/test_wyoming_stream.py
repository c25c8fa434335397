"""Streamed transcripts on the Wyoming endpoint (transcript-start, transcript-chunk...,
transcript, transcript-stop), through the `wyoming` package's own client with the real model;
an older client that reads only `transcript`; and the pure parts under them: the chunks a
stream sends, the resampler that turns audio into 16 kHz as it arrives, the byte budget.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("wyoming")

from test_wyoming import JOE, TIMEOUT, assert_heard, chunks, engine, home_assistant, pcm, run, running  # noqa: E402,F401
from wyoming.asr import Transcribe, Transcript, TranscriptChunk  # noqa: E402
from wyoming.audio import AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402

from va.server.homeassistant.limits import Budget, OverBudget, shown  # noqa: E402
from va.server.homeassistant.resampler import StreamResampler  # noqa: E402
from va.server.homeassistant.streaming import TranscriptStream  # noqa: E402
from va.stt.audio import resample  # noqa: E402


async def streaming_client(port: int, audio: bytes, pace: float):
    """Audio at `pace` seconds per 1,024-sample chunk while reading events; (events with the
    number of chunks sent when each came, chunks sent in all)."""
    events, sent = [], [0]
    async with AsyncTcpClient("127.0.0.1", port) as client:
        async def read():
            while True:
                event = await asyncio.wait_for(client.read_event(), TIMEOUT)
                assert event is not None, "the server closed the connection"
                events.append((event, sent[0]))
                if event.type == "transcript-stop":
                    return

        reading = asyncio.create_task(read())
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for chunk in chunks(audio):
            await client.write_event(chunk.event())
            sent[0] += 1
            await asyncio.sleep(pace)
        await client.write_event(AudioStop().event())
        await reading
    return events, sent[0]


def test_partial_transcripts_stream_in_order_and_join_into_the_final_one(engine):
    entry = max(JOE, key=lambda entry: len(pcm(entry["file"])))

    async def scenario():
        async with running(engine, partial_every=0.5) as server:
            async with AsyncTcpClient("127.0.0.1", server.wyoming.port) as client:
                await client.write_event(Describe().event())
                info = Info.from_event(await asyncio.wait_for(client.read_event(), TIMEOUT))
            return info, await streaming_client(server.wyoming.port, pcm(entry["file"]), pace=0.064)  # real time, as Home Assistant sends

    info, (events, total) = run(scenario())
    assert info.asr[0].supports_transcript_streaming
    types = [event.type for event, _ in events]
    assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"], types
    assert set(types[1:-2]) == {"transcript-chunk"}, types
    texts = [TranscriptChunk.from_event(event).text for event, _ in events if event.type == "transcript-chunk"]
    final = Transcript.from_event(events[-2][0]).text
    assert_heard(final, entry)
    assert texts and "".join(texts).split() == final.split()  # the chunks are appended: they make the transcript
    before_stop = [event for event, when in events if event.type == "transcript-chunk" and when < total]
    assert before_stop, types  # at least one came while the audio was still being sent


def test_a_client_that_reads_only_the_transcript_gets_it_whole(engine):
    entry = JOE[2]

    async def scenario():
        async with running(engine, partial_every=0.2) as server:
            event = await home_assistant(server.wyoming.port, pcm(entry["file"]))  # skips what it does not know
            return event, server.wyoming.health()

    event, health = run(scenario())
    assert Transcript.is_type(event.type)
    assert_heard(Transcript.from_event(event).text, entry)
    assert health["held_bytes"] == 0  # the utterance gave its audio back


def test_without_partial_every_info_says_no_streaming_and_only_a_transcript_comes(engine):
    async def scenario():
        async with running(engine) as server:
            seen, _ = await asyncio.wait_for(_until_transcript(server.wyoming.port, pcm(JOE[0]["file"])), TIMEOUT)
            return seen

    assert run(scenario()) == ["transcript"]


async def _until_transcript(port, audio):
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for chunk in chunks(audio):
            await client.write_event(chunk.event())
        await client.write_event(AudioStop().event())
        seen = []
        while not seen or seen[-1] != "transcript":
            seen.append((await client.read_event()).type)
        return seen, None


# -- the pure parts -------------------------------------------------------------------------------


def test_a_stream_never_takes_back_what_it_sent():
    stream = TranscriptStream()
    assert stream.partial("Computer, set") is None  # a word is sent once two partials agree on it
    assert stream.partial("Computer, set of") == "Computer, set"  # "of": the last heard, and new
    assert stream.partial("Computer, set a timer") is None  # "of" became "a": nothing agreed beyond
    assert stream.partial("Computer, sat a timer for") is None  # revised what was sent: nothing
    assert stream.final("Computer, set a timer for five minutes.") == " a timer for five minutes."
    assert stream.partial("Computer, set a timer for five minutes. And") is None  # after the end
    assert "".join(stream.chunks) == "Computer, set a timer for five minutes."


@pytest.mark.parametrize("rate", [48000, 44100, 22050, 8000, 384000, 11025, 16000])
def test_resampling_as_audio_arrives_gives_what_resampling_the_whole_gives(rate):
    audio = (np.random.default_rng(rate).standard_normal(rate * 2 + 123) * 0.1).astype(np.float32)
    stream = StreamResampler(rate)
    pieces, offset, sizes = [], 0, [1024, 7, 4096, 333, 50000]
    while offset < audio.size:
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(stream.push(audio[offset : offset + size]))
        offset += size
        assert stream.held < audio.nbytes / 4  # never the whole
    pieces.append(stream.flush())
    whole = resample(audio, rate, 16000)
    streamed = np.concatenate(pieces)
    assert streamed.size == whole.size
    assert np.allclose(streamed, whole, atol=1e-6)


def test_the_budget_refuses_past_its_limit_and_takes_back_what_is_given():
    budget = Budget(1000)
    budget.take(600)
    with pytest.raises(OverBudget):
        budget.take(500)
    assert budget.held == 600
    budget.give(600)
    budget.take(1000)
    assert budget.peak == 1000


def test_a_peers_text_is_escaped_and_cut_short_in_the_log():
    assert shown("kitchen\u200b\nran unlock()") == "kitchen\\u200b\\nran unlock()"
    assert len(shown("x" * 100000)) < 120
