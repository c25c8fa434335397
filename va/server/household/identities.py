"""Who a connection is: clients with keys of their own (``server.clients``), and the names they hold.

A client's key is a random secret made by ``va key``; the client keeps it in ``client.key_file``
and sends it in the ``X-VA-Key`` header when it connects; the server keeps only its hash
(``server.clients: {kitchen: "sha256:..."}``). At the handshake a key the server does not know is
refused (HTTP 401); a known one makes the connection that client's, with no token needed.

At the hello (``refusal``), a name is bound to its credential: a keyed connection may only say
hello under its own name; a name that has a key cannot be taken by a connection without it (a
holder of the shared token, say), whoever holds it at the time. Names without a key are not
verified: with one shared ``token`` anyone who has it may say hello under any of them, as before
keys existed (``va check`` says so). A run's origin is the name of the connection it came on, and
the server marks it ``verified`` when that name was proved by a key (va.protocol.relay).

Keys never reach a log: only the name they open is logged.
"""

from __future__ import annotations

import hmac
import logging
from typing import Mapping, Optional

from va.protocol.keys import KEY_HEADER, key_hash, make_key, read_key

__all__ = ["KEY_HEADER", "Identities", "key_hash", "make_key", "read_key"]

_LOGGER = logging.getLogger(__name__)


class Identities:
    """``server.clients`` in a form the server asks on every handshake and hello."""

    def __init__(self, clients: Mapping[str, str]) -> None:
        self.configure(clients)

    def configure(self, clients: Mapping[str, str]) -> None:
        """New keys (a reload: rotation); connections opened with an old key are let go by the server."""
        self._hashes = {name: digest.lower() for name, digest in clients.items()}

    @property
    def names(self) -> tuple:
        return tuple(self._hashes)

    def keyed(self, name: Optional[str]) -> bool:
        """Whether ``name`` is bound to a key (only a connection with that key may use it)."""
        return name is not None and name in self._hashes

    def name_for(self, key: str) -> Optional[str]:
        """The client whose key this is; None: no client has it."""
        return self.holder_of(key_hash(key))

    def holder_of(self, digest: str) -> Optional[str]:
        found = None
        for name, known in self._hashes.items():  # every entry compared: the time does not tell which
            if hmac.compare_digest(known.encode(), digest.encode()):
                found = name
        return found

    def refusal(self, identity: Optional[str], claimed: Optional[str]) -> Optional[str]:
        """Why a connection proved to be ``identity`` (None: no key) may not say hello as ``claimed``."""
        if identity is not None and claimed is not None and claimed != identity:
            return f"this connection's key is {identity}'s: it cannot say hello as {claimed}"
        if identity is None and self.keyed(claimed):
            return f"{claimed} has a key of its own (server.clients): connect with it (client.key_file)"
        return None
