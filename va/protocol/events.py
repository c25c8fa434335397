"""The events between a client and the speech server (see va.protocol for the wire)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple

from va.language.grammar import Grammar, GrammarError
from va.language.grammar_limits import size_error
from va.protocol.heard import Loudness, read_loudness
from va.protocol.base import (
    MAX_NAME_CHARS, SAMPLE_RATE, SAMPLE_WIDTH, Event, ProtocolError, RequestId, check_pcm, optional_str, printable,
    read_id, read_rate, read_version, with_id,
)  # fmt: skip


MAX_HEARD_BY = 16
"""A transcript's ``heard_by`` lists at most this many clients."""


@dataclass(frozen=True)
class AudioInput(Event):
    """A request to transcribe s16le mono PCM at ``rate`` Hz."""

    TYPE: ClassVar[str] = "audio_input"

    pcm: bytes = field(repr=False)
    """Raw s16le mono samples."""
    rate: int = SAMPLE_RATE
    """Sample rate of ``pcm`` in Hz."""
    id: RequestId = None
    """Echoed in the reply."""
    loudness: Optional[Loudness] = None
    """The speech level and SNR the client measured (``"level"``, ``"snr"``, dB); None: it sent none."""

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.pcm) / SAMPLE_WIDTH / self.rate

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "data": base64.b64encode(self.pcm).decode("ascii")}
        if self.rate != SAMPLE_RATE:
            message["rate"] = self.rate
        if self.loudness is not None:
            message["level"], message["snr"] = self.loudness.level, self.loudness.snr
        return with_id(message, self.id)

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> AudioInput:
        request_id = read_id(message)
        data = message.get("data")
        if not isinstance(data, str):
            raise ProtocolError("audio_input needs 'data': base64 s16le PCM", request_id)
        try:
            pcm = base64.b64decode(data.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ProtocolError("'data' is not valid base64", request_id) from None
        return cls(check_pcm(pcm, request_id), read_rate(message, request_id), request_id, read_loudness(message))

    @classmethod
    def from_binary(cls, frame: bytes) -> AudioInput:
        return cls(check_pcm(bytes(frame), None))


@dataclass(frozen=True)
class Hello(Event):
    """The client introduces itself; its vocabulary becomes the decoding prompt."""

    TYPE: ClassVar[str] = "hello"

    keyword: Optional[str] = None
    commands: Tuple[str, ...] = ()
    """Spoken names of the commands, e.g. ``("set timer", "what time is it")``."""
    client: Optional[str] = None
    """The client's name (``client.name``): the logs, and the directory of va.protocol.relay."""
    grammar: Optional[Grammar] = None
    """The commands with their parameters and templates; None from clients that predate it."""
    area: Optional[str] = None
    """Where it is (``client.area``), e.g. "kitchen"."""
    relay: bool = False
    """It understands the events of va.protocol.relay: put it in the directory, send it runs."""
    stream: int = 0
    """The version of streamed audio (va.protocol.stream) it can send; 0: none."""
    threshold: Optional[float] = None
    """Its ``commands.threshold``: the fuzzy score a command name needs in the server's readings
    (None, from clients that predate it: the server's default)."""
    left_out: Optional[str] = None
    """Why the grammar it came with was left out (too big: va.language.grammar_limits), for the
    server to tell the client; not sent."""
    arbitration: bool = False
    """It stands down when a transcript says another client answers (``answered_by``): the server
    may arbitrate its phrases with the other clients' (va.server.household.arbitration)."""

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
        if self.threshold is not None:
            message["threshold"] = self.threshold
        if self.arbitration:
            message["arbitration"] = True
        return message

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Hello:
        commands = message.get("commands", [])
        if not isinstance(commands, list) or not all(isinstance(name, str) for name in commands):
            raise ProtocolError("hello 'commands' must be a list of strings")
        grammar, left_out = None, None
        too_big = size_error(message.get("grammar"))
        if too_big:  # the client is welcome; its grammar is not read
            left_out = f"hello 'grammar' left out, {too_big}: transcripts come without readings"
        elif message.get("grammar") is not None:
            try:
                grammar = Grammar.from_dict(message["grammar"])
            except GrammarError as error:
                raise ProtocolError(f"hello 'grammar': {error}") from None
        keyword, client, area = (optional_str(message, key) for key in ("keyword", "client", "area"))
        client, area = (printable(name, MAX_NAME_CHARS) if name is not None else None for name in (client, area))
        return cls(keyword, tuple(commands), client, grammar, area, message.get("relay") is True, read_version(message),
                   _threshold(message), left_out, message.get("arbitration") is True)


def _threshold(message: Mapping[str, Any]) -> Optional[float]:
    value = message.get("threshold")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ProtocolError("hello 'threshold' must be a number from 0 to 100")
    return float(value)


@dataclass(frozen=True)
class Ready(Event):
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

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Ready:
        return cls(str(message.get("engine", "")), str(message.get("model", "")), read_version(message))


@dataclass(frozen=True)
class Reading(Event):
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
class Transcript(Event):
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
    answered_by: Optional[str] = None
    """Another client heard the same phrase and answers it: this one runs nothing (arbitration)."""
    heard_by: Tuple[str, ...] = ()
    """With ``answered_by``: every client that heard the phrase."""

    def to_dict(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {"type": self.TYPE, "data": self.text}
        if self.partial:
            message["partial"] = True
        if self.answered_by is not None:
            message["answered_by"], message["heard_by"] = self.answered_by, list(self.heard_by)
        for name in ("duration", "processing_ms", "no_speech_prob", "avg_logprob"):
            value = getattr(self, name)
            if value is not None:
                message[name] = round(float(value), 3)
        if self.reading is not None:
            message["reading"] = self.reading.to_dict()
        return with_id(message, self.id)

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Transcript:
        numbers = {
            name: float(message[name])
            for name in ("duration", "processing_ms", "no_speech_prob", "avg_logprob")
            if isinstance(message.get(name), (int, float))
        }
        reading = Reading.from_dict(message["reading"]) if "reading" in message else None
        answered_by = message.get("answered_by")
        heard_by = message.get("heard_by")
        heard = tuple(printable(name, MAX_NAME_CHARS) for name in heard_by[:MAX_HEARD_BY] if isinstance(name, str)) if isinstance(heard_by, list) else ()
        return cls(str(message.get("data", "")), message.get("id"), **numbers, reading=reading,
                   partial=message.get("partial") is True,
                   answered_by=printable(answered_by, MAX_NAME_CHARS) if isinstance(answered_by, str) else None,
                   heard_by=heard)


@dataclass(frozen=True)
class Error(Event):
    """A request that failed; the connection stays usable."""

    TYPE: ClassVar[str] = "error"

    message: str
    id: RequestId = None

    def to_dict(self) -> Dict[str, Any]:
        return with_id({"type": self.TYPE, "data": self.message}, self.id)

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Error:
        return cls(str(message.get("data", "")), message.get("id"))
