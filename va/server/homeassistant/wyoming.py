"""The Wyoming speech-to-text endpoint of `va server`, for Home Assistant.

Home Assistant opens one TCP connection per utterance and sends
`transcribe`, `audio-start`, `audio-chunk`..., `audio-stop`, then waits for `transcript`; when a
service is added it sends `describe` and reads `info`. Framing and event types come from the
`wyoming` package; the audio goes to the websocket server's own `Transcriber`, so both share the
model, the batching worker and the speech-length window.

While audio arrives it is resampled to 16 kHz (va.server.homeassistant.audio_input) and, with
`server.wyoming.partial_every` set, read ahead: `transcript-start` and `transcript-chunk` events
go out before `audio-stop`, then `transcript` (what older clients read) and `transcript-stop`
(va.server.homeassistant.streaming).

With commands set up for Home Assistant (`server.wyoming.commands_client`, `server_commands`),
a `transcript` event *from* the client is text to handle, as Home Assistant's Wyoming
conversation agent sends it: the answer is `handled` or `not-handled`
(va.server.homeassistant.handler).

The protocol has no authentication: the endpoint listens on loopback unless told otherwise
(`server.wyoming.host`), and docs/home-assistant.md says how to expose it safely. What peers may
take is bounded (va.server.homeassistant.limits): connections, bytes of audio held by all of them,
frame sizes, log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import warnings
from typing import Any, Dict, Optional, Set, Union

with warnings.catch_warnings():  # wyoming.audio imports audioop, deprecated since Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong

from va.server.homeassistant.audio_input import Utterance, format_problem, vocabulary_prompt
from va.server.homeassistant.info import describe
from va.server.homeassistant.limits import Budget, BoundedReader, OverBudget, give_memory_back, shown
from va.server.homeassistant.streaming import TranscriptStream
from va.server.limits import Burst
from va.protocol import SAMPLE_RATE
from va.server.transcriber import Busy, Transcriber

_LOGGER = logging.getLogger(__name__)

_IDLE_TIMEOUT = 120.0  # seconds a connection may stay silent (Home Assistant sends audio in real time)
_HANDLED = (AudioChunk, AudioStart, AudioStop, Transcribe, Transcript, Describe, Ping)
_PARTIAL_BUFFER = 64 * 1024  # bytes unsent to a client that does not read: its partials are skipped
_TRIM_DELAY = 1.0  # seconds after the last connection left before the heap is trimmed


@dataclasses.dataclass(eq=False)  # identity hash: connections live in a set
class _Connection:
    name: str
    writer: asyncio.StreamWriter
    utterance: Optional[Utterance] = None
    prompt: Optional[str] = None
    held: int = 0
    """Bytes of audio its utterance holds, as taken from the budget."""
    stream: Optional[TranscriptStream] = None
    partial: Optional[asyncio.Future] = None
    """The partial decode in the queue or in the worker."""
    partial_at: float = 0.0
    """Seconds of audio the last partial decode had."""
    partial_wall: float = 0.0
    """When it was made (time.monotonic)."""

    def __str__(self) -> str:
        return self.name


class WyomingEndpoint:
    """Serves Wyoming `describe` and `transcribe` on one TCP port, through `transcriber`."""

    def __init__(self, transcriber: Transcriber, settings: Any, handler: Any = None) -> None:
        self.transcriber = transcriber
        self.settings = settings
        """The `server` section (ServerSettings); replaced on reload."""
        self.handler = handler
        """va.server.homeassistant.handler.CommandHandler when commands are set up for Home Assistant."""
        self.requests = 0
        self.transcripts = 0
        self.handled = 0
        self.budget = Budget(settings.wyoming.max_buffered_bytes)
        self._server: Optional[asyncio.AbstractServer] = None
        self._address: tuple = ("", 0)
        self._connections: Set[_Connection] = set()
        self._in_flight: Set[asyncio.Future] = set()
        self._tasks: Set[asyncio.Task] = set()
        self._stopping = False
        self._announcement: Any = None
        self._trim: Optional[asyncio.TimerHandle] = None
        self._refused = Burst("refused %d Wyoming connection(s): %s; the last from %s", logging.INFO)
        self._full = Burst("refused %d Wyoming connection(s): %s", logging.WARNING)

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
        if self.handler is not None:
            await self.handler.start()
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
        if self.handler is not None:
            await self.handler.stop()
        for burst in (self._refused, self._full):
            burst.flush()

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
                "transcripts": self.transcripts, "handled": self.handled, "held_bytes": self.budget.held}

    def info(self) -> Info:
        """What `describe` answers: one ASR program (va) with the loaded model, and the handle
        program when commands are set up for Home Assistant."""
        wyoming = self.settings.wyoming
        commands = None
        if self.handler is not None and self.handler.enabled:
            commands = " and ".join(filter(None, ["the server" if wyoming.server_commands else "", wyoming.commands_client or ""]))
        return describe(self.transcriber.engine, self.settings.language, wyoming.partial_every > 0, commands)

    # -- one connection ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(_peer(writer), writer)
        cap = self.settings.wyoming.max_connections
        if len(self._connections) >= cap:
            self._full.hit(f"{cap} connections is the cap (server.wyoming.max_connections)")
            await _send(connection, Error("server busy: too many Wyoming connections", code="busy").event())
            writer.close()
            return
        self._connections.add(connection)
        if self._trim is not None:
            self._trim.cancel()
            self._trim = None
        _LOGGER.debug("Wyoming client %s connected", connection)
        bounded = BoundedReader(reader, self.settings.max_message_bytes, self.budget)
        try:
            await self._read_events(connection, bounded, reader)
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
            self._end_utterance(connection)
            bounded.release()
            if not self._connections:
                self._trim_later()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            _LOGGER.debug("Wyoming client %s disconnected", connection)

    async def _read_events(self, connection: _Connection, bounded: BoundedReader, reader: asyncio.StreamReader) -> None:
        while not self._stopping:
            try:
                event = await asyncio.wait_for(async_read_event(bounded), _IDLE_TIMEOUT)  # type: ignore[arg-type]
            except (AttributeError, KeyError, TypeError, RecursionError):  # JSON, but not an event: a list, no "type", nested too deep
                await self._refuse(connection, "not a Wyoming event", "bad-event")
                return
            except OverBudget:
                await self._busy(connection)
                return
            if event is None:
                if not reader.at_eof():  # not the end of the stream: what came was not Wyoming
                    await self._refuse(connection, "not a Wyoming event", "bad-event")
                return
            try:
                if not await self._on_event(connection, event):
                    return
            except OverBudget:
                await self._busy(connection)
                return
            finally:
                bounded.release()

    async def _refuse(self, connection: _Connection, problem: str, code: str) -> bool:
        """Tell the client what was wrong with an error event; False: close the connection. One
        log line for a burst of them (an attacker opens many)."""
        self._refused.hit(problem, connection)
        await _send(connection, Error(problem, code=code).event())
        return False

    async def _busy(self, connection: _Connection) -> None:
        self._full.hit(f"{self.budget.limit} bytes of audio held is the cap (server.wyoming.max_buffered_bytes)")
        await _send(connection, Error("server busy: too much audio held", code="busy").event())

    async def _on_event(self, connection: _Connection, event: Event) -> bool:
        """Handle one event; False closes the connection."""
        kind = next((kind for kind in _HANDLED if kind.is_type(event.type)), None)
        if kind is None:  # the protocol says: drop what you do not know
            _LOGGER.debug("Wyoming client %s: ignored a '%s' event", connection, shown(event.type))
            return True
        try:
            message = kind.from_event(event)
        except (KeyError, TypeError, ValueError, AttributeError):
            return await self._refuse(connection, f"malformed '{shown(event.type)}' event", "bad-event")
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
        elif isinstance(message, Transcript):  # text to handle (Home Assistant's conversation agent)
            await self._handle_text(connection, message.text)
        return True

    async def _handle_text(self, connection: _Connection, text: Any) -> None:
        if self.handler is None or not self.handler.enabled:
            await _send(connection, NotHandled("va runs no commands for Home Assistant here (server.wyoming.commands_client)").event())
            return
        done = asyncio.get_running_loop().create_future()  # what stop() waits for
        self._in_flight.add(done)
        try:
            answer = await self.handler.handle(text if isinstance(text, str) else "")
            self.handled += answer.handled
            reply = Handled(answer.text) if answer.handled else NotHandled(answer.text)
            await _send(connection, reply.event())
        finally:
            self._in_flight.discard(done)
            done.set_result(None)

    async def _begin(self, connection: _Connection, start: Union[AudioStart, AudioChunk]) -> bool:
        problem = format_problem(start.rate, start.width, start.channels)
        if problem:
            return await self._refuse(connection, problem, "bad-audio")
        self._end_utterance(connection)
        connection.utterance = Utterance((start.rate, start.width, start.channels), self.settings.max_audio_seconds)
        connection.stream = TranscriptStream() if self.settings.wyoming.partial_every > 0 else None
        connection.partial_at = 0.0
        return True

    def _end_utterance(self, connection: _Connection) -> None:
        """Give back what the utterance held, and drop its partial decode if it has not begun."""
        self.budget.give(connection.held)
        connection.held = 0
        connection.utterance = None
        if connection.partial is not None:
            connection.partial.cancel()
            connection.partial = None

    async def _on_chunk(self, connection: _Connection, chunk: AudioChunk) -> bool:
        if connection.utterance is None:  # audio-start is optional in practice: this chunk starts the utterance
            _LOGGER.debug("Wyoming client %s sent audio without audio-start", connection)
            if not await self._begin(connection, chunk):
                return False
        utterance = connection.utterance
        assert utterance is not None
        if (chunk.rate, chunk.width, chunk.channels) != utterance.format:
            return await self._refuse(connection, "audio format changed within an utterance", "bad-audio")
        utterance.add(chunk)
        self.budget.take(utterance.held - connection.held)  # OverBudget: this connection is refused
        connection.held = utterance.held
        self._read_ahead(connection, utterance)
        return True

    def _read_ahead(self, connection: _Connection, utterance: Utterance) -> None:
        """Decode the utterance so far, every partial_every seconds of audio, when the worker has room."""
        every = self.settings.wyoming.partial_every
        if connection.stream is None or connection.partial is not None or utterance.too_long:
            return
        now = time.monotonic()
        if utterance.seconds - connection.partial_at < every or now - connection.partial_wall < every:
            return  # paced by audio and by time: a client sending faster than real time gets no more
        if self.transcriber.depth > 0:
            return  # only with the worker idle: a partial never delays anyone's final transcript by more than itself
        if connection.writer.transport.get_write_buffer_size() > _PARTIAL_BUFFER:
            return  # a client that does not read them gets no more
        connection.partial_at, connection.partial_wall = utterance.seconds, now
        try:
            future = self.transcriber.submit(utterance.so_far(), SAMPLE_RATE, None)
        except Busy:
            return
        connection.partial = future
        task = asyncio.ensure_future(self._send_partial(connection, connection.stream, future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_partial(self, connection: _Connection, stream: TranscriptStream, future: asyncio.Future) -> None:
        try:
            outcome = await future
        except asyncio.CancelledError:
            return
        finally:
            if connection.partial is future:
                connection.partial = None
        if outcome.error is not None or outcome.transcription is None:
            return
        chunk = stream.partial(outcome.transcription.text.strip())
        if chunk is not None:
            await self._stream(connection, stream, TranscriptChunk(chunk).event())

    async def _stream(self, connection: _Connection, stream: TranscriptStream, event: Event) -> None:
        """Send a streaming event, transcript-start first."""
        if not stream.started:
            stream.started = True
            await _send(connection, TranscriptStart(language=self._language()).event())
        await _send(connection, event)

    def _language(self) -> Optional[str]:
        return self.settings.language if self.settings.language not in ("", "auto") else None

    def _trim_later(self) -> None:
        """Give the heap back to the system once the connections are gone (va.server.homeassistant.limits)."""
        if self._trim is None and self.budget.peak > 0:
            self._trim = asyncio.get_running_loop().call_later(_TRIM_DELAY, self._trim_now)

    def _trim_now(self) -> None:
        self._trim = None
        if not self._connections:
            self.budget.peak = 0
            give_memory_back()

    async def _finish(self, connection: _Connection) -> None:
        utterance, stream = connection.utterance, connection.stream
        self._end_utterance(connection)
        self.requests += 1
        if utterance is None or not utterance.samples:
            _LOGGER.info("Wyoming client %s: audio-stop without audio; empty transcript", connection)
            await self._send_transcript(connection, "", stream)
            return
        error = self._refusal(utterance)
        if error is None:
            try:
                prompt = connection.prompt if self.settings.use_prompt else None
                future = self.transcriber.submit(utterance.pcm(), SAMPLE_RATE, prompt)
            except Busy:
                _LOGGER.warning("queue full: refused a Wyoming request from %s", connection)
                error = Error("server busy", code="busy")
        if error is not None:
            await _send(connection, error.event())
            return
        replied = asyncio.get_running_loop().create_future()  # what stop() waits for: the reply, sent
        self._in_flight.add(replied)
        try:
            await self._reply(connection, utterance, await future, stream)
        finally:
            self._in_flight.discard(replied)
            replied.set_result(None)

    def _refusal(self, utterance: Utterance) -> Optional[Error]:
        if utterance.too_long:
            return Error(f"audio too long: more than {utterance.max_seconds:g} s", code="audio-too-long")
        if self._stopping:
            return Error("server is shutting down", code="stopping")
        return None

    async def _reply(self, connection: _Connection, utterance: Utterance, outcome: Any,
                     stream: Optional[TranscriptStream]) -> None:
        if outcome.error is not None:
            if stream is not None:
                stream.closed = True
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
        await self._send_transcript(connection, text, stream)

    async def _send_transcript(self, connection: _Connection, text: str, stream: Optional[TranscriptStream]) -> None:
        """`transcript`; when streaming, after transcript-start and the last chunk, then `transcript-stop`."""
        if stream is not None:
            chunk = stream.final(text)
            if not stream.started:
                stream.started = True
                await _send(connection, TranscriptStart(language=self._language()).event())
            if chunk:
                await _send(connection, TranscriptChunk(chunk).event())
        await _send(connection, Transcript(text=text, language=self._language()).event())
        if stream is not None:
            await _send(connection, TranscriptStop().event())


async def _send(connection: _Connection, event: Event) -> None:
    try:
        await async_write_event(event, connection.writer)
    except (ConnectionError, RuntimeError):  # RuntimeError: the transport is already closed
        _LOGGER.debug("Wyoming client %s left before its %s was sent", connection, event.type)


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    return f"{address[0]}:{address[1]}" if address else "unknown"

