"""Messages on the broker, sealed with the household's broker key (``server.broker.key_file``).

A sealed message is ``{"signed": "<the message's JSON>", "mac": "<hex HMAC-SHA256>"}``, the MAC
taken over the topic and the JSON, so that a message can be neither changed nor moved to another
topic by whoever else can publish on the broker. Without a key, messages go as plain JSON, and a
server with a key drops those (``Unsealed``), as it drops a MAC that does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Dict, Optional

MAX_PAYLOAD = 1 << 20
"""Bytes of one message from the broker that are read at all."""


class Unsealed(ValueError):
    """A message that is not sealed with our key (or not JSON)."""


def seal(key: Optional[bytes], topic: str, body: Dict[str, Any]) -> bytes:
    text = json.dumps(body, separators=(",", ":"))
    if key is None:
        return text.encode()
    return json.dumps({"signed": text, "mac": _mac(key, topic, text)}).encode()


def unseal(key: Optional[bytes], topic: str, payload: bytes) -> Dict[str, Any]:
    """The message, checked against ``key`` when there is one."""
    if len(payload) > MAX_PAYLOAD:
        raise Unsealed(f"{len(payload)} bytes (at most {MAX_PAYLOAD})")
    try:
        message = json.loads(payload)
        if key is not None:
            if not isinstance(message, dict) or not isinstance(message.get("signed"), str):
                raise Unsealed("not signed with the broker key")
            if not hmac.compare_digest(str(message.get("mac", "")), _mac(key, topic, message["signed"])):
                raise Unsealed("its signature does not match the broker key")
            message = json.loads(message["signed"])
    except Unsealed:
        raise
    except (ValueError, RecursionError) as error:
        raise Unsealed(f"not JSON: {type(error).__name__}") from None
    if not isinstance(message, dict):
        raise Unsealed("not a JSON object")
    return message


def _mac(key: bytes, topic: str, text: str) -> str:
    return hmac.new(key, f"{topic}\n{text}".encode(), hashlib.sha256).hexdigest()
