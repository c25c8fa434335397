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
from va.client.early import Habits, judge, open_end
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


@pytest.fixture(scope="module")
def user_registry():
    """Commands as a new user writes them: free-text str and plain int parameters."""
    return load_registry(dataclasses.replace(CommandSettings(), modules=(), paths=(str(PAUSES / "user_commands.py"),)))


def wait_for(registry, text: str, settings: Settings = Settings(), habits: Any = None):
    """Seconds of quiet after which ``text`` runs (None: the full pause)."""
    verdict = judge(text, interpret(text, registry), None, settings, habits)
    return verdict.wait if verdict.early else None


@pytest.mark.parametrize("text, wait", [
    ("computer set volume to seventy five", 0.2),  # "seventy five" cannot grow
    ("computer set the volume to 75", 0.2),  # as Whisper writes it
    ("computer add numbers ten and eight", 0.2),
    ("computer add numbers ten and eighteen", None),  # Whisper writes "seventy" cut short as "17"
    ("computer set a timer for twenty five minutes", 0.2),
    ("computer set volume to seventy", None),  # "… five"
    ("computer set volume to 70", None),
    ("computer set volume to 7", None),  # tiny.en's "seventy" cut short
    ("computer add numbers 3 and 4", None),  # "4" may be "forty" cut short
    ("computer add numbers three and four", 0.2),  # said as a word, it is a four
    ("computer set volume to one hundred", None),  # "… and five"
    ("computer add numbers ten and", None),
    ("computer turn on the kitchen lights", None),  # free text never heard: it could go on
    ("computer lock screen", 0.2),
])
def test_a_number_runs_early_unless_it_can_grow(user_registry, text, wait):
    assert wait_for(user_registry, text) == wait


def test_free_text_runs_early_once_its_value_is_known_and_said_in_full(user_registry):
    habits = Habits()
    turn_on = user_registry.commands["turn on"]
    assert wait_for(user_registry, "computer turn on the kitchen lights", habits=habits) is None
    habits.learn("computer turn on the kitchen lights", turn_on, {"device": "the kitchen lights"})
    assert wait_for(user_registry, "computer turn on kitchen lights", habits=habits) is None  # once may be misheard
    habits.learn("computer turn on kitchen lights", turn_on, {"device": "kitchen lights"}, values=False)  # a pause inside
    assert wait_for(user_registry, "computer turn on kitchen lights", habits=habits) is None
    habits.learn("computer turn on kitchen lights", turn_on, {"device": "kitchen lights"})
    assert wait_for(user_registry, "computer turn on kitchen lights", habits=habits) == 0.2
    assert wait_for(user_registry, "computer turn on the kitchen", habits=habits) is None  # unknown
    for _ in range(2):
        habits.learn("computer turn on the kitchen", turn_on, {"device": "kitchen"})
    assert wait_for(user_registry, "computer turn on the kitchen", habits=habits) is None  # "… lights"
    assert wait_for(user_registry, "computer turn off the kitchen lights", habits=habits) == 0.2  # the same device
    assert wait_for(user_registry, "computer play music by kitchen lights", habits=habits) is None  # not an artist


def test_a_number_waits_where_the_command_went_on_after_it_before(user_registry):
    habits = Habits()
    assert wait_for(user_registry, "computer set a timer for five", habits=habits) == 0.2
    habits.learn("computer set a timer for ten minutes", user_registry.commands["set timer"], {"minutes": 10})
    assert wait_for(user_registry, "computer set a timer for five", habits=habits) is None  # "… minutes"
    assert wait_for(user_registry, "computer set a timer for five minutes", habits=habits) == 0.2


def test_open_pause_lets_a_command_that_could_grow_run_after_a_longer_quiet(user_registry):
    settings = Settings()
    settings = dataclasses.replace(settings, microphone=dataclasses.replace(settings.microphone, open_pause=0.5))
    assert wait_for(user_registry, "computer set volume to seventy", settings) == 0.5
    assert wait_for(user_registry, "computer play music by the beatles", settings) == 0.5
    assert wait_for(user_registry, "computer play music by", settings) is None  # "by" leads on
    assert wait_for(user_registry, "computer set volume to seventy five", settings) == 0.2


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


HOME = ROOT / "tests" / "client_commands" / "home.py"


def held_run(engine, path: Path, hold_at: float, while_held, caplog, commands: Path = RECORDER, **client: Any) -> None:
    """The client hears ``path`` through a real server; ``while_held()`` (a coroutine) runs while
    the source is held at ``hold_at`` s of the file; then the rest plays."""

    async def scenario() -> None:
        async with running(engine) as server:
            settings = client_settings(server.url, [str(commands)], **client)
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


@pytest.mark.slow
def test_a_command_ending_in_a_number_that_cannot_grow_runs_at_the_short_pause(engine, recorder, caplog):  # noqa: F811
    path = PAUSES / "user" / "clips" / "tune-06-espeak-us-m3-set-volume.flac"  # "… set the volume to thirty five"

    async def while_held() -> None:  # 0.3 s into the quiet: before, every number waited for the full pause
        await until(lambda: recorded(recorder), "the command ran while the pause was still short")

    held_run(engine, path, spoken_end(path) + 0.3, while_held, caplog, commands=HOME)
    assert [(line["name"], line["args"]) for line in recorded(recorder)] == [("set_volume", {"level": 35})]
    assert len(phrase_records(caplog)) == 1


def thrice(path: Path, out: Path, gap: float = 1.5) -> Path:
    """The clip said three times, ``gap`` s of quiet between (a 16 kHz WAV)."""
    import wave

    from va.client.microphone import decode_file

    pcm = decode_file(str(path))
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes((bytes(int(gap * 16000) * 2)).join([pcm] * 3))
    return out


@pytest.mark.slow
def test_free_text_heard_before_runs_at_the_short_pause_the_next_time(engine, recorder, caplog, tmp_path):  # noqa: F811
    clip = PAUSES / "user" / "clips" / "tune-03-espeak-us-m3-turn-on.flac"  # "computer turn on the coffee machine"
    path = thrice(clip, tmp_path / "thrice.wav")

    async def while_held() -> None:  # 0.3 s into the quiet after the third: the first two taught the value
        await until(lambda: len(recorded(recorder)) == 3, "the third one ran while the pause was still short")

    held_run(engine, path, spoken_end(path) + 0.3, while_held, caplog, commands=HOME)
    devices = [line["args"]["device"].lower().rstrip(".") for line in recorded(recorder)]
    assert devices == ["the coffee machine"] * 3
    assert len(phrase_records(caplog)) == 3


@pytest.mark.slow
def test_seventy_then_a_pause_then_five_runs_once_with_75(engine, recorder, caplog):  # noqa: F811
    entry = next(e for e in json.loads((PAUSES / "user" / "pauses.json").read_text())
                 if e["voice"] == "espeak-us-m3" and e["expected"]["command"] == "set_volume")  # joe's "five" is lost

    async def while_held() -> None:  # 0.3 s after "seventy" (tiny.en reads "70" or "17"): either could grow
        await until(lambda: any(r.getMessage().startswith("So far") for r in caplog.records), "the phrase so far was read")
        assert recorded(recorder) == []

    held_run(engine, PAUSES / "user" / entry["file"], entry["pause_at_s"] + 0.3, while_held, caplog, commands=HOME)
    assert [(line["name"], line["args"]) for line in recorded(recorder)] == [("set_volume", {"level": 75})]
    assert len(phrase_records(caplog)) == 1  # whole and once: tiny.en writes it "70. 5.", read as 75


def test_declared_values_count_as_known_from_the_start():
    """A str parameter's declared values (``Annotated[str, Values(...)]``, read as
    ``Parameter.values``) are known before anything ran."""
    from types import SimpleNamespace

    from va.client.early import may_grow

    device = SimpleNamespace(name="device", kind="str", required=True, default=None, choices=(),
                             values=("Kitchen Lights", "kitchen"))
    turn_on = SimpleNamespace(name="turn_on", parameters=(device,))
    assert may_grow("computer turn on the kitchen lights", turn_on, {"device": "the kitchen lights"}, Habits()) is None
    assert "may begin" in may_grow("computer turn on the kitchen", turn_on, {"device": "kitchen"}, Habits())
    assert "not heard twice before" in may_grow("computer turn on the hall", turn_on, {"device": "hall"}, Habits())


def test_a_number_that_could_only_grow_out_of_its_range_runs_early():
    from types import SimpleNamespace

    from va.client.early import may_grow
    from va.language.parameters import Range

    level = SimpleNamespace(name="level", kind="int", required=True, default=None, choices=(), range=Range(0, 70))
    set_volume = SimpleNamespace(name="set_volume", parameters=(level,))
    assert may_grow("computer set volume to seventy", set_volume, {"level": 70}, Habits()) is None  # 71 > 70
    assert may_grow("computer set volume to sixty", set_volume, {"level": 60}, Habits()) is not None  # 61 fits
    assert may_grow("computer set volume to 17", set_volume, {"level": 17}, Habits()) is not None  # may be 70: fits
    assert may_grow("computer set volume to 18", set_volume, {"level": 18}, Habits()) is None  # 80 would not
