"""The origin's side of commands across clients: what the other clients can run, and the
requests this client sends them.

The server pushes its directory (va.protocol.relay.Directory) on every join, leave and reload;
`RemoteRequests.targets(registry)` turns it into the `Target`s that va.language.targeting
matches words against. `request(reading, done)` sends a ``run`` with a fresh id and a
time-to-live (``remote.ttl``); ``done(result)`` gets exactly one `RunResult`: the target's
answer, or "offline" when the target or the server was away for the whole time-to-live. After a
reconnect to the server, requests still within their time-to-live are sent again under the same
id (the target runs an id once); older ones are answered "offline" and never sent again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from va.client.remote_target import RemoteRunner
from va.language.grammar_registry import args_to_wire, grammar_of
from va.language.parameters import format_call
from va.language.targeting import Target, commands_from_grammar, interpret_addressed
from va.protocol import Error, Hello, Ready
from va.protocol.relay import Directory, DirectoryQuery, Peer, Run, RunResult

_LOGGER = logging.getLogger(__name__)


def client_name(settings: Any) -> str:
    """``client.name``, else the host name."""
    return settings.client.name or socket.gethostname()


@dataclass
class _Waiting:
    run: Run
    done: Callable[[RunResult], None]
    deadline: float


class RemoteRequests:
    """See the module's docstring. Everything runs on the event loop."""

    def __init__(self, settings: Any, send: Callable[[Any], Awaitable[bool]], connected: Callable[[], bool]) -> None:
        self._send = send
        self._connected = connected
        self._waiting: Dict[str, _Waiting] = {}
        self._tasks: set = set()
        self.peers: Sequence[Peer] = ()
        self._others: List[Target] = []
        self.configure(settings)

    def configure(self, settings: Any) -> None:
        self.name, self.area = client_name(settings), settings.client.area
        self._ttl, self._token = settings.remote.ttl, settings.token

    @property
    def pending(self) -> int:
        return len(self._waiting)

    def targets(self, registry: Any) -> List[Target]:
        """This client (with `registry`) and the others the directory lists."""
        return [Target(self.name, self.area, registry, own=True), *self._others]

    def on_directory(self, directory: Directory) -> None:
        self.peers = tuple(peer for peer in directory.clients if peer.name != self.name)
        self._others = [
            Target(peer.name, peer.area, commands_from_grammar(peer.grammar, peer.commands), online=peer.online)
            for peer in self.peers
        ]
        _LOGGER.info("Directory: %s", ", ".join(f"{p.name}{'' if p.online else ' (offline)'}" for p in self.peers) or "no other clients")

    def request(self, reading: Any, done: Callable[[RunResult], None]) -> None:
        """Ask ``reading.target`` to run ``reading.command`` (a va.language.matching.Interpretation)."""
        run = Run(uuid.uuid4().hex, reading.command.name, args_to_wire(reading.command.parameters, reading.args), reading.target, ttl=self._ttl, token=self._token)
        self._waiting[run.id] = _Waiting(run, done, time.monotonic() + self._ttl)
        asyncio.get_running_loop().call_later(self._ttl, self._check, run.id)
        self._spawn(self._send(run))

    def on_result(self, result: RunResult) -> None:
        waiting = self._waiting.pop(result.id, None)
        if waiting is None:
            _LOGGER.debug("A result for %s, which is answered already", result.id)
            return
        waiting.done(result)

    def on_connected(self) -> None:
        """After each (re)connect: send again what waits, within its time-to-live."""
        now = time.monotonic()
        for waiting in list(self._waiting.values()):
            left = waiting.deadline - now
            if left > 0:
                self._spawn(self._send(dataclasses.replace(waiting.run, ttl=round(left, 3))))
            else:
                self._give_up(waiting.run.id, "the server was unreachable")

    def _check(self, request_id: str) -> None:
        """At the end of a request's time-to-live: the server answers it unless we lost the server."""
        if request_id in self._waiting and not self._connected():
            self._give_up(request_id, "the server is unreachable")

    def _give_up(self, request_id: str, why: str) -> None:
        waiting = self._waiting.pop(request_id)
        waiting.done(RunResult(request_id, "offline", error=f"{waiting.run.target} did not answer: {why}", target=waiting.run.target))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class Remote:
    """The assistant's one handle on commands across clients: the events from the server, the
    requests it sends (`RemoteRequests`) and the ones it runs (va.client.remote_target)."""

    def __init__(self, settings: Any, runner: Any, link: Callable[[], Any], dry_run: bool = False) -> None:
        self._link = link
        self.requests = RemoteRequests(settings, self._send, lambda: link() is not None and link().connected.is_set())
        self.runner = RemoteRunner(settings, client_name(settings), runner, self._send)
        self._dry_run = dry_run
        self.configure(settings)

    def configure(self, settings: Any) -> None:
        self.requests.configure(settings)
        self.runner.configure(settings, client_name(settings), self._dry_run)

    def hello(self, settings: Any, registry: Any) -> Hello:
        vocabulary = tuple(registry.vocabulary())
        return Hello(settings.keyword, vocabulary, client_name(settings), grammar_of(registry), settings.client.area,
                     relay=True, threshold=settings.commands.threshold)

    def interpret(self, text: str, registry: Any, settings: Any) -> Any:
        """va.language.matching.interpret, aware of the other clients (va.language.targeting)."""
        targets = self.requests.targets(registry)
        return interpret_addressed(text, registry, targets, settings.keyword, settings.commands.threshold)

    def on_event(self, event: Any, registry: Any) -> None:
        if isinstance(event, Ready):
            self.requests.on_connected()
        elif isinstance(event, Directory):
            self.requests.on_directory(event)
        elif isinstance(event, Run):
            self.runner.on_run(event, registry, asyncio.get_running_loop())
        elif isinstance(event, RunResult):
            self.requests.on_result(event)
        elif isinstance(event, Error):  # the server could not take a request (an older server, a limit)
            self.requests.on_result(RunResult(str(event.id), "error", error=f"the server refused it: {event.message}"))

    async def _send(self, event: Any) -> bool:
        link = self._link()
        return link is not None and await link.send_event(event)


def answer_record(origin: str, reading: Any, result: RunResult) -> Tuple[str, str, Dict[str, str]]:
    """The origin's record of a request: (VA_DECISION, why, the VA_ORIGIN/VA_TARGET fields)."""
    call = f"{reading.target}: {format_call(reading.command.name, args_to_wire(reading.command.parameters, reading.args))}"
    if result.outcome == "ok":
        decision, why = "ran", f"ran {call}" + (f" -> {result.value!r}" if result.value is not None else "")
    else:
        decision = {"error": "failed", "refused": "refused", "offline": "offline"}[result.outcome]
        why = f"{decision} {call}: {result.error}"
    return decision, why, {"VA_ORIGIN": origin, "VA_TARGET": reading.target}


async def fetch_directory(settings: Any, timeout: float = 3.0) -> Optional[Directory]:
    """The server's directory, asked without joining it (``va commands``, ``va match``); None
    when no server in ``server_url`` answers in time or it predates the directory."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    from va.client.tls import client_ssl_context
    from va.protocol import ProtocolError, parse_server_message

    from va.client.connect import credentials

    for url in settings.server_url:
        try:
            headers = credentials(settings.token, settings.client.key_file)
            context = client_ssl_context(settings) if url.startswith("wss:") else None  # client.tls.ca, as the client
            async with connect(url, additional_headers=headers, ssl=context, open_timeout=timeout, proxy=None) as connection:
                await connection.send(DirectoryQuery().to_json())
                reply = parse_server_message(await asyncio.wait_for(connection.recv(), timeout))
                return reply if isinstance(reply, Directory) else None
        except (OSError, asyncio.TimeoutError, ProtocolError, WebSocketException) as error:
            _LOGGER.debug("No directory from %s: %s", url, error)
    return None


def known_targets(settings: Any, registry: Any) -> List[Target]:
    """This client and the others in the server's directory (just this one when no server answers)."""
    requests = RemoteRequests(settings, _nowhere, lambda: False)
    directory = asyncio.run(fetch_directory(settings))
    if directory is not None:
        requests.on_directory(directory)
    return requests.targets(registry)


def describe_others(settings: Any) -> List[str]:
    """`va commands`: the other clients the server knows, each with its commands."""
    directory = asyncio.run(fetch_directory(settings))
    if directory is None:
        return ["", "other clients: the server did not answer"]
    name = client_name(settings)
    lines = []
    for peer in (peer for peer in directory.clients if peer.name != name):
        where = f", {peer.area}" if peer.area else ""
        lines += ["", f"on {peer.name} ({'online' if peer.online else 'offline'}{where}):"]
        for command in commands_from_grammar(peer.grammar, peer.commands).commands.values():
            parameters = ", ".join(parameter.describe() for parameter in command.parameters)
            lines.append(f"  {command.phrases[0]}  ({parameters})  [{peer.name}: {command.name}]")
    return lines or ["", "other clients: none"]


async def _nowhere(event: Any) -> bool:
    return False
