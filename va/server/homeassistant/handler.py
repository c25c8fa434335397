"""Home Assistant's text as a va command: the Wyoming `handle` program.

Home Assistant's Wyoming conversation agent sends the text of what was said as a `transcript`
event and reads `handled` (its text is spoken) or `not-handled` (its text is spoken as an error).
`CommandHandler.handle(text)` matches the text, without a keyword, against:

- the commands of the client `server.wyoming.commands_client` names (its grammar, from the
  server's directory), run there through the relay (va.server.household.relay) like any other
  client's request, from the origin `server.wyoming.origin`: that client's `remote.allow`, its
  token, its command timeout, its once-per-id memory all apply;
- with `server.wyoming.server_commands`, the server's own command modules (its `commands:`
  section), run on the server by the same target-side code (va.client.remote_target), under the
  server's `remote.allow`;
- any client the words name ("kitchen, turn on the radio"), as a spoken command would.

The answer is the command's return value when it is text, "Done." when it returned nothing, or
not-handled with why (not understood, offline, refused, failed). Matching is pure (`read`); the
relay and the runner are the edges.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence

from va.client.remote_target import RemoteRunner
from va.language.grammar_registry import args_to_wire
from va.language.matching import Interpretation, after_keyword, resolve
from va.language.targeting import Target, address, commands_from_grammar
from va.language.words import Token, tokenize
from va.protocol.relay import Peer, Run, RunResult
from va.server.homeassistant.limits import shown

_LOGGER = logging.getLogger(__name__)

MAX_TEXT = 1000
"""Most characters of Home Assistant's text that are matched (a sentence, not a document)."""
SERVER = ""
"""The target of a reading that runs on the server itself."""


@dataclass(frozen=True)
class Answer:
    """What Home Assistant is told: handled (with the reply to speak) or not."""

    handled: bool
    text: str
    command: Optional[str] = None
    """The command that ran (or was asked for), for the log."""


def read(text: str, places: Sequence[Target], others: Sequence[Target], keyword: str, threshold: float) -> Interpretation:
    """The command `text` asks for: among `places` (the configured ones, in order), or among the
    clients the words name; `target` is the client's name, SERVER for the server's own."""
    said = tokenize(text[:MAX_TEXT])
    words: Sequence[Token] = after_keyword(said, keyword) or said  # "computer, ..." said to Home Assistant too
    if not words:
        return Interpretation(False, reason="no words")
    named = address(words, [*places, *others])
    candidates, rest = named if named is not None and len(named[1]) else (list(places), words)
    readings = [replace(resolve(rest, place.commands, threshold), target=SERVER if place.own else place.name)
                for place in candidates]
    runnable = [reading for reading in readings if reading.ok]
    if runnable:
        return max(runnable, key=lambda reading: reading.score)  # the first of equals: config order
    return readings[0] if readings else Interpretation(True, reason="no commands are set up for Home Assistant")


@dataclass(eq=False)
class _Origin:
    """Home Assistant as the relay sees it: a member that asks and is answered (the hub calls send)."""

    handler: "CommandHandler"

    def __str__(self) -> str:
        return self.handler.origin

    async def send(self, event: Any, seq: Optional[int] = None) -> None:
        if isinstance(event, RunResult):
            self.handler.answered(event)
        elif isinstance(event, Run):  # somebody asked Home Assistant to run something: it runs nothing of va's
            await self.handler.hub.on_event(self, RunResult(event.id, "refused", error="Home Assistant runs no va commands"))


class CommandHandler:
    """See the module's docstring. `settings` is the whole Settings (replaced on reload: configure)."""

    def __init__(self, settings: Any, hub: Any) -> None:
        self.hub = hub
        self.settings = settings
        self.origin = settings.server.wyoming.origin
        self._member = _Origin(self)
        self._waiting: Dict[str, asyncio.Future] = {}
        self._registry: Any = None
        self._runner: Any = None
        self._local: Optional[RemoteRunner] = None

    @property
    def enabled(self) -> bool:
        wyoming = self.settings.server.wyoming
        return wyoming.commands_client is not None or wyoming.server_commands

    async def start(self) -> None:
        """Load the server's own commands (when asked for) and join the directory as the origin."""
        if not self.enabled:
            return
        if self.settings.server.wyoming.server_commands:
            from va.commands.registry import load_registry
            from va.commands.runner import CommandRunner

            commands = self.settings.commands
            self._registry = await asyncio.to_thread(load_registry, commands)
            self._runner = CommandRunner(timeout=commands.timeout, workers=2, isolation=commands.isolation)
            self._local = RemoteRunner(self.settings, "the server", self._runner, self._from_server)
        await self.hub.joined(self._member, Peer(self.origin))
        wyoming = self.settings.server.wyoming
        _LOGGER.info("Home Assistant's text runs the commands of %s, as %s",
                     " and ".join(filter(None, ["this server" if wyoming.server_commands else "",
                                                wyoming.commands_client or ""])), self.origin)

    async def stop(self) -> None:
        if not self.enabled:
            return
        await self.hub.left(self._member)
        for future in self._waiting.values():
            future.cancel()
        if self._runner is not None:
            await asyncio.to_thread(self._runner.shutdown, False)

    def configure(self, settings: Any) -> None:
        """A reload: new tokens, rules and timeouts; the commands and names need a restart."""
        self.settings = dataclasses.replace(settings, server=dataclasses.replace(
            settings.server, wyoming=self.settings.server.wyoming))
        if self._local is not None:
            self._local.configure(self.settings, "the server")

    # -- one request ------------------------------------------------------------------------

    async def handle(self, text: str) -> Answer:
        reading = read(text, self._places(), self._others(), self.settings.keyword, self.settings.commands.threshold)
        command = reading.command
        if command is None:
            _LOGGER.info("Home Assistant asked '%s': not handled (%s)", shown(text), shown(reading.reason))
            client = self.settings.server.wyoming.commands_client
            if client and self._peer(client) is None:
                return Answer(False, f"{client} is not connected.")
            return Answer(False, "va has no command for that.")
        run = Run(uuid.uuid4().hex, command.name, args_to_wire(command.parameters, reading.args),
                  token=self.settings.token)
        result = await self._run(run, reading.target or SERVER)
        answer = _answer(result, reading.target or "the server", run.command)
        _LOGGER.info("Home Assistant asked '%s': %s %s%s -> %s", shown(text), run.command, shown(run.args),
                     f" on {reading.target}" if reading.target else "", result.outcome,
                     extra={"VA_ORIGIN": self.origin, "VA_TARGET": reading.target or "server",
                            "VA_COMMAND": run.command, "VA_DECISION": result.outcome})
        return answer

    async def _run(self, run: Run, target: str) -> RunResult:
        future = asyncio.get_running_loop().create_future()
        self._waiting[run.id] = future
        try:
            if target == SERVER:
                assert self._local is not None and self._registry is not None
                self._local.on_run(dataclasses.replace(run, origin=self.origin), self._registry, asyncio.get_running_loop())
            else:
                await self.hub.on_event(self._member, dataclasses.replace(run, target=target, ttl=self.settings.remote.ttl))
            return await asyncio.wait_for(future, self._patience())
        except asyncio.TimeoutError:
            return RunResult(run.id, "offline", error=f"{target or 'the server'} did not answer in time")
        finally:
            self._waiting.pop(run.id, None)

    def _patience(self) -> float:
        """How long an answer may take: the time-to-live, then a command's run (a target's own
        timeout is not known here: twice this server's)."""
        return self.settings.remote.ttl + 2 * self.settings.commands.timeout + 1.0

    def answered(self, result: RunResult) -> None:
        future = self._waiting.get(result.id)
        if future is not None and not future.done():
            future.set_result(result)

    async def _from_server(self, result: RunResult) -> bool:
        self.answered(result)
        return True

    # -- where commands are -----------------------------------------------------------------

    def _places(self) -> List[Target]:
        places = []
        if self._registry is not None:
            places.append(Target("", None, self._registry, own=True))
        name = self.settings.server.wyoming.commands_client
        peer = self._peer(name) if name else None
        if peer is not None:
            places.append(_target(peer))
        return places

    def _others(self) -> List[Target]:
        place = self.settings.server.wyoming.commands_client
        return [_target(peer) for peer in self.hub.directory.snapshot().clients if peer.name not in (place, self.origin)]

    def _peer(self, name: str) -> Optional[Peer]:
        return next((peer for peer in self.hub.directory.snapshot().clients if peer.name == name), None)


def _target(peer: Peer) -> Target:
    return Target(peer.name, peer.area, commands_from_grammar(peer.grammar, peer.commands), online=peer.online)


def _answer(result: RunResult, target: str, command: str) -> Answer:
    if result.outcome == "ok":
        value = result.value
        text = "Done." if value is None or value == "" else str(value)
        return Answer(True, text, command)
    if result.outcome == "offline":
        return Answer(False, f"{target} is offline.", command)
    if result.outcome == "refused":
        return Answer(False, f"{target} does not let Home Assistant run {command}.", command)
    return Answer(False, f"{command} failed: {result.error}", command)
