"""commands.isolation: process: each call in a forked child, so a crash or a hang fails the call
alone (the end-to-end test with a real client is test_faults_client.test_12)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from va.commands.registry import Command as RegistryCommand
from va.commands.runner import CommandRunner

WAIT = 60  # a bound on waiting for a Future, never a timing assertion
_STATE = {"calls": 0}


def Command(name, function):  # noqa: N802 - a real registry Command around a plain function
    return RegistryCommand(name, name.replace("_", " "), (), "test_isolation", function)


def _run(function, timeout=30, **args):
    runner = CommandRunner(timeout=timeout, workers=2, isolation="process")
    try:
        return runner.submit(Command(function.__name__, function), args).result(WAIT)
    finally:
        runner.shutdown(wait=False)


def add(first, second):
    return first + second


def exits():
    os._exit(7)


def dies_by_a_signal():  # as a crash in a C extension would (SIGKILL: no faulthandler dump here)
    os.kill(os.getpid(), signal.SIGKILL)


def raises(reason):
    raise KeyError(reason)


def hangs(pid_file):
    Path(pid_file).write_text(str(os.getpid()))
    threading.Event().wait(300)


def returns_a_lock():
    return threading.Lock()  # cannot be pickled


def counts():
    _STATE["calls"] += 1
    return _STATE["calls"]


def test_a_value_comes_back():
    assert _run(add, first=3, second=4).value == 7


def test_os_exit_fails_the_call_only():
    outcome = _run(exits)
    assert not outcome.ok and "exited with code 7" in outcome.error


def test_a_crash_fails_the_call_only():
    outcome = _run(dies_by_a_signal)
    assert not outcome.ok and "killed by SIGKILL" in outcome.error


def test_an_exception_keeps_its_type_and_message():
    outcome = _run(raises, reason="no such room")
    assert outcome.error == "KeyError: 'no such room'"


def test_a_hung_call_is_reported_at_the_timeout_and_its_process_killed(caplog, tmp_path):
    outcome = _run(hangs, timeout=0.5, pid_file=str(tmp_path / "pid"))
    assert not outcome.ok and "timed out" in outcome.error
    assert "its process is killed" in caplog.text
    pid = int((tmp_path / "pid").read_text())
    deadline = time.monotonic() + 10  # killed half a second after the timeout is reported; a bound, not a timing
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(pid), psutil.Process(pid).status()  # killed and reaped, not left running


def test_a_value_that_cannot_be_pickled_comes_back_as_its_repr():
    outcome = _run(returns_a_lock)
    assert outcome.ok and "lock" in outcome.value


def test_a_call_cannot_change_the_clients_memory():
    assert [_run(counts).value for _ in range(2)] == [1, 1]
    assert _STATE["calls"] == 0


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_both_modes_give_the_same_answer(isolation):
    runner = CommandRunner(timeout=30, isolation=isolation)
    try:
        assert runner.submit(Command("add", add), {"first": 1, "second": 2}).result(WAIT).value == 3
    finally:
        runner.shutdown(wait=False)
