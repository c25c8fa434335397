"""What every wire event shares: the constants, ``ProtocolError``, the ``Event`` base, and the
readers that check one field of an untrusted message."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Dict, Mapping, Optional, Union

SAMPLE_RATE = 16000
"""The rate of binary frames and the default rate of ``audio_input``."""
SAMPLE_WIDTH = 2
"""Bytes per sample: s16le."""
MIN_RATE = 4000
MAX_RATE = 192000
MAX_ID_CHARS = 128
"""Longer string ids are refused: an id is echoed in the reply, and must not make it big."""
MAX_NAME_CHARS = 256
"""A hello's ``client`` and ``area`` are cut to this length (the relay lists names of 64 at most)."""
_MAX_ERROR_CHARS = 300
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
"""Control, line-breaking, bidi and zero-width characters: escaped wherever a peer's text is
printed (``kitchen\\u200b`` must not read as ``kitchen``, a right-to-left mark must not reorder a line)."""

RequestId = Union[str, int, None]
Frame = Union[str, bytes]


class ProtocolError(ValueError):
    """A message that breaks the protocol.

    ``message`` says why, for the error event; ``id`` is the request id when one could be read,
    so the reply can still name the request.
    """

    def __init__(self, message: str, id: RequestId = None) -> None:
        message = printable(message, _MAX_ERROR_CHARS)  # it may quote what the client sent
        super().__init__(message)
        self.message = message
        self.id = id


def printable(text: str, limit: int) -> str:
    """``text`` fit for one log line: at most ``limit`` characters, control, bidi and zero-width
    characters escaped (a newline in a client's name must not forge a log line)."""
    escaped = _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text[: limit + 1])
    return escaped if len(escaped) <= limit and len(text) <= limit else escaped[: limit - 3] + "..."


class Event:
    """A wire event: a small frozen dataclass with its ``TYPE``, ``to_dict()`` and ``from_dict()``."""

    TYPE: ClassVar[str] = ""

    def to_dict(self) -> Dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def load_object(frame: str) -> Dict[str, Any]:
    try:
        message = json.loads(frame)
    except ValueError as error:
        raise ProtocolError(f"malformed JSON: {error}") from None
    except RecursionError:  # deeply nested JSON must not kill the connection handler
        raise ProtocolError("malformed JSON: nested too deeply") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def read_id(message: Mapping[str, Any], strict: bool = True) -> RequestId:
    request_id = message.get("id")
    if request_id is None or (isinstance(request_id, str) and len(request_id) <= MAX_ID_CHARS):
        return request_id
    if isinstance(request_id, int) and not isinstance(request_id, bool) and -(2**63) <= request_id < 2**63:
        return request_id
    if strict:
        raise ProtocolError(f"'id' must be a string of at most {MAX_ID_CHARS} characters or a 64-bit integer")
    return None


def read_rate(message: Mapping[str, Any], request_id: RequestId) -> int:
    rate = message.get("rate", SAMPLE_RATE)
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise ProtocolError(f"'rate' must be an integer from {MIN_RATE} to {MAX_RATE} Hz", request_id)
    return rate


def check_pcm(pcm: bytes, request_id: RequestId) -> bytes:
    if not pcm:
        raise ProtocolError("empty audio", request_id)
    if len(pcm) % SAMPLE_WIDTH:
        raise ProtocolError("odd number of bytes: audio must be 16-bit samples", request_id)
    return pcm


def read_version(message: Mapping[str, Any]) -> int:
    """A ``stream`` version: a positive integer, else 0 (none)."""
    value = message.get("stream", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else 0


def optional_str(message: Mapping[str, Any], key: str) -> Optional[str]:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"hello {key!r} must be a string")
    return value


def with_id(message: Dict[str, Any], request_id: RequestId) -> Dict[str, Any]:
    if request_id is not None:
        message["id"] = request_id
    return message
