"""Parsing untrusted frames into events, once, at the edge; ``ProtocolError`` for anything else."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Union

from va.protocol import relay
from va.protocol.base import Frame, ProtocolError, load_object, read_id
from va.protocol.events import AudioInput, Error, Hello, Ready, Transcript

ClientEvent = Union[AudioInput, Hello]
ServerEvent = Union[Ready, Transcript, Error]
_CLIENT_EVENTS: Dict[str, Any] = {**{event.TYPE: event for event in (AudioInput, Hello)}, **relay.CLIENT_EVENTS}
_SERVER_EVENTS: Dict[str, Any] = {**{event.TYPE: event for event in (Ready, Transcript, Error)}, **relay.SERVER_EVENTS}


def parse_client_message(frame: Frame) -> ClientEvent:
    """Parse one frame from a client; raise ``ProtocolError`` for anything malformed.

    A text frame is a JSON event; a binary frame is raw s16le 16 kHz PCM.
    """
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return AudioInput.from_binary(bytes(frame))
    message = load_object(frame)
    if "type" not in message:
        raise ProtocolError("missing 'type'", read_id(message, strict=False))
    event_type = message["type"]
    events = _CLIENT_EVENTS
    if not isinstance(event_type, str) or event_type not in events:
        raise ProtocolError(f"unknown message type {event_type!r}", read_id(message, strict=False))
    return events[event_type].from_dict(message)


def parse_server_message(frame: Frame) -> ServerEvent:
    """Parse one frame from the server (the client's side); raise ``ProtocolError`` if malformed."""
    if not isinstance(frame, str):
        raise ProtocolError("the server sends text frames only")
    message = load_object(frame)
    event_type = message.get("type")
    events = _SERVER_EVENTS
    if not isinstance(event_type, str) or event_type not in events:
        raise ProtocolError(f"unknown message type {event_type!r}")
    return events[event_type].from_dict(message)


def reply_json(event: Any, seq: Optional[int]) -> str:
    """A server event as sent: its JSON with ``seq``, the number of the frame it answers (None:
    not a reply, e.g. a relayed event)."""
    if seq is None:
        return event.to_json()
    return json.dumps({**event.to_dict(), "seq": seq})
