"""`va server`: the speech-to-text websocket server.

The model loads once in start(); a single worker thread (va.server.transcriber) decodes for every
client, batching what is queued. The event loop only parses frames and routes replies, so
every connected client keeps being served while the model works.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import logging
import time
from typing import Any, Callable, Optional, Set

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from va.config import ConfigError
from va.config.settings import ServerSettings, Settings
from va.language.grammar import GrammarRegistry
from va.protocol import AudioInput, Error, Hello, ProtocolError, Ready, parse_client_message
from va.server.connection import Client
from va.server.drain import close_clients, refuse_while_draining
from va.server.federation import Federation, start_federation
from va.server.http import authorized, json_response, request_path, server_full, ssl_context, unauthorized
from va.server.limits import ACCEPT_BATCH, Burst, capped_connection, connection_limits, quiet_accept_errors
from va.server.relay import RelayHub
from va.server.replies import judge_for, transcript_reply
from va.server.stream import StreamRequest, Streams
from va.server.transcriber import Busy, Transcriber
from va.stt import create_engine
from va.stt.base import Engine

_LOGGER = logging.getLogger(__name__)

# ServerSettings fields that change the loaded model; a reload with other values loads a new one.
_ENGINE_FIELDS = ("engine", "model", "device", "language", "compute_type", "beam_size", "speech_window")
# Fields only a restart applies: they are baked into the listening socket or the queue.
_RESTART_FIELDS = ("host", "port", "tls", "queue_size", "max_message_bytes", "max_connections", "wyoming", "broker")
_INCOMING_FRAMES = 4  # frames websockets buffers per connection before TCP holds back the rest


class SpeechServer:
    """The va-server service (see va.service.daemon.run_service): start, run, stop, reload."""

    name = "va-server"

    def __init__(self, settings: Settings, engine_factory: Optional[Callable[[ServerSettings], Engine]] = None) -> None:
        self.settings = settings
        self._engine_factory = engine_factory or create_engine
        self._transcriber: Optional[Transcriber] = None
        self._server: Optional[Server] = None
        self._address: tuple = ("", 0)
        self._clients: Set[Client] = set()
        self._replies: Set[asyncio.Task] = set()
        self._max_clients = 0  # set by start(): server.max_connections, or less if fds are short
        self._bursts = [Burst("refused %d connection(s) with a missing or wrong token, the last from %s"),
                        Burst("refused %d connection(s): %d clients is the connection cap (server.max_connections)")]
        self._stopping = False
        self._stopped = asyncio.Event()
        self._started_at = time.monotonic()
        self.relay = RelayHub(_push)
        """The directory of clients and the commands relayed between them (va.server.relay)."""
        self.wyoming: Optional[Any] = None
        """The Wyoming endpoint (va.server.wyoming.WyomingEndpoint) when server.wyoming.port is set."""
        self.federation: Optional[Federation] = None
        """The other servers' clients, through server.broker (va.server.federation); None: off."""

    @property
    def _worker(self) -> Transcriber:
        """The transcriber, which start() made before the server listens."""
        if self._transcriber is None:
            raise RuntimeError("the server is not started")
        return self._transcriber

    # -- Service interface ------------------------------------------------------------------

    async def start(self) -> None:
        """Load the model (in a thread), start the worker, then listen."""
        config = self.settings.server
        _LOGGER.info("loading %s model %s on %s", config.engine, config.model, config.device)
        engine = await asyncio.to_thread(self._engine_factory, config)
        self._transcriber = Transcriber(engine, config.queue_size, config.batch_size)
        self._transcriber.start()
        self._max_clients, tcp_limit = connection_limits(config.max_connections)
        self._bursts.append(quiet_accept_errors(asyncio.get_running_loop()))
        try:
            self._server = await serve(
                self._handle,
                config.host,
                config.port,
                process_request=self._process_request,
                max_size=config.max_message_bytes,
                max_queue=_INCOMING_FRAMES,
                create_connection=capped_connection(tcp_limit),
                backlog=ACCEPT_BATCH,
                ssl=ssl_context(config.tls.cert, config.tls.key),
            )
            await self._start_wyoming(config)
            self.federation = await start_federation(self.relay, config.broker)
        except BaseException:  # port taken, bad certificate, cancelled: do not leave the worker behind
            if self._server is not None:
                self._server.close()
            await asyncio.to_thread(self._transcriber.close)
            raise
        self._address = self._server.sockets[0].getsockname()[:2]  # kept: sockets empty after close
        self._started_at = time.monotonic()
        _LOGGER.info("listening on %s (%s)", self.url, self.status())

    async def _start_wyoming(self, config: Any) -> None:
        if config.wyoming.port is None:
            return
        try:
            from va.server.wyoming import WyomingEndpoint  # imported late: the wyoming package is optional
        except ImportError as error:
            raise RuntimeError(f"server.wyoming.port is set but {error}: pip install 'va[server]'") from error
        assert self._transcriber is not None
        self.wyoming = WyomingEndpoint(self._transcriber, config)
        await self.wyoming.start()

    async def run(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        """Drain, for a balancer or a client's other URLs: /health and new websockets get 503,
        the requests in flight are answered, then the clients are closed with 1012 (service
        restart), which sends them straight to another server with what was left unanswered.
        The Wyoming endpoint stops accepting and answers its utterances in flight first."""
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        self.relay.close()
        if self.federation is not None:
            await self.federation.stop()
        if self._server is not None:
            if self.wyoming is not None:  # Home Assistant cannot be redirected: it retries later
                await self.wyoming.stop()
            if self._replies and self.healthy():  # a dead worker would never answer them
                _LOGGER.info("draining: finishing %d requests in flight", len(self._replies))
                await asyncio.wait(set(self._replies))
            await close_clients([client.connection for client in self._clients])
            self._server.close()
            await self._server.wait_closed()
        if self._transcriber is not None:
            await asyncio.to_thread(self._transcriber.close)
        for burst in self._bursts:
            burst.flush()
        _LOGGER.info("stopped after %d transcripts", self.served)
        self._stopped.set()

    async def reload(self, settings: Settings) -> None:
        """Apply new settings, all or nothing: a changed model is loaded first, and when it cannot
        be, ConfigError says so and the running settings stay whole (token included)."""
        old, new = self.settings.server, settings.server
        for name in _RESTART_FIELDS:
            if getattr(old, name) != getattr(new, name):
                _LOGGER.warning("server.%s changed: restart va-server to apply it", name)
        if self._transcriber is not None:
            if any(getattr(old, name) != getattr(new, name) for name in _ENGINE_FIELDS):
                _LOGGER.info("loading %s model %s on %s", new.engine, new.model, new.device)
                try:
                    self._transcriber.engine = await asyncio.to_thread(self._engine_factory, new)
                except Exception as error:
                    _LOGGER.debug("loading the new model failed", exc_info=True)
                    raise ConfigError(f"server.model {new.model!r} ({new.engine} on {new.device}) cannot be "
                                      f"loaded, so nothing of the new configuration is applied: {error}") from None
            self._transcriber.batch_size = max(1, new.batch_size)
        if self.wyoming is not None:
            self.wyoming.settings = dataclasses.replace(new, wyoming=old.wyoming)  # its address needs a restart
        self.settings = settings
        _LOGGER.info("settings reloaded: %s", self.status())

    def status(self) -> str:
        if self._transcriber is None:
            return "starting"
        engine = self._transcriber.engine
        clients = len(self._clients)
        wyoming = f", {self.wyoming.health()['clients']} Wyoming" if self.wyoming is not None else ""
        return (
            f"{engine.model} on {engine.device} ({engine.name}), "
            f"{clients} client{'' if clients == 1 else 's'}{wyoming}, {self.served} served"
        )

    def healthy(self) -> bool:
        return self._transcriber is not None and self._transcriber.alive

    # -- What tests and logs need ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return self._address[1]

    @property
    def url(self) -> str:
        """Where clients connect, e.g. ws://127.0.0.1:8001."""
        scheme = "wss" if self.settings.server.tls.cert else "ws"
        host = self._address[0]
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the worker or being decoded."""
        return self._transcriber.depth if self._transcriber else 0

    @property
    def served(self) -> int:
        return self._transcriber.served if self._transcriber else 0

    # -- HTTP: health and token -------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        if request_path(request) == "/health":
            return self._health(connection)
        if self._stopping:  # a balancer retries it on another server
            return refuse_while_draining(connection)
        token = self.settings.token
        if token and not authorized(request, token):
            self._bursts[0].hit(_peer(connection))
            return unauthorized(connection)
        if len(self._clients) >= self._max_clients:
            self._bursts[1].hit(self._max_clients)
            return server_full(connection)
        return None

    def _health(self, connection: ServerConnection) -> Response:
        healthy = self.healthy() and not self._stopping
        engine = self._transcriber.engine if self._transcriber else None
        body = {
            "status": "ok" if healthy else ("stopping" if self._stopping else "unhealthy"),
            "engine": getattr(engine, "name", None),
            "model": getattr(engine, "model", None),
            "device": getattr(engine, "device", None),
            "queue_depth": self.queue_depth,
            "uptime_s": round(time.monotonic() - self._started_at, 1),
            "clients": len(self._clients),
            "served": self.served,
            "wyoming": self.wyoming.health() if self.wyoming is not None else None,
            "broker": self.federation.health() if self.federation is not None else None,
        }
        return json_response(connection, http.HTTPStatus.OK if healthy else http.HTTPStatus.SERVICE_UNAVAILABLE, body)

    # -- Websocket ------------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        client = Client(connection, _peer(connection), self.settings.server.max_in_flight)
        self._clients.add(client)
        _LOGGER.debug("%s connected", client)
        try:
            async for frame in connection:
                await self._on_frame(client, await client.admit(), frame)
        except ConnectionClosed as closed:
            _LOGGER.debug("%s went away: %s", client, closed)
        finally:
            if client.streams is not None:
                client.streams.close()
            self._clients.discard(client)
            await self.relay.left(client)
            _LOGGER.debug("%s disconnected", client)

    async def _on_frame(self, client: Client, seq: int, frame: Any) -> None:
        """Answer frame number `seq`: requests in frame order (va.server.connection); relay events
        (va.protocol.relay) are no requests: they are handled at once and answered, if at all, apart."""
        if client.streams is not None and isinstance(frame, (bytes, bytearray, memoryview)):
            self._on_stream(client, seq, bytes(frame))
            return
        try:
            event = parse_client_message(frame)
        except ProtocolError as error:
            _LOGGER.info("bad message from %s: %s", client, error.message)
            self._answer(client, seq, Error(error.message, error.id))
            return
        if isinstance(event, Hello):
            await self._on_hello(client, seq, event)
        elif isinstance(event, AudioInput):
            self._on_audio(client, seq, event)
        else:
            client.skip()
            await self.relay.on_event(client, event)

    def _answer(self, client: Client, seq: int, reply: Any) -> asyncio.Task:
        """Send `reply` (an event, or a coroutine that gives one) after the client's earlier replies."""
        task = client.answer(seq, reply if asyncio.iscoroutine(reply) else _ready(reply))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)
        return task

    async def _on_hello(self, client: Client, seq: int, hello: Hello) -> None:
        if hello.client:  # printable and short: va.protocol saw to it
            client.name = f"{hello.client}@{_peer(client.connection)}"
        client.prompt = hello.prompt()
        client.keyword = hello.keyword
        client.grammar = GrammarRegistry(hello.grammar) if hello.grammar is not None else None
        _LOGGER.debug("%s says hello; prompt %r", client, client.prompt)
        engine = self._worker.engine
        if hello.stream >= 1 and client.streams is None:
            client.streams = Streams()
        ready = Ready(engine.name, engine.model, 1 if client.streams is not None else 0)
        await asyncio.wait({self._answer(client, seq, ready)})  # ready first
        await self.relay.hello(client, hello)

    def _on_stream(self, client: Client, seq: int, frame: bytes) -> None:
        """A frame of a streamed phrase (va.server.stream)."""
        asked = client.streams.take(frame, self.settings.server.max_audio_seconds)
        if isinstance(asked, StreamRequest):
            client.streams.checking(asked.audio.id, self._on_audio(client, seq, asked.audio, asked.partial))
        elif asked is not None:
            self._answer(client, seq, asked)
        else:
            client.skip()

    def _on_audio(self, client: Client, seq: int, audio: AudioInput, partial: bool = False) -> Optional[asyncio.Future]:
        """Queue `audio` (``partial``: a streamed phrase so far, refused quietly when busy); the
        queued request's future (cancelling it drops the request before it is decoded), or None."""
        config = self.settings.server
        _LOGGER.debug("%s sent %.2f s of audio at %d Hz (id %r)", client, audio.duration, audio.rate, audio.id)
        if audio.duration > config.max_audio_seconds:
            message = f"audio too long: {audio.duration:.1f} s (at most {config.max_audio_seconds:g} s)"
            self._answer(client, seq, Error(message, audio.id))
            return None
        if self._stopping:  # unanswered: the client sends it again after the 1012 close
            _LOGGER.debug("draining: left %r from %s for the next server", audio.id, client)
            client.skip()
            return None
        prompt = client.prompt if config.use_prompt else None
        try:
            future = self._worker.submit(audio.pcm, audio.rate, prompt, judge_for(config, client))
        except Busy:
            _LOGGER.log(logging.DEBUG if partial else logging.WARNING, "queue full: refused a request from %s", client)
            self._answer(client, seq, None if partial else Error("server busy", audio.id))  # a check goes without
            return None
        self._answer(client, seq, transcript_reply(client, audio, future, partial))
        return future


async def _ready(event: Any) -> Any:
    return event


async def _push(client: Client, event: Any) -> None:
    """Send what is not a reply (the relay's events): no seq, not in the reply order."""
    await client.send(event, None)


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "unknown"
