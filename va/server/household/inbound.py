"""What comes in from the broker, checked before the federation (va.server.household.federation)
takes it: sealed with the broker key and fresh (va.server.household.sealed), from the server the
topic names, and directory entries checked like a hello and bounded. What fails is dropped, and
logged once a burst.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Dict, Optional, Tuple

from va.protocol import ProtocolError
from va.protocol.relay import Peer
from va.server.household.directory import MAX_GRAMMAR_BYTES
from va.server.household.identities import Identities
from va.server.household.sealed import Unsealed, unseal
from va.server.limits import Burst

MAX_AGE = 120.0
"""Seconds a sealed message may be old (clocks of one household agree that well): a replay is older."""
MAX_REMOTE_CLIENTS = 64
"""Entries of one other server that are listed; the rest are not."""


class Inbound:
    def __init__(self, key: Optional[bytes], identities: Identities) -> None:
        self._key, self.identities = key, identities
        self.dropped = Burst("dropped %d message(s) from the broker, the last on %s: %s")
        self._left_out = Burst("left out %d directory entr(ies) from the broker, the last from server %s: %s")

    def opened(self, topic: str, payload: bytes, sender: str, dated: bool = True) -> Optional[Dict[str, Any]]:
        """The message on ``topic``, sealed with our key, from ``sender``, fresh; None (logged) if not."""
        try:
            message = unseal(self._key, topic, payload)
            said = message.get("server", message.get("from"))
            if said != sender:
                raise Unsealed(f"it says it is from {said!r}")
            age = time.time() - message.get("t", 0) if isinstance(message.get("t", 0), (int, float)) else MAX_AGE + 1
            if dated and self._key is not None and not -MAX_AGE < age < MAX_AGE:
                raise Unsealed(f"{age:.0f} s old (a replay?)")
        except Unsealed as error:
            self.dropped.hit(topic, error)
            return None
        return message

    def entries(self, server: str, message: Dict[str, Any]) -> Tuple[Peer, ...]:
        """The entries of ``server``'s message that may be listed: checked like a hello, bounded."""
        entries = message.get("clients", [])
        verified = message.get("verified", []) if self._key is not None else []
        if not isinstance(entries, list) or not isinstance(verified, list):
            self.dropped.hit(server, "'clients' and 'verified' must be lists")
            return ()
        if len(entries) > MAX_REMOTE_CLIENTS:
            self.dropped.hit(server, f"{len(entries)} clients listed: the first {MAX_REMOTE_CLIENTS} are taken")
        peers = []
        for entry in entries[:MAX_REMOTE_CLIENTS]:
            try:
                peer = Peer.from_dict(entry)
            except ProtocolError as error:
                self._left_out.hit(server, error)
                continue
            if self.identities.keyed(peer.name) and peer.name not in verified:
                self._left_out.hit(server, f"{peer.name} has a key here, and server {server} did not verify it")
                continue
            if peer.grammar is not None and len(json.dumps(peer.grammar)) > MAX_GRAMMAR_BYTES:
                peer = dataclasses.replace(peer, grammar=None)
            peers.append(peer)
        return tuple(peers)
