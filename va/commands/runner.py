"""Run commands off the caller's thread, under a timeout, and never let one hurt the caller.

`CommandRunner.submit(command, args)` returns a Future that always resolves to an `Outcome` (it
never carries an exception): the command's return value, the exception it raised, or a timeout.
Failures are logged with the command and its arguments as the structured fields VA_COMMAND and
VA_ARGS.

Each command runs in its own daemon thread; at most `workers` run at once. A thread cannot be
killed, so a command still running after `timeout` seconds keeps its thread until it returns (or
the process exits), but it gives up its worker slot and its Future resolves as timed out: a hung
command never blocks the ones after it.

With ``isolation="process"`` each call runs in a forked child instead (va.commands.isolation):
a command that ends its process or crashes fails alone, and one still running at the timeout is
killed. See va.commands.isolation for what each mode contains.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import wait as _wait_all
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from va.commands.isolation import call_in_child
from va.service.journal import command_fields

if TYPE_CHECKING:
    from va.commands.registry import Command

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None
    error: str | None = None
    elapsed: float = 0.0


class CommandRunner:
    def __init__(self, timeout: float = 30, workers: int = 4, isolation: str = "thread") -> None:
        self.timeout = timeout
        self.isolation = isolation
        """"thread" or "process" (commands.isolation); read at each call."""
        self._slots = threading.BoundedSemaphore(max(1, workers))
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, command: Command, args: dict | None = None) -> Future[Outcome]:
        """Start `command.function(**args)`; the Future resolves to an Outcome."""
        args = dict(args or {})
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("CommandRunner is shut down")
            self._pending.add(future)
        future.add_done_callback(self._forget)
        thread = threading.Thread(
            target=self._run, args=(command, args, future), name=f"va-command-{command.name}", daemon=True
        )
        thread.start()
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new commands; with wait, return when every submitted one finished or timed out."""
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        if wait and pending:
            _wait_all(pending)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _run(self, command: Command, args: dict, future: Future[Outcome]) -> None:
        self._slots.acquire()
        release = _Once(self._slots.release)
        claim = _Once()  # completion and timeout race; only the first reports and resolves
        started = time.monotonic()
        timer = threading.Timer(self.timeout, self._timed_out, args=(command, args, future, started, claim, release))
        timer.daemon = True
        timer.start()
        try:
            value = self._call(command, args)
        except BaseException as error:  # noqa: BLE001 - a command must never take the caller down
            outcome = Outcome(False, None, f"{type(error).__name__}: {error}", time.monotonic() - started)
            if claim():
                _LOGGER.error(
                    "command %s failed: %s",
                    command.call_text(args),
                    outcome.error,
                    exc_info=(type(error), error, error.__traceback__),
                    extra=command_fields(command.name, args),
                )
                future.set_result(outcome)
        else:
            outcome = Outcome(True, value, None, time.monotonic() - started)
            if claim():
                _LOGGER.debug("command %s returned %r", command.call_text(args), value, extra=command_fields(command.name, args))
                future.set_result(outcome)
            else:
                _LOGGER.warning(
                    "command %s returned after it had timed out", command.call_text(args), extra=command_fields(command.name, args)
                )
        finally:
            timer.cancel()
            release()

    def _call(self, command: Command, args: dict) -> Any:
        if self.isolation == "process":
            return call_in_child(command.function, args, self.timeout)
        return command.function(**args)

    def _timed_out(self, command: Command, args: dict, future: Future[Outcome], started: float, claim: "_Once", release: "_Once") -> None:
        elapsed = time.monotonic() - started
        if claim():
            _LOGGER.error(
                "command %s still running after %g s; %s",
                command.call_text(args),
                self.timeout,
                "its process is killed" if self.isolation == "process" else "it keeps its thread until it returns",
                extra=command_fields(command.name, args),
            )
            future.set_result(Outcome(False, None, f"timed out after {self.timeout:g} s", elapsed))
        release()


class _Once:
    """True (and calls `function`, if any) the first time only: a worker slot is freed by
    completion or by timeout, not both, and only the first of the two reports the outcome."""

    def __init__(self, function: Callable[[], object] | None = None) -> None:
        self._function = function
        self._lock = threading.Lock()
        self._done = False

    def __call__(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
        if self._function is not None:
            self._function()
        return True
