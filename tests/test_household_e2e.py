"""One household, one answer, with real processes: three `va client --input` processes (kitchen,
study, office) play their own WAVs in real time from the same instant (VA_INPUT_AT), each hearing
the same recorded phrase at its own level, delay and noise (bench/household.py renders them), on
one `va server`, and on two behind HAProxy with mosquitto as their broker. One command runs, on
the right client; two phrases said at once in two rooms both run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.household import Hearing, Speech, Trial, play, read_clip
from procs import FIXTURES, stop_all

pytestmark = pytest.mark.slow

CLIENTS = ("kitchen", "study", "office")


@pytest.fixture(autouse=True)
def _no_process_left_behind():
    yield
    stop_all()


def _clip(name: str) -> np.ndarray:
    return read_clip(FIXTURES / name)


def one_phrase() -> Trial:
    """Heard best in the kitchen; the study 6 dB quieter and 120 ms later; the office 10 dB quieter,
    250 ms later, with a fan at 15 dB SNR."""
    hearings = (Hearing("kitchen"), Hearing("study", -6, 0.12), Hearing("office", -10, 0.25, 15))
    return Trial("one", (Speech("computer set a timer for twenty five minutes", "set_timer", hearings, None,
                                _clip("timer-joe.wav")),))


def addressed() -> Trial:
    """ "Computer, kitchen, turn on the radio", said in the study: the kitchen hears it worst."""
    hearings = (Hearing("study"), Hearing("office", -4, 0.1), Hearing("kitchen", -8, 0.25))
    return Trial("addressed", (Speech("computer kitchen turn on the radio", "turn_on", hearings, "kitchen",
                                      _clip("remote-radio-on-joe.wav")),))


def two_rooms() -> Trial:
    return Trial("two-rooms", (Speech("computer what time is it", "what_time_is_it", (Hearing("kitchen"),), None,
                                      _clip("time-joe.wav")),
                               Speech("computer set a timer for twenty five minutes", "set_timer",
                                      (Hearing("study", 0, 0.05),), None, _clip("timer-joe.wav"))))


def _check(score) -> None:
    assert (score.doubles, score.misses, score.wrong_room, score.wrong_command) == (0, 0, 0, 0), score.notes
    assert score.best_heard == score.one, score.notes  # the kitchen, which heard it best, answered


def test_one_server_three_clients_one_answer(tmp_path: Path) -> None:
    _check(play(tmp_path, [one_phrase(), addressed(), two_rooms()], CLIENTS, start_in=10.0))


@pytest.mark.skipif(not (shutil.which("haproxy") and shutil.which("mosquitto")), reason="needs haproxy and mosquitto")
def test_two_servers_behind_haproxy_with_the_broker_one_answer(tmp_path: Path) -> None:
    """The kitchen through HAProxy, the study on one server and the office on the other: the
    three span both servers wherever HAProxy puts the kitchen."""
    _check(play(tmp_path, [one_phrase(), addressed()], CLIENTS, servers=2, start_in=10.0, pinned={"study": 0, "office": 1}))
