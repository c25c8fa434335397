"""The household's arbitration: its pure core (va.server.household.arbitration), the loudness a
client measures (va.protocol.heard), the wire fields, and the server's edge with a real event
loop (va.server.household.answers)."""

from __future__ import annotations

import array
import asyncio
import math
import random

import pytest

from va.config.settings import ArbitrationSettings
from va.protocol import AudioInput, Hello, Reading, Transcript, parse_client_message, parse_server_message
from va.protocol.heard import Loudness, measure
from va.server.household.answers import Answers
from va.server.household.arbitration import Arbiter, Candidate, Decision, agree, words_of

CLEAN, QUIETER, NOISY = Loudness(-20.0, 60.0), Loudness(-26.0, 60.0), Loudness(-20.0, 8.0)


def candidate(client: str, loudness: Loudness = CLEAN, at: float = 100.0, key: str = "") -> Candidate:
    return Candidate(key or f"s/{client}/1", client, at - 2.0, at, loudness, arrived=at)


def read(arbiter: Arbiter, client: str, text: str, at: float, command: str = None, addressed=(), key: str = "") -> None:
    arbiter.read(key or f"s/{client}/1", words_of(text, "computer"), command, 0.0, tuple(addressed), at)


def heard(arbiter: Arbiter, *candidates: Candidate) -> None:
    for each in candidates:
        arbiter.heard(each, each.arrived)


ONLINE = ("kitchen", "living-room", "hall")


def test_one_client_decides_at_once_and_runs() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen"))
    read(arbiter, "kitchen", "computer set a timer for five minutes", 100.3, "set_timer")
    verdict, due = arbiter.verdict("s/kitchen/1", 100.3, ["kitchen"])
    assert verdict is not None and verdict.run and verdict.winner == "kitchen" and due is None


def test_the_best_heard_runs_and_the_other_stands_down_whichever_is_read_first() -> None:
    for first in ("kitchen", "living-room"):
        arbiter = Arbiter(0.15, 1.0)
        heard(arbiter, candidate("kitchen", CLEAN, 100.0), candidate("living-room", QUIETER, 100.1))
        second = "living-room" if first == "kitchen" else "kitchen"
        read(arbiter, first, "computer set a timer for five minutes", 100.4, "set_timer")
        verdict, due = arbiter.verdict(f"s/{first}/1", 100.4, ONLINE[:2])
        if first == "living-room":  # the kitchen, heard better, is being read: wait for it
            assert verdict is None and due == pytest.approx(101.4)
        read(arbiter, second, "computer set a timer for five minutes", 100.45, "set_timer")
        verdicts = {name: arbiter.verdict(f"s/{name}/1", 100.45, ONLINE[:2])[0] for name in (first, second)}
        assert verdicts["kitchen"].run and not verdicts["living-room"].run
        assert verdicts["living-room"].winner == "kitchen"
        assert set(verdicts["living-room"].heard_by) == {"kitchen", "living-room"}


def test_noise_counts_more_than_level() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", NOISY), candidate("living-room", QUIETER))
    for name in ("kitchen", "living-room"):
        read(arbiter, name, "computer what time is it", 100.4, "what_time_is_it")
    assert arbiter.verdict("s/living-room/1", 100.4, ONLINE[:2])[0].run
    assert not arbiter.verdict("s/kitchen/1", 100.4, ONLINE[:2])[0].run


def test_a_wait_for_a_better_one_is_bounded_by_max_wait() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", CLEAN), candidate("living-room", QUIETER))
    read(arbiter, "living-room", "computer what time is it", 100.3, "what_time_is_it")
    assert arbiter.verdict("s/living-room/1", 101.29, ONLINE[:2])[0] is None
    verdict = arbiter.verdict("s/living-room/1", 101.3, ONLINE[:2])[0]
    assert verdict.run  # the kitchen's reading never came in time: the phrase still runs once
    read(arbiter, "kitchen", "computer what time is it", 101.9, "what_time_is_it")
    late = arbiter.verdict("s/kitchen/1", 101.9, ONLINE[:2])[0]
    assert not late.run and late.winner == "living-room"


def test_clients_online_that_sent_nothing_yet_get_the_window_from_the_request() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", at=100.0))
    read(arbiter, "kitchen", "computer what time is it", 100.05, "what_time_is_it")
    assert arbiter.verdict("s/kitchen/1", 100.1, ONLINE[:2]) == (None, pytest.approx(100.15))
    assert arbiter.verdict("s/kitchen/1", 100.15, ONLINE[:2])[0].run


def test_an_addressed_phrase_runs_on_the_addressed_client_whoever_heard_it_best() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("living-room", CLEAN), candidate("kitchen", NOISY))
    text = "computer kitchen what time is it"
    read(arbiter, "living-room", text, 100.3, "what_time_is_it", ["kitchen"])
    assert arbiter.verdict("s/living-room/1", 100.3, ONLINE[:2]) == (None, pytest.approx(101.3))  # max_wait
    read(arbiter, "kitchen", text, 100.6, "what_time_is_it", ["kitchen"])
    assert arbiter.verdict("s/kitchen/1", 100.6, ONLINE[:2])[0].run
    standing = arbiter.verdict("s/living-room/1", 100.6, ONLINE[:2])[0]
    assert not standing.run and standing.winner == "kitchen"


def test_an_addressed_client_that_did_not_hear_it_gets_it_from_the_best_that_did() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("living-room", CLEAN), candidate("hall", QUIETER))
    for name in ("living-room", "hall"):
        read(arbiter, name, "computer kitchen what time is it", 100.3, "what_time_is_it", ["kitchen"])
    assert arbiter.verdict("s/hall/1", 100.3, ONLINE)[0] is None  # the kitchen is online: it may have heard
    verdict = arbiter.verdict("s/hall/1", 101.3, ONLINE)[0]
    assert not verdict.run and verdict.winner == "living-room"  # which relays it to the kitchen
    offline = Arbiter(0.15, 1.0)  # the kitchen is not online: nothing to wait for
    heard(offline, candidate("living-room", CLEAN))
    read(offline, "living-room", "computer kitchen what time is it", 100.3, "what_time_is_it", ["kitchen"])
    assert offline.verdict("s/living-room/1", 100.3, ["living-room"])[0].run


def test_two_people_two_commands_at_once_both_run() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", CLEAN), candidate("living-room", CLEAN))
    read(arbiter, "kitchen", "computer set a timer for five minutes", 100.3, "set_timer")
    read(arbiter, "living-room", "computer what day is it", 100.3, "what_day_is_it")
    assert arbiter.verdict("s/kitchen/1", 100.3, ONLINE[:2])[0].run
    assert arbiter.verdict("s/living-room/1", 100.3, ONLINE[:2])[0].run


def test_a_client_that_heard_part_of_it_never_runs_another_command_from_it() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", CLEAN), candidate("living-room", QUIETER))
    read(arbiter, "living-room", "computer what time is it", 100.3, "what_time_is_it")  # "day" was lost
    read(arbiter, "kitchen", "computer what day is it", 100.35, "what_day_is_it")
    assert arbiter.verdict("s/kitchen/1", 100.35, ONLINE[:2])[0].run
    assert not arbiter.verdict("s/living-room/1", 100.35, ONLINE[:2])[0].run


def test_speech_apart_in_time_is_not_the_same_speech() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", at=100.0), candidate("living-room", at=110.0))
    read(arbiter, "kitchen", "computer what time is it", 100.3, "what_time_is_it")
    read(arbiter, "living-room", "computer what time is it", 110.3, "what_time_is_it")
    assert arbiter.verdict("s/kitchen/1", 100.3, ONLINE[:2])[0].run
    assert arbiter.verdict("s/living-room/1", 110.3, ONLINE[:2])[0].run


def test_a_group_decided_on_another_server_is_decided_here() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", CLEAN, key="a/kitchen/1"), candidate("living-room", QUIETER, key="b/living-room/1"))
    arbiter.decided(Decision("a/kitchen/1", "kitchen", ("a/kitchen/1", "b/living-room/1"), ("kitchen", "living-room"), "heard best"))
    read(arbiter, "living-room", "computer what time is it", 100.3, "what_time_is_it", key="b/living-room/1")
    verdict = arbiter.verdict("b/living-room/1", 100.3, ONLINE[:2])[0]
    assert not verdict.run and verdict.winner == "kitchen"


def test_agreement_of_readings() -> None:
    def reading(text: str, command: str = None) -> Candidate:
        each = candidate("x")
        each.words, each.command = words_of(text, "computer"), command
        return each

    assert agree(reading("computer set a timer for five", "set_timer"), reading("set a time", "set_timer"))
    assert agree(reading("computer set a timer for five minutes"), reading("timer for five"))
    assert not agree(reading("computer set a timer for five minutes"), reading("computer what time is it"))
    assert not agree(reading("computer"), reading("computer"))  # the keyword alone says nothing


def test_a_reading_too_short_to_tell_counts_as_being_read_and_a_later_one_replaces_it() -> None:
    arbiter = Arbiter(0.15, 1.0)
    heard(arbiter, candidate("kitchen", CLEAN), candidate("living-room", QUIETER))
    read(arbiter, "kitchen", "computer", 100.2)  # a check at the first short pause
    read(arbiter, "living-room", "computer what time is it", 100.3, "what_time_is_it")
    assert arbiter.verdict("s/living-room/1", 100.3, ONLINE[:2]) == (None, pytest.approx(101.3))
    read(arbiter, "kitchen", "computer what time is it", 100.5, "what_time_is_it")
    assert arbiter.verdict("s/kitchen/1", 100.5, ONLINE[:2])[0].run
    assert not arbiter.verdict("s/living-room/1", 100.5, ONLINE[:2])[0].run


def _tone(amplitude: float, noise: float, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    quiet = [int(rng.gauss(0, noise)) for _ in range(8000)]
    loud = [int(amplitude * math.sin(i / 5.0) + rng.gauss(0, noise)) for i in range(24000)]
    return array.array("h", [max(-32768, min(32767, x)) for x in quiet + loud + quiet]).tobytes()


def test_loudness_measures_level_and_snr() -> None:
    loud, quiet, noisy = measure(_tone(8000, 30)), measure(_tone(4000, 15)), measure(_tone(8000, 2000))
    assert loud.level - quiet.level == pytest.approx(6.0, abs=0.5)
    assert loud.snr > noisy.snr + 20
    assert measure(b"") == Loudness(-90.0, 0.0)


def test_wire_fields_are_optional_and_round_trip() -> None:
    sent = AudioInput(b"\1\0" * 100, id=3, loudness=Loudness(-21.5, 33.0))
    assert parse_client_message(sent.to_json()).loudness == Loudness(-21.5, 33.0)
    assert parse_client_message(AudioInput(b"\1\0" * 100).to_json()).loudness is None  # the seed's message
    assert parse_client_message('{"type": "audio_input", "data": "AQA=", "level": "x", "snr": 3}').loudness is None
    assert parse_client_message(Hello("computer", (), "kitchen", arbitration=True).to_json()).arbitration
    assert not parse_client_message('{"type": "hello", "commands": []}').arbitration
    down = Transcript("computer what time is it", 3, answered_by="kitchen", heard_by=("kitchen", "hall"))
    assert parse_server_message(down.to_json()) == down
    assert "answered_by" not in Transcript("hi").to_dict()


class _Client:
    """The server's connection object stands for a client (only its identity matters here)."""


def _transcript(text: str, request: int, command: str) -> Transcript:
    return Transcript(text, request, reading=Reading(command, {}, -0.5, True, "guided"))


async def _served(answers: Answers, client: _Client, audio: AudioInput, reply: Transcript, delay: float) -> Transcript:
    key = answers.heard(client, audio)

    async def decoded() -> Transcript:
        await asyncio.sleep(delay)
        return reply

    return await answers.settle(client, key, decoded())


def test_the_edge_stands_a_client_down_and_the_winner_waits_at_most_the_window() -> None:
    async def main() -> None:
        answers = Answers(ArbitrationSettings(), "s")
        kitchen, living = _Client(), _Client()
        answers.hello(kitchen, Hello("computer", (), "kitchen", area="kitchen", arbitration=True))
        answers.hello(living, Hello("computer", (), "living-room", arbitration=True))
        loud, quiet = _tone(8000, 30), _tone(4000, 15)
        text = "computer what time is it"
        started = asyncio.get_running_loop().time()
        replies = await asyncio.gather(
            _served(answers, living, AudioInput(quiet, id=1), _transcript(text, 1, "what_time_is_it"), 0.05),
            _served(answers, kitchen, AudioInput(loud, id=1), _transcript(text, 1, "what_time_is_it"), 0.1),
        )
        took = asyncio.get_running_loop().time() - started
        assert replies[1].answered_by is None  # the kitchen heard it louder: it answers
        assert replies[0].answered_by == "kitchen" and set(replies[0].heard_by) == {"kitchen", "living-room"}
        assert took < 0.1 + 0.15 + 0.05

    asyncio.run(asyncio.wait_for(main(), 10))


def test_the_edge_leaves_clients_that_do_not_arbitrate_alone() -> None:
    async def main() -> None:
        answers = Answers(ArbitrationSettings(), "s")
        old, new = _Client(), _Client()
        answers.hello(old, Hello("computer", (), "old"))  # a client that predates arbitration
        answers.hello(new, Hello("computer", (), "new", arbitration=True))
        text = "computer what time is it"
        replies = await asyncio.gather(
            _served(answers, old, AudioInput(_tone(8000, 30), id=1), _transcript(text, 1, "what_time_is_it"), 0.0),
            _served(answers, new, AudioInput(_tone(4000, 30), id=1), _transcript(text, 1, "what_time_is_it"), 0.0),
        )
        assert [reply.answered_by for reply in replies] == [None, None]

    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_client_sends_the_loudness_it_measured_with_a_whole_phrase() -> None:
    from test_client import FakeServer, Replies, Running, eventually, make_link

    from va.client.listener import Phrase

    async def scenario() -> None:
        replies = Replies()
        pcm = _tone(8000, 30)
        async with FakeServer() as server, Running(make_link([server.url], replies)) as link:
            link.submit(Phrase(pcm, 0.0))
            await eventually(lambda: len(server.audio) == 1)
        sent = server.audio[0]
        assert (sent["level"], sent["snr"]) == (measure(pcm).level, measure(pcm).snr)
        assert sent["level"] > -20 and sent["snr"] > 40

    asyncio.run(asyncio.wait_for(scenario(), 30))
