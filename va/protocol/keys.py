"""A client's own key on the wire: the header it travels in, and the hash the server keeps.

The key is a random secret made by ``va key`` and kept in ``client.key_file``; the client sends
it in KEY_HEADER when it connects; the server lists only ``key_hash(key)`` in ``server.clients``
(va.server.household.identities). Client and server both use this module: it imports neither.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Optional

KEY_HEADER = "X-VA-Key"
HASH_PREFIX = "sha256:"
KEY_BYTES = 32
"""256 random bits: a plain SHA-256 of the key is then as hard to invert as the key is to guess."""


def make_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def key_hash(key: str) -> str:
    """What ``server.clients`` holds for ``key``."""
    return HASH_PREFIX + hashlib.sha256(key.strip().encode()).hexdigest()


def read_key(path: Optional[str]) -> Optional[str]:
    """The key in ``path`` (``client.key_file``; None: no key). OSError when it cannot be read."""
    if path is None:
        return None
    with open(path, encoding="utf-8") as file:
        key = file.read().strip()
    if not key:
        raise OSError(f"{path} is empty: make a key with `va key NAME`")
    return key
