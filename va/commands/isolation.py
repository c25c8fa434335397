"""`commands.isolation: process`: each command call runs in a forked child process.

What the boundary holds, by isolation mode:

- ``thread`` (the default): a command runs in a thread of the client. An exception or a hang is
  contained (logged; a hung one keeps its thread); ``os._exit()``, a crash in a C extension, or
  a command that exhausts memory takes the whole client down (systemd restarts it).
- ``process``: each call runs in a child forked from the client for that call, so the above is
  contained too: the call fails with how the child ended, and a child still running at
  ``commands.timeout`` is killed. The price: a fork per call (a few ms), and a command cannot
  change the client's memory (module globals set by a call are gone after it); its return value
  comes back pickled (or as its repr when it cannot be pickled).
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from typing import Any, Callable

_KILL_GRACE = 0.5  # after the timeout: the runner reports the timeout first, then the child dies


class CommandCrashed(Exception):
    """The command's process ended without an answer (os._exit, a signal, a C extension crash)."""


def call_in_child(function: Callable[..., Any], args: dict, timeout: float) -> Any:
    """``function(**args)`` in a forked child; its value, its exception, or CommandCrashed."""
    context = multiprocessing.get_context("fork")  # the child has the loaded command modules
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(function, args, writer), daemon=True)
    child.start()
    writer.close()
    try:
        if not reader.poll(timeout + _KILL_GRACE):
            raise CommandCrashed(f"killed: still running after {timeout:g} s")
        try:
            answer = reader.recv()
        except (EOFError, OSError):  # it died before answering
            child.join(5)
            raise CommandCrashed(_how_it_ended(child.exitcode)) from None
    finally:
        reader.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    kind, payload, where = answer
    if kind == "ok":
        return payload
    if isinstance(payload, BaseException):
        if hasattr(payload, "add_note"):
            payload.add_note(f"in the command's process:\n{where}")
        raise payload
    raise RuntimeError(payload)


def _child(function: Callable[..., Any], args: dict, writer: Any) -> None:
    try:
        answer: tuple = ("ok", function(**args), None)
    except BaseException as error:  # noqa: BLE001 - all of it goes back to the parent
        answer = ("error", error, traceback.format_exc())
    try:
        writer.send(answer)
    except Exception:  # noqa: BLE001 - a value or an exception that cannot be pickled
        kind, payload, where = answer
        text = repr(payload) if kind == "ok" else f"{type(payload).__name__}: {payload}"
        writer.send((kind, text, where))
    writer.close()


def _how_it_ended(code: Any) -> str:
    if code is None:
        return "its process ended without an answer"
    if code < 0:
        try:
            return f"its process was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"its process was killed by signal {-code}"
    return f"its process exited with code {code} before answering (os._exit, or a crash)"
