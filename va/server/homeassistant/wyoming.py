"""The Wyoming speech-to-text endpoint of `va server`, for Home Assistant.

Home Assistant opens one TCP connection per utterance and sends
`transcribe`, `audio-start`, `audio-chunk`..., `audio-stop`, then waits for `transcript`; when a
service is added it sends `describe` and reads `info`. Framing and event types come from the
`wyoming` package; the audio goes to the websocket server's own `Transcriber`, so both share the
model, the batching worker and the speech-length window.

The protocol has no authentication: the endpoint listens on loopback unless told otherwise
(`server.wyoming.host`), and the README says how to expose it safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import warnings
from typing import Any, Dict, Optional, Set, Union

with warnings.catch_warnings():  # wyoming.audio imports audioop, deprecated since Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.asr import Transcribe, Transcript
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong

from va.server.transcriber import Busy, Transcriber
from va.server.homeassistant.info import describe
from va.server.homeassistant.audio_input import BoundedReader, Utterance, format_problem, vocabulary_prompt

_LOGGER = logging.getLogger(__name__)

_IDLE_TIMEOUT = 120.0  # seconds a connection may stay silent (Home Assistant sends audio in real time)
_HANDLED = (AudioChunk, AudioStart, AudioStop, Transcribe, Describe, Ping)


@dataclasses.dataclass(eq=False)  # identity hash: connections live in a set
class _Connection:
    name: str
    writer: asyncio.StreamWriter
    utterance: Optional[Utterance] = None
    prompt: Optional[str] = None

    def __str__(self) -> str:
        return self.name


class WyomingEndpoint:
    """Serves Wyoming `describe` and `transcribe` on one TCP port, through `transcriber`."""

    def __init__(self, transcriber: Transcriber, settings: Any) -> None:
        self.transcriber = transcriber
        self.settings = settings
        """The `server` section (ServerSettings); replaced on reload."""
        self.requests = 0
        self.transcripts = 0
        self._server: Optional[asyncio.AbstractServer] = None
        self._address: tuple = ("", 0)
        self._connections: Set[_Connection] = set()
        self._in_flight: Set[asyncio.Future] = set()
        self._stopping = False
        self._announcement: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        config = self.settings.wyoming
        # limit: the longest header line; a longer one is not Wyoming and ends the connection
        try:
            self._server = await asyncio.start_server(self._serve, config.host, config.port, limit=1 << 16)
        except OSError as error:  # the port is taken, the address is not this machine's
            where = f"{config.host}:{config.port}"
            raise OSError(error.errno, f"cannot listen for Wyoming on {where}: {error.strerror}") from error
        self._address = self._server.sockets[0].getsockname()[:2]
        _LOGGER.info("Wyoming speech-to-text on %s", self.address)
        if config.zeroconf:
            await self._announce(config.host)

    async def _announce(self, host: str) -> None:
        try:
            from va.server.homeassistant.announce import Announcement

            announcement = Announcement(host, self.port)
            await announcement.start()
        except Exception as error:  # no zeroconf package, no route: the endpoint serves all the same
            _LOGGER.error("could not announce the Wyoming endpoint over mDNS (%s: %s); add it in Home Assistant "
                          "by host and port", type(error).__name__, error)
            return
        self._announcement = announcement

    async def stop(self) -> None:
        """Stop accepting, answer the utterances being transcribed, then close every connection."""
        self._stopping = True
        if self._server is None:
            return
        self._server.close()
        if self._announcement is not None:
            try:
                await self._announcement.stop()  # Home Assistant hears the goodbye
            except Exception:
                _LOGGER.exception("could not withdraw the mDNS announcement")
        if self._in_flight and self.transcriber.alive:
            _LOGGER.info("finishing %d Wyoming requests in flight", len(self._in_flight))
            await asyncio.wait(set(self._in_flight))
        for connection in list(self._connections):
            connection.writer.close()
        await self._server.wait_closed()

    @property
    def address(self) -> str:
        host, port = self._address
        return f"{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def port(self) -> int:
        return self._address[1]

    def health(self) -> Dict[str, Any]:
        """The `wyoming` entry of GET /health."""
        return {"address": self.address, "clients": len(self._connections), "requests": self.requests,
                "transcripts": self.transcripts}

    def info(self) -> Info:
        """What `describe` answers: one ASR program (va) with the loaded model."""
        return describe(self.transcriber.engine, self.settings.language)

    # -- one connection ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(_peer(writer), writer)
        self._connections.add(connection)
        _LOGGER.debug("Wyoming client %s connected", connection)
        try:
            await self._read_events(connection, BoundedReader(reader, self.settings.max_message_bytes), reader)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            _LOGGER.debug("Wyoming client %s went away: %s", connection, error)
        except asyncio.TimeoutError:
            _LOGGER.info("Wyoming client %s sent nothing for %.0f s; closing", connection, _IDLE_TIMEOUT)
        except Exception:  # a bug here must cost one connection, never the server
            _LOGGER.exception("Wyoming client %s: unexpected error", connection)
        finally:
            self._connections.discard(connection)
            if connection.utterance is not None:
                _LOGGER.info("Wyoming client %s left mid-utterance (%.1f s of audio dropped)",
                             connection, connection.utterance.seconds)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            _LOGGER.debug("Wyoming client %s disconnected", connection)

    async def _read_events(self, connection: _Connection, bounded: BoundedReader, reader: asyncio.StreamReader) -> None:
        while not self._stopping:
            try:
                event = await asyncio.wait_for(async_read_event(bounded), _IDLE_TIMEOUT)  # type: ignore[arg-type]
            except (AttributeError, KeyError, TypeError):  # JSON, but not an event: a list, no "type"
                await _refuse(connection, "not a Wyoming event", "bad-event")
                return
            if event is None:
                if not reader.at_eof():  # not the end of the stream: what came was not Wyoming
                    await _refuse(connection, "not a Wyoming event", "bad-event")
                return
            if not await self._on_event(connection, event):
                return

    async def _on_event(self, connection: _Connection, event: Event) -> bool:
        """Handle one event; False closes the connection."""
        kind = next((kind for kind in _HANDLED if kind.is_type(event.type)), None)
        if kind is None:  # the protocol says: drop what you do not know
            _LOGGER.debug("Wyoming client %s: ignored a %r event", connection, event.type)
            return True
        try:
            message = kind.from_event(event)
        except (KeyError, TypeError, ValueError, AttributeError):
            return await _refuse(connection, f"malformed {event.type} event", "bad-event")
        if isinstance(message, AudioChunk):
            return await self._on_chunk(connection, message)
        if isinstance(message, AudioStart):
            return await self._begin(connection, message)
        if isinstance(message, AudioStop):
            await self._finish(connection)
        elif isinstance(message, Describe):
            await _send(connection, self.info().event())
        elif isinstance(message, Ping):
            await _send(connection, Pong(text=message.text).event())
        elif isinstance(message, Transcribe):  # the language is the one va is set up for
            connection.prompt = vocabulary_prompt(message)
        return True

    async def _begin(self, connection: _Connection, start: Union[AudioStart, AudioChunk]) -> bool:
        problem = format_problem(start.rate, start.width, start.channels)
        if problem:
            return await _refuse(connection, problem, "bad-audio")
        connection.utterance = Utterance((start.rate, start.width, start.channels), self.settings.max_audio_seconds)
        return True

    async def _on_chunk(self, connection: _Connection, chunk: AudioChunk) -> bool:
        if connection.utterance is None:  # audio-start is optional in practice: this chunk starts the utterance
            _LOGGER.debug("Wyoming client %s sent audio without audio-start", connection)
            if not await self._begin(connection, chunk):
                return False
        utterance = connection.utterance
        assert utterance is not None
        if (chunk.rate, chunk.width, chunk.channels) != utterance.format:
            return await _refuse(connection, "audio format changed within an utterance", "bad-audio")
        utterance.add(chunk)
        return True

    async def _finish(self, connection: _Connection) -> None:
        utterance, connection.utterance = connection.utterance, None
        self.requests += 1
        if utterance is None or not utterance.samples:
            _LOGGER.info("Wyoming client %s: audio-stop without audio; empty transcript", connection)
            await _send(connection, Transcript(text="").event())
            return
        error = self._refusal(utterance)
        if error is None:
            try:
                prompt = connection.prompt if self.settings.use_prompt else None
                future = self.transcriber.submit(utterance.pcm(), utterance.format[0], prompt)
            except Busy:
                _LOGGER.warning("queue full: refused a Wyoming request from %s", connection)
                error = Error("server busy", code="busy")
        if error is not None:
            await _send(connection, error.event())
            return
        replied = asyncio.get_running_loop().create_future()  # what stop() waits for: the reply, sent
        self._in_flight.add(replied)
        try:
            await self._reply(connection, utterance, await future)
        finally:
            self._in_flight.discard(replied)
            replied.set_result(None)

    def _refusal(self, utterance: Utterance) -> Optional[Error]:
        if utterance.too_long:
            return Error(f"audio too long: more than {utterance.max_seconds:g} s", code="audio-too-long")
        if self._stopping:
            return Error("server is shutting down", code="stopping")
        return None

    async def _reply(self, connection: _Connection, utterance: Utterance, outcome: Any) -> None:
        if outcome.error is not None:
            await _send(connection, Error(outcome.error, code="transcription-failed").event())
            return
        text = outcome.transcription.text.strip()
        latency = round(outcome.processing_ms)
        self.transcripts += 1
        _LOGGER.info(
            "wyoming %s: %r (%.1f s of audio, %d ms)", connection, text, utterance.seconds, latency,
            extra={"VA_TRANSCRIPT": text, "VA_LATENCY_MS": latency, "VA_CLIENT": connection.name,
                   "VA_PROTOCOL": "wyoming"},
        )
        language = self.settings.language if self.settings.language not in ("", "auto") else None
        await _send(connection, Transcript(text=text, language=language).event())


async def _refuse(connection: _Connection, problem: str, code: str) -> bool:
    """Tell the client what was wrong with an error event; False: close the connection."""
    _LOGGER.info("Wyoming client %s: %s; closing", connection, problem)
    await _send(connection, Error(problem, code=code).event())
    return False


async def _send(connection: _Connection, event: Event) -> None:
    try:
        await async_write_event(event, connection.writer)
    except (ConnectionError, RuntimeError):  # RuntimeError: the transport is already closed
        _LOGGER.debug("Wyoming client %s left before its %s was sent", connection, event.type)


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    return f"{address[0]}:{address[1]}" if address else "unknown"

