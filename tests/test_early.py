"""Early decisions (va.client.early, va.client.live) and the endpointer (va.client.endpoint).

The end-to-end tests run a real `va server` (real tiny.en) and the real client on real speech. The
audio source holds its reads a little into a pause (0.3 s of quiet, counted in audio) until the
test lets it go on, so whether a command ran before its full pause (0.8 s) is a fact, not a race:
while the source is held, the full pause cannot have been heard.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, List

import pytest

from test_client import RECORDER, assist, client_settings, phrase_records, recorded, recorder  # noqa: F401
from test_server import running
from va.client.assistant import Assistant
from va.client.early import judge, open_end
from va.client.endpoint import Audio, Discarded, Endpointer, Ended, Quiet, Resumed, Started
from va.client.microphone import FileSource, decode_file
from va.client.vad import FRAME_BYTES, FRAME_SECONDS
from va.commands.registry import load_registry
from va.config import CommandSettings, Settings
from va.language.matching import interpret
from va.stt.audio import pcm16_to_float

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PAUSES = ROOT / "bench" / "corpus" / "pauses"
TIMEOUT = 180.0
LOUD, QUIET = b"\x10\x27" * (FRAME_BYTES // 2), bytes(FRAME_BYTES)


# -- the endpointer, frame by frame -------------------------------------------------------------


def feed(endpointer: Endpointer, pattern: str) -> List[Any]:
    """'s' a speech frame, '.' a quiet one; the events, in order."""
    events = []
    for index, mark in enumerate(pattern):
        events += endpointer.feed(LOUD if mark == "s" else QUIET, mark == "s", index * FRAME_SECONDS)
    return events


def test_a_phrase_starts_with_its_preroll_reports_short_quiets_and_ends_after_the_pause():
    endpointer = Endpointer(pause=0.3, marks=(0.06, 0.15), preroll=0.09, min_speech=0.09)
    events = feed(endpointer, "...." + "ssss" + "..." + "ssss" + ".........." + "..")
    kinds = [type(event).__name__ for event in events if not isinstance(event, Audio)]
    assert kinds == ["Started", "Quiet", "Resumed", "Quiet", "Quiet", "Ended"]
    started = events[0]
    assert isinstance(started, Started) and started.pcm == QUIET * 3 + LOUD  # 0.09 s of preroll
    ended = next(event for event in events if isinstance(event, Ended))
    assert ended.last_loud == pytest.approx(14 * FRAME_SECONDS)  # the last "s"
    assert ended.pcm.endswith(LOUD + QUIET * 3)  # at most `preroll` of the ending quiet is kept
    quiets = [event.seconds for event in events if isinstance(event, Quiet)]
    assert quiets == pytest.approx([0.06, 0.06, 0.15])


def test_a_click_is_no_phrase_and_a_cut_phrase_is_over():
    endpointer = Endpointer(pause=0.3, min_speech=0.3)
    events = feed(endpointer, "s" + "." * 12)
    assert isinstance(events[-1], Discarded)
    events = feed(endpointer, "ssssssssssss")
    assert endpointer.active
    assert isinstance(endpointer.cut(endpointer.number), Discarded) and not endpointer.active
    assert endpointer.cut(endpointer.number) is None  # once
    assert isinstance(feed(endpointer, "ss")[0], Started)  # more speech is a new phrase


def test_resumed_only_after_a_reported_quiet():
    endpointer = Endpointer(pause=0.6, marks=(0.09,), min_speech=0.03)
    events = feed(endpointer, "ss.ss..ss...ss")
    assert sum(isinstance(event, Resumed) for event in events) == 1  # the gaps of 1 and 2 frames are words


# -- the rules, on text --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_registry():
    return load_registry(dataclasses.replace(CommandSettings(), modules=(), paths=(str(ROOT / "bench/corpus/commands.py"),)))


@pytest.mark.parametrize("text, early", [
    ("computer what time is it", True),
    ("computer set a timer for twenty five minutes", True),
    ("computer set the fan speed to high", True),
    ("computer turn on the lights in the kitchen", True),
    ("computer set a timer for twenty", False),  # "twenty … five minutes"
    ("computer set the volume to seventy", False),  # "seventy … five"
    ("computer play music by", False),  # free text
    ("computer play music by the beatles", False),  # free text could go on
    ("computer turn on the lights", False),  # the room could still come
    ("computer turn on", False),  # not a command yet
    ("computer lock the", False),
    ("computer set the temperature to twenty one point", False),
    ("computer turn on the lights in the living", False),  # "living … room"
    ("what time is it", False),  # no keyword
])
def test_only_a_command_that_cannot_go_on_runs_early(corpus_registry, text, early):
    settings = Settings()
    found = interpret(text, corpus_registry)
    verdict = judge(text, found, None, settings)
    assert verdict.early is early, verdict.why


def test_a_server_reading_must_agree_and_be_confident(corpus_registry):
    from va.protocol import Reading

    settings, text = Settings(), "computer what time is it"
    found = interpret(text, corpus_registry)
    assert judge(text, found, Reading("what_time_is_it", {}, -0.2, True), settings).early
    assert not judge(text, found, Reading("what_time_is_it", {}, -8.0, True), settings).early
    assert not judge(text, found, Reading("what_time_is_it", {}, 0.0, False), settings).early
    assert not judge(text, found, Reading("next_song", {}, 0.0, True), settings).early
    assert open_end("computer what time is it", (), {}) is None


# -- end to end: real server, real client, real speech --------------------------------------------


class HeldSource(FileSource):
    """Plays one file as fast as it is read, but holds twice until the test says go: just before
    the file (so the server's ready is in before the phrase), and at ``hold_at`` s of the file."""

    def __init__(self, path: str, hold_at: float, microphone: Any) -> None:
        lead = microphone.calibrate_seconds + 1.0
        super().__init__([path], lead_seconds=lead, gap_seconds=max(1.0, microphone.pause_threshold + 0.25))
        self.go, self.held = [threading.Event(), threading.Event()], [threading.Event(), threading.Event()]
        self._holds = [int((lead - 0.1) * 16000) * 2, int((lead + hold_at) * 16000) * 2]

    def __enter__(self) -> HeldSource:
        super().__enter__()
        inner, source, read = self.stream, self, [0]

        class Held:
            def read(self, size: int) -> bytes:
                for hold, held, go in zip(source._holds, source.held, source.go):
                    if read[0] >= hold and not go.is_set():
                        held.set()
                        go.wait(TIMEOUT)
                chunk = inner.read(size)
                read[0] += len(chunk)
                return chunk

            def close(self) -> None:
                inner.close()

        self.stream = Held()
        return self


@pytest.fixture(scope="module")
def engine():
    from va.config import ServerSettings
    from va.stt import create_engine

    return create_engine(dataclasses.replace(ServerSettings(), engine="faster-whisper", device="cpu"))


async def until(condition, what: str) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(wait(), TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(f"never: {what}") from None


def held_run(engine, path: Path, hold_at: float, while_held, caplog, **client: Any) -> None:
    """The client hears ``path`` through a real server; ``while_held()`` (a coroutine) runs while
    the source is held at ``hold_at`` s of the file; then the rest plays."""

    async def scenario() -> None:
        async with running(engine) as server:
            settings = client_settings(server.url, [str(RECORDER)], **client)
            source = HeldSource(str(path), hold_at, settings.microphone)
            assistant = Assistant(settings, source)
            task = asyncio.ensure_future(assist(assistant))
            try:
                await until(source.held[0].is_set, "the source reached the phrase")
                await until(lambda: "Server ready" in caplog.text, "the server said ready")
                source.go[0].set()
                await until(source.held[1].is_set, "the source reached the hold")
                await while_held()
            finally:
                for go in source.go:
                    go.set()
            await asyncio.wait_for(task, TIMEOUT)

    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="va.client.assistant")
    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT * 2))


def spoken_end(path: Path) -> float:
    """Where the last sound of a fixture ends (any sample above 1/1000 of full scale)."""
    from va.client.microphone import decode_file
    from va.client.vad import rms

    pcm = decode_file(str(path))
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    last = max(index for index, frame in enumerate(frames) if rms(frame) > 33)
    return (last + 1) * FRAME_SECONDS


def test_a_complete_command_runs_at_the_short_pause_and_only_once(engine, recorder, caplog):  # noqa: F811
    path = FIXTURES / "time-joe.wav"

    async def while_held() -> None:  # 0.3 s into the quiet: the full pause (0.8 s) is not heard yet
        await until(lambda: recorded(recorder), "the command ran while the pause was still short")

    held_run(engine, path, spoken_end(path) + 0.3, while_held, caplog)
    assert [line["name"] for line in recorded(recorder)] == ["what_time_is_it"]
    (record,) = phrase_records(caplog)
    assert record.VA_DECISION == "ran" and record.VA_COMMAND == "what_time_is_it"


def test_a_command_with_a_pause_inside_waits_and_runs_whole_once(engine, recorder, caplog):  # noqa: F811
    entry = next(e for e in json.loads((PAUSES / "manifest.json").read_text())
                 if e["voice"] == "piper-joe" and e["expected"]["command"] == "set_timer" and "twenty" in e["text"])

    async def while_held() -> None:  # 0.3 s into the pause after "twenty": read, judged, not run
        await until(lambda: any("twenty" in r.getMessage() or "20" in r.getMessage() for r in caplog.records
                                if r.getMessage().startswith("So far")), "the phrase so far was read")
        assert recorded(recorder) == []

    held_run(engine, PAUSES / entry["file"], entry["pause_at_s"] + 0.3, while_held, caplog)
    assert [(line["name"], line["args"]) for line in recorded(recorder)] == [("set_timer", {"minutes": 25})]
    assert len(phrase_records(caplog)) == 1


def test_without_streaming_the_client_waits_for_the_pause_as_before(engine, recorder, caplog):  # noqa: F811
    """Held 0.3 s into the quiet for as long as a streamed check of the phrase would take to be read
    and run (three times one transcription of the whole file, and a second more): nothing runs."""
    path = FIXTURES / "time-joe.wav"
    started = time.monotonic()
    engine.transcribe(pcm16_to_float(decode_file(str(path))))
    would_have_run = 3 * (time.monotonic() - started) + 1.0

    async def while_held() -> None:  # the streamed check's reply would be in by the end of this
        await asyncio.sleep(would_have_run)
        assert recorded(recorder) == [] and not phrase_records(caplog)
        assert not any(record.getMessage().startswith("So far") for record in caplog.records)

    held_run(engine, path, spoken_end(path) + 0.3, while_held, caplog, stream=False)
    assert [line["name"] for line in recorded(recorder)] == ["what_time_is_it"]
    assert len(phrase_records(caplog)) == 1
