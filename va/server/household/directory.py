"""The server's directory: which clients are connected, where they are, what each can run.

A client joins by saying hello with its name (``client``) and ``"relay": true``. A name belongs
to its newest connection: when a client reconnects before the server noticed that the old
connection died, the new one takes the name over, and the old one leaving does not take the
name offline; when the newer one leaves while the older is still connected, the older one gets the
name back (a connection that took a name over and left must not leave the real client "offline").
Who may take a name over at all is va.server.household.identities' question, asked before. Clients that left stay listed as offline (the newest ``keep_offline`` of them), so
that "computer, kitchen, ..." said while the kitchen is away is answered "kitchen is offline"
rather than not understood.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from va.protocol import Hello
from va.protocol.relay import Directory, Peer

_LOGGER = logging.getLogger(__name__)

MAX_GRAMMAR_BYTES = 64 * 1024
"""A grammar the directory passes on (every member gets every grammar on every change)."""
MAX_COMMANDS_CHARS = 16 * 1024
"""Spoken names of one client the directory passes on (the first that fit)."""


@dataclass
class _Entry:
    peer: Peer
    client: Any
    """The connection (the server's client object) that owns the name; None when offline."""
    older: list = field(default_factory=list)
    """(connection, peer) of older connections under that name that are still up, oldest first."""


class ClientDirectory:
    def __init__(self, keep_offline: int = 32) -> None:
        self._entries: Dict[str, _Entry] = {}
        self._keep_offline = keep_offline

    def join(self, client: Any, hello: Hello) -> Optional[Any]:
        """Add or update the client that said ``hello``; returns the connection it replaced."""
        name = hello.client or ""
        grammar = hello.grammar.to_dict() if hello.grammar is not None else None
        if grammar is not None and len(json.dumps(grammar)) > MAX_GRAMMAR_BYTES:
            _LOGGER.warning("%s's grammar is over %d bytes: the others match its spoken names only", name, MAX_GRAMMAR_BYTES)
            grammar = None
        return self.add(client, Peer(name, hello.area, True, _bounded(name, hello.commands), grammar))

    def add(self, client: Any, peer: Peer) -> Optional[Any]:
        """Add or update ``peer``, reached through ``client``; returns the connection it replaced."""
        name = peer.name
        renamed = self.name_of(client)
        if renamed is not None and renamed != name:  # a reload gave it another name
            self.leave(client)
        previous = self._entries.pop(name, None)
        entry = self._entries[name] = _Entry(peer, client)
        replaced = previous.client if previous is not None and previous.client not in (None, client) else None
        if previous is not None:
            entry.older = [(older, kept) for older, kept in previous.older if older is not client]
        if replaced is not None and previous is not None:
            entry.older.append((replaced, previous.peer))
            _LOGGER.warning("two connections call themselves %r: the newer one gets its requests", name)
        elif previous is None or previous.client is None:
            _LOGGER.info("%s joined (%s, %d commands)", name, peer.area or "no area", len(peer.commands))
        return replaced

    def leave(self, client: Any) -> Optional[str]:
        """The name that went offline with this connection, if it owned one."""
        for name, entry in self._entries.items():
            entry.older = [(older, peer) for older, peer in entry.older if older is not client]
            if entry.client is client and entry.older:
                entry.client, entry.peer = entry.older.pop()
                _LOGGER.warning("%s: the newer connection under that name left; the older one has it back", name)
                return name
        for name, entry in self._entries.items():
            if entry.client is client:
                entry.client = None
                entry.peer = Peer(name, entry.peer.area, False, entry.peer.commands, entry.peer.grammar)
                _LOGGER.info("%s left", name)
                self._forget_old()
                return name
        return None

    def name_of(self, client: Any) -> Optional[str]:
        """The name this connection owns (None: it did not join, or another took the name)."""
        return next((name for name, entry in self._entries.items() if entry.client is client), None)

    def online(self, name: str) -> Optional[Any]:
        """The connection of the client called ``name``, when it is connected."""
        entry = self._entries.get(name)
        return entry.client if entry is not None else None

    def known(self, name: str) -> bool:
        return name in self._entries

    def connected(self) -> Tuple[Tuple[Peer, Any], ...]:
        """The online clients with their connections."""
        return tuple((entry.peer, entry.client) for entry in self._entries.values() if entry.client is not None)

    def snapshot(self) -> Directory:
        return Directory(tuple(entry.peer for entry in self._entries.values()))

    def _forget_old(self) -> None:
        offline = [name for name, entry in self._entries.items() if entry.client is None]
        for name in offline[: max(0, len(offline) - self._keep_offline)]:
            del self._entries[name]


def _bounded(name: str, commands: Tuple[str, ...]) -> Tuple[str, ...]:
    """The first of ``commands`` that fit in MAX_COMMANDS_CHARS."""
    total = 0
    for count, command in enumerate(commands):
        total += len(command) + 4
        if total > MAX_COMMANDS_CHARS:
            _LOGGER.warning("%s's commands are over %d characters: the others see the first %d of %d",
                            name, MAX_COMMANDS_CHARS, count, len(commands))
            return commands[:count]
    return commands
