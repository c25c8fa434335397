"""Running commands: results, errors and hangs never reach the caller; the next command still runs."""

import logging
from pathlib import Path

import pytest

from va.config import CommandSettings
from va.commands.registry import load_registry
from va.commands.runner import CommandRunner, Outcome

COMMANDS = Path(__file__).parent / "commands"
WAIT = 60  # generous bound on waiting for a Future; never a timing assertion


@pytest.fixture
def registry():
    loaded = load_registry(CommandSettings(modules=(), paths=(str(COMMANDS / "demo.py"), str(COMMANDS / "faulty.py"))))
    yield loaded
    loaded.commands["hang forever"].function.__globals__["_RELEASE"].set()  # let hung threads end


@pytest.fixture
def runner():
    runner = CommandRunner(timeout=30, workers=2)
    yield runner
    runner.shutdown(wait=False)


def test_result_of_a_command(registry, runner):
    outcome = runner.submit(registry.commands["add numbers"], {"first": 3, "second": 4}).result(WAIT)
    assert outcome.ok and outcome.value == 7 and outcome.error is None
    assert outcome.elapsed >= 0


def test_an_exception_is_reported_with_the_command_and_its_arguments(registry, runner, caplog):
    outcome = runner.submit(registry.commands["fail loudly"], {"reason": "disk on fire"}).result(WAIT)
    assert outcome == Outcome(False, None, "RuntimeError: disk on fire", outcome.elapsed)
    [record] = [r for r in caplog.records if r.name == "va.commands.runner"]
    assert record.levelno == logging.ERROR
    assert "fail_loudly(reason='disk on fire')" in record.getMessage()
    assert record.VA_COMMAND == "fail_loudly"
    assert record.VA_ARGS == '{"reason": "disk on fire"}'
    assert record.exc_info is not None
    assert runner.submit(registry.commands["add numbers"], {"first": 1, "second": 1}).result(WAIT).value == 2


def test_a_hung_command_times_out_and_never_blocks_the_next(registry, caplog):
    runner = CommandRunner(timeout=0.2, workers=1)  # one slot: the hang must give it up
    hung = runner.submit(registry.commands["hang forever"], {})
    after = runner.submit(registry.commands["add numbers"], {"first": 2, "second": 3})
    assert after.result(WAIT) == Outcome(True, 5, None, after.result().elapsed)
    outcome = hung.result(WAIT)
    assert not outcome.ok and outcome.error == "timed out after 0.2 s"
    [record] = [r for r in caplog.records if r.name == "va.commands.runner"]
    assert "hang_forever() still running after 0.2 s" in record.getMessage()
    assert (record.VA_COMMAND, record.VA_ARGS) == ("hang_forever", "{}")
    runner.shutdown(wait=True)


def test_a_module_with_a_syntax_error_is_reported_and_others_still_run(runner):
    registry = load_registry(CommandSettings(modules=(), paths=(str(COMMANDS / "broken"),)))
    assert any("SyntaxError" in failure.error for failure in registry.failures)
    outcome = runner.submit(registry.commands["still works"], {}).result(WAIT)
    assert outcome.ok and outcome.value == "still works"


def test_a_wrong_argument_is_an_outcome_not_an_exception(registry, runner):
    outcome = runner.submit(registry.commands["add numbers"], {"first": 1}).result(WAIT)
    assert not outcome.ok and outcome.error.startswith("TypeError")


def test_shutdown_waits_then_refuses(registry):
    runner = CommandRunner(timeout=30)
    future = runner.submit(registry.commands["add numbers"], {"first": 20, "second": 22})
    runner.shutdown(wait=True)
    assert future.done() and future.result().value == 42
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(registry.commands["add numbers"], {"first": 1, "second": 1})
