"""The target's side of commands across clients: another client's request, run here under this
client's own rules, and answered.

- **Permission, closed by default.** ``remote.allow`` maps an origin's name (or "*", anyone) to
  the names of the commands it may run here ("*": all of them). Nothing else runs.
- **Token.** With ``token`` set, a request must carry the same token.
- **Verified origins.** A client with a key of its own (``client.key_file``) runs a request only
  when the server verified its origin by the origin's key (``verified``): with keys, a holder of
  the shared token cannot speak for a name in ``remote.allow``.
- **Exactly once.** A request id (per origin) runs once: a request sent again after a reconnect
  gets the answer of the first (or, while it still runs, the answer when it is done). The newest
  REMEMBERED ids are kept, far more than can arrive within a time-to-live.
- The command runs on the client's CommandRunner (its timeout, its threads), with the arguments
  checked against its own parameters. Each request leaves one record, with the journald fields
  VA_ORIGIN, VA_TARGET, VA_COMMAND, VA_ARGS and VA_DECISION (ran, failed, refused).
"""

from __future__ import annotations

import asyncio
import collections
import difflib
import hmac
import json
import logging
from concurrent.futures import Future
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple

from va.language.grammar_registry import args_from_wire
from va.protocol.relay import Run, RunResult

_LOGGER = logging.getLogger(__name__)

REMEMBERED = 1024
_RUNNING = None


def permitted(allow: Mapping[str, Tuple[str, ...]], origin: str, command: str) -> bool:
    """Whether ``remote.allow`` lets ``origin`` run ``command`` here."""
    names = (*allow.get(origin, ()), *allow.get("*", ()))
    return command in names or "*" in names


def allow_warnings(allow: Mapping[str, Tuple[str, ...]], registry: Any, name: str) -> list:
    """`va check`: names in ``remote.allow`` that look wrong. Warnings, not errors: a command may
    come with a module loaded later, and another client's name is not known here."""
    commands = {command.name for command in registry.commands.values()}
    warnings = []
    for origin, names in allow.items():
        if origin == name:
            warnings.append(f"remote.allow.{origin}: that is this client's own name")
        for command in (command for command in names if command != "*" and command not in commands):
            close = difflib.get_close_matches(command, sorted(commands), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            warnings.append(f"remote.allow.{origin}: no command {command!r} is loaded here{hint}")
    return warnings


def coerce_args(parameters: Any, args: Mapping[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    """The request's arguments as this command's own parameters take them (defaults for what
    was not said), or why they do not fit."""
    unknown = sorted(set(args) - {parameter.name for parameter in parameters})
    if unknown:
        return {}, f"it has no parameter {unknown[0]!r}"
    converted = args_from_wire(parameters, args)
    if converted is None:
        return {}, "the arguments do not fit its parameters: " + ", ".join(p.describe() for p in parameters)
    return converted, None


class RemoteRunner:
    """Runs other clients' requests. ``send(event)`` writes to the server (False: not connected;
    the server then sends the request again after the reconnect, and the answer is remembered)."""

    def __init__(self, settings: Any, name: str, runner: Any, send: Callable[[Any], Awaitable[bool]]) -> None:
        self.configure(settings, name)
        self._runner = runner
        self._send = send
        self._tasks: set = set()
        self._memory: "collections.OrderedDict[tuple, Optional[RunResult]]" = collections.OrderedDict()

    def configure(self, settings: Any, name: str, dry_run: bool = False) -> None:
        self._allow, self._token, self.name, self._dry_run = settings.remote.allow, settings.token, name, dry_run
        self._verified_only = settings.client.key_file is not None

    def on_run(self, run: Run, registry: Any, loop: Any) -> None:
        key = (run.origin, run.id)
        if key in self._memory:
            _LOGGER.debug("%s's request %s came again: %s", run.origin, run.id, "running" if self._memory[key] is None else "answered")
            if self._memory[key] is not None:
                self._spawn(self._send(self._memory[key]))
            return
        command = next((c for c in registry.commands.values() if c.name == run.command), None)
        why = self._refusal(run, command)
        if why is not None or command is None:
            self._finish(run, RunResult(run.id, "refused", error=why), "refused")
            return
        args, misfit = coerce_args(command.parameters, run.args)
        if misfit is not None:
            self._finish(run, RunResult(run.id, "error", error=f"{run.command} not run: {misfit}"), "failed")
            return
        self._remember(key, _RUNNING)
        future = self._runner.submit(command, args)
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(self._ran, run, done))

    def _refusal(self, run: Run, command: Any) -> Optional[str]:
        if self._token and not hmac.compare_digest((run.token or "").encode(), self._token.encode()):
            return "missing or wrong token"
        if self._verified_only and run.verified is not True:
            return f"{run.origin} is not verified by a key of its own (this client has one: it takes requests from verified clients only)"
        if not permitted(self._allow, run.origin or "", run.command):
            return f"remote.allow does not let {run.origin} run {run.command} on {self.name}"
        if command is None:
            return f"{self.name} has no command {run.command}"
        if self._dry_run:
            return f"{self.name} is in dry-run mode: nothing runs"
        return None

    def _ran(self, run: Run, future: Future) -> None:
        outcome = future.result()
        if outcome.ok:
            self._finish(run, RunResult(run.id, "ok", outcome.value), "ran")
        else:
            self._finish(run, RunResult(run.id, "error", error=outcome.error), "failed")

    def _finish(self, run: Run, result: RunResult, decision: str) -> None:
        """Remember the answer, log the request's one record, send the answer."""
        self._remember((run.origin, run.id), result)
        call = f"{run.command}({', '.join(f'{name}={value!r}' for name, value in run.args.items())})"
        if decision == "ran":
            why = f"ran {call}" + (f" -> {result.value!r}" if result.value is not None else "")
        else:
            why = f"{decision} {call}: {result.error}"
        fields = {
            "VA_ORIGIN": run.origin or "", "VA_TARGET": self.name, "VA_DECISION": decision,
            "VA_COMMAND": run.command, "VA_ARGS": json.dumps(run.args, sort_keys=True, default=repr),
        }  # fmt: skip
        level = logging.INFO if decision == "ran" else logging.WARNING
        _LOGGER.log(level, "Request from %s: %s", run.origin, why, extra=fields)
        self._spawn(self._send(result))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _remember(self, key: tuple, result: Optional[RunResult]) -> None:
        self._memory[key] = result
        self._memory.move_to_end(key)
        while len(self._memory) > REMEMBERED:
            self._memory.popitem(last=False)
