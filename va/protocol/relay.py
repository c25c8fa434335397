"""The wire events of commands across clients (issue 13): the directory and the relay.

- ``directory`` (client -> server, no other key): "send me the directory" (``va commands`` and
  ``va match`` ask it without joining). Server -> client: the connected clients and what each can
  run, pushed to every client that said ``"relay": true`` in its hello, whenever it changes.
- ``run`` (origin -> server): ``{"id", "target", "command", "args", "ttl", "token"?}``; the server
  forwards it to the target as ``{"id", "origin", "command", "args", "token"?, "verified"?}``:
  ``verified`` is true when the server (or, across servers, the signed word of the server that
  holds the origin) authenticated the origin by its own key (va.server.household.identities).
  ``origin`` and ``verified`` are the server's: whatever an origin puts there is replaced.
- ``run_result`` (target -> server): ``{"id", "outcome", "value"?, "error"?}``; the server forwards
  it to the origin with ``"target"``. ``outcome`` is one of OUTCOMES.

Parsed once, here, raising ``va.protocol.ProtocolError``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple

from va.protocol.base import MAX_ID_CHARS, Event, ProtocolError, printable

OUTCOMES = ("ok", "error", "refused", "offline")
"""ok: it ran (``value`` is what it returned); error: it ran and failed, or could not be run
(``error`` says why); refused: the target's rules said no (``error`` says which); offline: the
target was not connected, or left before answering, within the request's time-to-live."""
MAX_TTL = 3600.0
MAX_NAME_LENGTH = 64
"""A client's name or area in the directory and in a run (a hello's longer name is not listed)."""
MAX_COMMAND_LENGTH = 128
MAX_ARGS = 32
MAX_TEXT_LENGTH = 1000
"""An argument's or a result's string value (a 3 MB argument must not make a 6 MB log line)."""
MAX_ERROR_LENGTH = 300


@dataclass(frozen=True)
class Peer:
    """One client in the directory."""

    name: str
    area: Optional[str] = None
    online: bool = True
    commands: Tuple[str, ...] = ()
    """Spoken names, as in its hello."""
    grammar: Optional[Dict[str, Any]] = field(default=None, compare=False)
    """Its hello's ``grammar`` (va.language.grammar's wire shape), as it sent it."""

    def to_dict(self) -> Dict[str, Any]:
        entry: Dict[str, Any] = {"name": self.name, "online": self.online, "commands": list(self.commands)}
        if self.area is not None:
            entry["area"] = self.area
        if self.grammar is not None:
            entry["grammar"] = self.grammar
        return entry

    @classmethod
    def from_dict(cls, entry: Any) -> Peer:
        """An entry as a hello would give it: a name and area of at most MAX_NAME_LENGTH printable
        characters (a name with a newline, a bidi or a zero-width character is refused, not listed)."""
        if not isinstance(entry, dict) or not valid_name(entry.get("name")):
            raise ProtocolError(f"a directory entry needs a 'name' of 1 to {MAX_NAME_LENGTH} printable characters")
        commands = entry.get("commands", [])
        if not isinstance(commands, list) or not all(isinstance(name, str) for name in commands):
            raise ProtocolError("directory 'commands' must be a list of strings")
        grammar = entry.get("grammar")
        area = entry.get("area")
        return cls(
            entry["name"],
            area if valid_name(area) else None,
            entry.get("online", True) is not False,
            tuple(commands),
            grammar if isinstance(grammar, dict) else None,
        )


@dataclass(frozen=True)
class DirectoryQuery(Event):
    """Client -> server: send me the directory (without joining it)."""

    TYPE: ClassVar[str] = "directory"

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.TYPE}

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> DirectoryQuery:
        return cls()


@dataclass(frozen=True)
class Directory(Event):
    """Server -> client: every client the server knows, online or seen recently."""

    TYPE: ClassVar[str] = "directory"

    clients: Tuple[Peer, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.TYPE, "clients": [peer.to_dict() for peer in self.clients]}

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Directory:
        clients = message.get("clients", [])
        if not isinstance(clients, list):
            raise ProtocolError("directory 'clients' must be a list")
        return cls(tuple(Peer.from_dict(entry) for entry in clients))


@dataclass(frozen=True)
class Run(Event):
    """A request to run ``command(**args)`` on another client."""

    TYPE: ClassVar[str] = "run"

    id: str
    command: str
    args: Dict[str, Any] = field(default_factory=dict)
    target: Optional[str] = None
    """Set by the origin: which client should run it."""
    origin: Optional[str] = None
    """Set by the server (never taken from the origin): who asks."""
    ttl: Optional[float] = None
    """Seconds the request may wait for its target to be connected; then it is "offline"."""
    token: Optional[str] = field(default=None, repr=False)
    """The shared secret; a target with a token set refuses requests without it. The server puts
    its own there on the way to the target (never on the broker)."""
    verified: Optional[bool] = None
    """Set by the server (never taken from the origin): the origin proved its name with its key."""

    def to_dict(self) -> Dict[str, Any]:
        message = {"type": self.TYPE, "id": self.id, "command": self.command, "args": self.args}
        return _with_set(message, self, ("target", "origin", "ttl", "token", "verified"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=repr)  # args may hold values JSON cannot write

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Run:
        request_id = _request_id(message)
        command = message.get("command")
        if not isinstance(command, str) or not command.isidentifier() or len(command) > MAX_COMMAND_LENGTH:
            raise ProtocolError(f"run needs a 'command': a Python name of at most {MAX_COMMAND_LENGTH} characters", request_id)
        args = message.get("args", {})
        if not _arguments(args):
            raise ProtocolError(f"run 'args' must map at most {MAX_ARGS} Python names to strings (of at most "
                                f"{MAX_TEXT_LENGTH} characters), numbers, booleans or null", request_id)
        ttl = message.get("ttl")
        if ttl is not None and (not _number(ttl) or not 0 <= ttl <= MAX_TTL):
            raise ProtocolError(f"run 'ttl' must be a number of seconds from 0 to {MAX_TTL:g}", request_id)
        texts = {name: _text(message, name, request_id) for name in ("target", "origin", "token")}
        for name in ("target", "origin"):
            if texts[name] is not None and not valid_name(texts[name]):
                raise ProtocolError(f"run {name!r} must be a client name of 1 to {MAX_NAME_LENGTH} printable characters", request_id)
        verified = message.get("verified") is True
        return cls(request_id, command, dict(args), ttl=None if ttl is None else float(ttl), verified=verified or None, **texts)


@dataclass(frozen=True)
class RunResult(Event):
    """What became of a ``run``."""

    TYPE: ClassVar[str] = "run_result"

    id: str
    outcome: str
    value: Any = None
    error: Optional[str] = None
    target: Optional[str] = None
    """Set by the server on the way to the origin."""

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "id": self.id, "outcome": self.outcome}
        if self.value is not None:
            message["value"] = self.value if _scalar(self.value) else repr(self.value)
        return _with_set(message, self, ("error", "target"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=repr)

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> RunResult:
        request_id = _request_id(message)
        outcome = message.get("outcome")
        if outcome not in OUTCOMES:
            raise ProtocolError(f"run_result 'outcome' must be one of {', '.join(OUTCOMES)}", request_id)
        value = message.get("value")
        value = value if _scalar(value) else repr(value)
        error, target = _text(message, "error", request_id), _text(message, "target", request_id)
        return cls(
            request_id,
            outcome,
            printable(value, MAX_TEXT_LENGTH) if isinstance(value, str) else value,
            printable(error, MAX_ERROR_LENGTH) if error is not None else None,
            printable(target, MAX_NAME_LENGTH) if target is not None else None,
        )


CLIENT_EVENTS = {event.TYPE: event for event in (DirectoryQuery, Run, RunResult)}
SERVER_EVENTS = {event.TYPE: event for event in (Directory, Run, RunResult)}


def _with_set(message: Dict[str, Any], event: Any, names: Tuple[str, ...]) -> Dict[str, Any]:
    """``message`` with those of the event's optional fields that are set."""
    message.update({name: getattr(event, name) for name in names if getattr(event, name) is not None})
    return message


def _request_id(message: Mapping[str, Any]) -> str:
    request_id = message.get("id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_CHARS:
        raise ProtocolError(f"'id' must be a string of 1 to {MAX_ID_CHARS} characters")
    return request_id


def _text(message: Mapping[str, Any], key: str, request_id: str) -> Optional[str]:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"{key!r} must be a string", request_id)
    return value


def valid_name(name: Any) -> bool:
    """A client's name or area as the directory lists it: 1 to MAX_NAME_LENGTH characters, none
    of which would be escaped in a log line (va.protocol.base.printable)."""
    return isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH and printable(name, MAX_NAME_LENGTH) == name


def _arguments(args: Any) -> bool:
    return (
        isinstance(args, dict) and len(args) <= MAX_ARGS
        and all(isinstance(name, str) and name.isidentifier() and len(name) <= MAX_COMMAND_LENGTH for name in args)
        and all(_scalar(value) and not (isinstance(value, str) and len(value) > MAX_TEXT_LENGTH) for value in args.values())
    )  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool)) or _number(value)
