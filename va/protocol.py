"""The wire events between a va client and the speech server.

Compatible with the seed server: a client sends
``{"type": "audio_input", "data": "<base64 s16le mono PCM>"}`` and reads
``{"type": "transcript", "data": "<text>"}`` or ``{"type": "error", "data": "<why>"}``.
On top of that:

- ``audio_input`` may carry ``"rate"`` (Hz, default 16000) and ``"id"`` (a string of at most
  MAX_ID_CHARS characters or a 64-bit integer, echoed in the reply).
- A binary frame is raw s16le mono 16 kHz PCM: the same request without base64 (no id).
- ``hello`` (optional, first) tells the server the keyword and command names, which it
  uses as the decoding prompt, and may carry ``grammar`` (``va.language.grammar``: every command
  with its spoken names, parameter kinds and sentence templates); the server answers ``ready``.
  It may name the client and its area and say ``"relay": true``: then the events of
  ``va.relay_events`` (the directory, and commands run on another client) come and go too.
- ``transcript`` may carry ``id``, ``duration`` (seconds of audio), ``processing_ms`` (from
  the moment the server had the audio until the text was ready, queueing included),
  ``no_speech_prob`` and ``avg_logprob``; for a client that sent a grammar, ``reading``: the
  most likely valid command judged against the audio (``Reading``).

- Streaming (``va.stream_events``): a hello with ``"stream": 1`` and a ready with ``"stream": 1``
  mean that, on that connection, the client's binary frames are chunks of phrases being heard
  (a request id, flags, PCM); a ``transcript`` with ``"partial": true`` reads the phrase so far.
- Every reply to a request (``ready``, ``transcript``, ``error``) carries ``seq``: the number of
  the frame it answers on this connection (1 for the first), see ``reply_json``.

Untrusted input is parsed once, by ``parse_client_message``, which raises ``ProtocolError``; its
message is printable and short, whatever the client sent. Names (``client``, ``area``) arrive
printable: control characters escaped, at most MAX_NAME_CHARS characters.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Union

from va.language.grammar import Grammar, GrammarError

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
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

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
    """``text`` fit for one log line: at most ``limit`` characters, control characters escaped
    (a newline in a client's name must not forge a log line)."""
    escaped = _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text[: limit + 1])
    return escaped if len(escaped) <= limit and len(text) <= limit else escaped[: limit - 3] + "..."


def reply_json(event: Any, seq: Optional[int]) -> str:
    """A server event as sent: its JSON with ``seq``, the number of the frame it answers (None:
    not a reply, e.g. a relayed event)."""
    if seq is None:
        return event.to_json()
    return json.dumps({**event.to_dict(), "seq": seq})


@dataclass(frozen=True)
class AudioInput:
    """A request to transcribe s16le mono PCM at ``rate`` Hz."""

    TYPE: ClassVar[str] = "audio_input"

    pcm: bytes = field(repr=False)
    """Raw s16le mono samples."""
    rate: int = SAMPLE_RATE
    """Sample rate of ``pcm`` in Hz."""
    id: RequestId = None
    """Echoed in the reply."""

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.pcm) / SAMPLE_WIDTH / self.rate

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "data": base64.b64encode(self.pcm).decode("ascii")}
        if self.rate != SAMPLE_RATE:
            message["rate"] = self.rate
        return _with_id(message, self.id)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> AudioInput:
        request_id = _read_id(message)
        data = message.get("data")
        if not isinstance(data, str):
            raise ProtocolError("audio_input needs 'data': base64 s16le PCM", request_id)
        try:
            pcm = base64.b64decode(data.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ProtocolError("'data' is not valid base64", request_id) from None
        return cls(_check_pcm(pcm, request_id), _read_rate(message, request_id), request_id)

    @classmethod
    def from_binary(cls, frame: bytes) -> AudioInput:
        return cls(_check_pcm(bytes(frame), None))


@dataclass(frozen=True)
class Hello:
    """The client introduces itself; its vocabulary becomes the decoding prompt."""

    TYPE: ClassVar[str] = "hello"

    keyword: Optional[str] = None
    commands: Tuple[str, ...] = ()
    """Spoken names of the commands, e.g. ``("set timer", "what time is it")``."""
    client: Optional[str] = None
    """The client's name (``client.name``): the logs, and the directory of va.relay_events."""
    grammar: Optional[Grammar] = None
    """The commands with their parameters and templates; None from clients that predate it."""
    area: Optional[str] = None
    """Where it is (``client.area``), e.g. "kitchen"."""
    relay: bool = False
    """It understands the events of va.relay_events: put it in the directory, send it runs."""
    stream: int = 0
    """The version of streamed audio (va.stream_events) it can send; 0: none."""

    def prompt(self) -> Optional[str]:
        """The vocabulary as a decoding prompt, e.g. ``"computer, set timer, what time is it."``."""
        words = [word.strip() for word in (self.keyword, *self.commands) if word and word.strip()]
        return ", ".join(words) + "." if words else None

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "commands": list(self.commands)}
        for name in ("keyword", "client", "area"):
            if getattr(self, name) is not None:
                message[name] = getattr(self, name)
        if self.grammar is not None:
            message["grammar"] = self.grammar.to_dict()
        if self.relay:
            message["relay"] = True
        if self.stream:
            message["stream"] = self.stream
        return message

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Hello:
        commands = message.get("commands", [])
        if not isinstance(commands, list) or not all(isinstance(name, str) for name in commands):
            raise ProtocolError("hello 'commands' must be a list of strings")
        grammar = None
        if message.get("grammar") is not None:
            try:
                grammar = Grammar.from_dict(message["grammar"])
            except GrammarError as error:
                raise ProtocolError(f"hello 'grammar': {error}") from None
        keyword, client, area = (_optional_str(message, key) for key in ("keyword", "client", "area"))
        client, area = (printable(name, MAX_NAME_CHARS) if name is not None else None for name in (client, area))
        return cls(keyword, tuple(commands), client, grammar, area, message.get("relay") is True, _version(message))


@dataclass(frozen=True)
class Ready:
    """The server's answer to hello."""

    TYPE: ClassVar[str] = "ready"

    engine: str
    model: str
    stream: int = 0
    """The version of streamed audio this server takes from this client; 0: none (send one-shot)."""

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "engine": self.engine, "model": self.model}
        if self.stream:
            message["stream"] = self.stream
        return message

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Ready:
        return cls(str(message.get("engine", "")), str(message.get("model", "")), _version(message))


@dataclass(frozen=True)
class Reading:
    """The server's reading of an utterance as one of the client's commands.

    ``score`` is the reading's log probability given the audio minus the free transcript's (0: the
    free transcript itself parses; below -margin: rejected). The client runs ``command`` with
    ``args`` only when ``accepted``; ``why`` says how it was found or why it was rejected.
    """

    command: Optional[str]
    args: Dict[str, Any] = field(default_factory=dict)
    score: float = 0.0
    accepted: bool = False
    why: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"command": self.command, "args": dict(self.args), "score": round(float(self.score), 3),
                "accepted": self.accepted, "why": self.why}

    @classmethod
    def from_dict(cls, message: Any) -> Optional[Reading]:
        """None for anything that is not a reading (a client must not trust a bad one)."""
        if not isinstance(message, dict) or not isinstance(message.get("args", {}), dict):
            return None
        command, score = message.get("command"), message.get("score", 0.0)
        if command is not None and not isinstance(command, str) or not isinstance(score, (int, float)):
            return None
        return cls(command, dict(message.get("args", {})), float(score), message.get("accepted") is True,
                   str(message.get("why", "")))


@dataclass(frozen=True)
class Transcript:
    """What was said. Only ``text`` is in the seed protocol; the rest is optional."""

    TYPE: ClassVar[str] = "transcript"

    text: str
    id: RequestId = None
    duration: Optional[float] = None
    processing_ms: Optional[float] = None
    no_speech_prob: Optional[float] = None
    avg_logprob: Optional[float] = None
    reading: Optional[Reading] = None
    partial: bool = False
    """The phrase so far, read while it may still go on (a streamed check): no request ends with it."""

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "data": self.text}
        if self.partial:
            message["partial"] = True
        for name in ("duration", "processing_ms", "no_speech_prob", "avg_logprob"):
            value = getattr(self, name)
            if value is not None:
                message[name] = round(float(value), 3)
        if self.reading is not None:
            message["reading"] = self.reading.to_dict()
        return _with_id(message, self.id)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Transcript:
        numbers = {
            name: float(message[name])
            for name in ("duration", "processing_ms", "no_speech_prob", "avg_logprob")
            if isinstance(message.get(name), (int, float))
        }
        reading = Reading.from_dict(message["reading"]) if "reading" in message else None
        return cls(str(message.get("data", "")), message.get("id"), **numbers, reading=reading,
                   partial=message.get("partial") is True)


@dataclass(frozen=True)
class Error:
    """A request that failed; the connection stays usable."""

    TYPE: ClassVar[str] = "error"

    message: str
    id: RequestId = None

    def to_dict(self) -> Dict[str, Any]:
        return _with_id({"type": self.TYPE, "data": self.message}, self.id)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Error:
        return cls(str(message.get("data", "")), message.get("id"))


ClientEvent = Union[AudioInput, Hello]
ServerEvent = Union[Ready, Transcript, Error]
_CLIENT_EVENTS = {event.TYPE: event for event in (AudioInput, Hello)}
_SERVER_EVENTS = {event.TYPE: event for event in (Ready, Transcript, Error)}


def parse_client_message(frame: Frame) -> ClientEvent:
    """Parse one frame from a client; raise ``ProtocolError`` for anything malformed.

    A text frame is a JSON event; a binary frame is raw s16le 16 kHz PCM.
    """
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return AudioInput.from_binary(bytes(frame))
    message = _load_object(frame)
    if "type" not in message:
        raise ProtocolError("missing 'type'", _read_id(message, strict=False))
    event_type = message["type"]
    events = _client_events()
    if not isinstance(event_type, str) or event_type not in events:
        raise ProtocolError(f"unknown message type {event_type!r}", _read_id(message, strict=False))
    return events[event_type].from_dict(message)


def parse_server_message(frame: Frame) -> ServerEvent:
    """Parse one frame from the server (the client's side); raise ``ProtocolError`` if malformed."""
    if not isinstance(frame, str):
        raise ProtocolError("the server sends text frames only")
    message = _load_object(frame)
    event_type = message.get("type")
    events = _server_events()
    if not isinstance(event_type, str) or event_type not in events:
        raise ProtocolError(f"unknown message type {event_type!r}")
    return events[event_type].from_dict(message)


@functools.lru_cache(maxsize=None)
def _client_events() -> Dict[str, Any]:
    from va import relay_events  # imported late: it builds on this module

    return {**_CLIENT_EVENTS, **relay_events.CLIENT_EVENTS}


@functools.lru_cache(maxsize=None)
def _server_events() -> Dict[str, Any]:
    from va import relay_events

    return {**_SERVER_EVENTS, **relay_events.SERVER_EVENTS}


def _load_object(frame: str) -> Dict[str, Any]:
    try:
        message = json.loads(frame)
    except ValueError as error:
        raise ProtocolError(f"malformed JSON: {error}") from None
    except RecursionError:  # deeply nested JSON must not kill the connection handler
        raise ProtocolError("malformed JSON: nested too deeply") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def _read_id(message: Mapping[str, Any], strict: bool = True) -> RequestId:
    request_id = message.get("id")
    if request_id is None or (isinstance(request_id, str) and len(request_id) <= MAX_ID_CHARS):
        return request_id
    if isinstance(request_id, int) and not isinstance(request_id, bool) and -(2**63) <= request_id < 2**63:
        return request_id
    if strict:
        raise ProtocolError(f"'id' must be a string of at most {MAX_ID_CHARS} characters or a 64-bit integer")
    return None


def _read_rate(message: Mapping[str, Any], request_id: RequestId) -> int:
    rate = message.get("rate", SAMPLE_RATE)
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise ProtocolError(f"'rate' must be an integer from {MIN_RATE} to {MAX_RATE} Hz", request_id)
    return rate


def _check_pcm(pcm: bytes, request_id: RequestId) -> bytes:
    if not pcm:
        raise ProtocolError("empty audio", request_id)
    if len(pcm) % SAMPLE_WIDTH:
        raise ProtocolError("odd number of bytes: audio must be 16-bit samples", request_id)
    return pcm


def _version(message: Mapping[str, Any]) -> int:
    """A ``stream`` version: a positive integer, else 0 (none)."""
    value = message.get("stream", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else 0


def _optional_str(message: Mapping[str, Any], key: str) -> Optional[str]:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"hello {key!r} must be a string")
    return value


def _with_id(message: Dict[str, Any], request_id: RequestId) -> Dict[str, Any]:
    if request_id is not None:
        message["id"] = request_id
    return message
