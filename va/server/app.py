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
from typing import Any, Callable, Optional

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from va.config import ConfigError
from va.config.settings import ServerSettings, Settings
from va.errors import SetupError
from va.server.connection import Client
from va.server.conversation import Conversations, peer
from va.server.drain import close_clients, refuse_while_draining
from va.server.household.answers import Answers
from va.server.household.arbitration_broker import start_arbitration_broker
from va.server.household.federation import Federation, RemoteClient, start_federation
from va.server.http import authorized, json_response, request_path, server_full, ssl_context, unauthorized
from va.server.limits import ACCEPT_BATCH, Burst, capped_connection, connection_limits, quiet_accept_errors
from va.server.household.identities import KEY_HEADER, Identities
from va.server.household.relay import RelayHub
from va.server.transcriber import Transcriber
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
        self._max_clients = 0  # set by start(): server.max_connections, or less if fds are short
        self._bursts = [Burst("refused %d connection(s) with a missing or wrong token, the last from %s"),
                        Burst("refused %d connection(s): %d clients is the connection cap (server.max_connections)"),
                        Burst("refused %d connection(s) with a key that no client in server.clients has, the last from %s")]
        self._stopping = False
        self._stopped = asyncio.Event()
        self._started_at = time.monotonic()
        self.identities = Identities(settings.server.clients)
        """Clients with keys of their own, and the names bound to them (va.server.household.identities)."""
        self.relay = RelayHub(_push, _evict)
        """The directory of clients and the commands relayed between them (va.server.household.relay)."""
        self.relay.token = settings.token
        self.answers = Answers(settings.server.arbitration, "local", self._remote_names)
        """One answer per phrase heard by several clients (va.server.household.answers)."""
        self._arbitration_broker: Optional[Any] = None
        self.conversations = Conversations(self)
        """Every client's websocket (va.server.conversation)."""
        self.wyoming: Optional[Any] = None
        """The Wyoming endpoint (va.server.homeassistant.wyoming.WyomingEndpoint) when server.wyoming.port is set."""
        self.federation: Optional[Federation] = None
        """The other servers' clients, through server.broker (va.server.household.federation); None: off."""

    @property
    def stopping(self) -> bool:
        """True once stop() began: the server drains."""
        return self._stopping

    @property
    def worker(self) -> Transcriber:
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
                self.conversations.handle,
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
            self.federation = await start_federation(self.relay, config.broker, self.identities)
            if self.federation is not None:
                self.answers.server_id = self.federation.id
                self._arbitration_broker = await start_arbitration_broker(self.answers, config.broker)
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
            from va.server.homeassistant.wyoming import WyomingEndpoint  # imported late: the wyoming package is optional
        except ImportError as error:
            raise SetupError(f"server.wyoming.port is set but {error}: pip install 'va[server]'") from error
        from va.server.homeassistant.handler import CommandHandler

        assert self._transcriber is not None
        self.wyoming = WyomingEndpoint(self._transcriber, config, CommandHandler(self.settings, self.relay))
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
        await self.relay.close()
        if self.federation is not None:
            await self.federation.stop()
        if self._arbitration_broker is not None:
            await self._arbitration_broker.stop()
        if self._server is not None:
            if self.wyoming is not None:  # Home Assistant cannot be redirected: it retries later
                await self.wyoming.stop()
            replies = self.conversations.replies
            if replies and self.healthy():  # a dead worker would never answer them
                _LOGGER.info("draining: finishing %d requests in flight", len(replies))
                await asyncio.wait(set(replies))
            await close_clients([client.connection for client in self.conversations.clients])
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
            self.wyoming.handler.configure(settings)
        self.answers.configure(new.arbitration)
        self.settings = settings
        self.relay.token = settings.token
        self._rotate_keys(new.clients)
        _LOGGER.info("settings reloaded: %s", self.status())

    def _rotate_keys(self, clients: dict) -> None:
        """New server.clients: a connection opened with a key that is no longer its client's is
        closed (1008); the client reconnects with the key its key_file holds now."""
        self.identities.configure(clients)
        for client in list(self.conversations.clients):
            if client.identity is not None and self.identities.holder_of(client.key_hash or "") != client.identity:
                _LOGGER.warning("%s's key changed (server.clients): closing its connection opened with the old one", client.identity)
                asyncio.ensure_future(client.connection.close(1008, "client key changed"))

    def status(self) -> str:
        if self._transcriber is None:
            return "starting"
        engine = self._transcriber.engine
        clients = len(self.conversations.clients)
        wyoming = f", {self.wyoming.health()['clients']} Wyoming" if self.wyoming is not None else ""
        return (
            f"{engine.model} on {engine.device} ({engine.name}), "
            f"{clients} client{'' if clients == 1 else 's'}{wyoming}, {self.served} served"
        )

    def _remote_names(self) -> set:
        """The other servers' clients in the directory: they may hear what ours hear."""
        return {peer.name for peer, client in self.relay.directory.connected() if isinstance(client, RemoteClient)}

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
        key = request.headers.get(KEY_HEADER)
        if key is not None:  # a client with a key of its own: the key, not the token, lets it in
            if not self._identify(connection, key):
                self._bursts[2].hit(peer(connection))
                return connection.respond(http.HTTPStatus.UNAUTHORIZED, "unknown client key (client.key_file)\n")
        elif self.settings.token and not authorized(request, self.settings.token):
            self._bursts[0].hit(peer(connection))
            return unauthorized(connection, request)
        if len(self.conversations.clients) >= self._max_clients:
            self._bursts[1].hit(self._max_clients)
            return server_full(connection)
        return None

    def _identify(self, connection: ServerConnection, key: str) -> bool:
        """Remember which client's key opened ``connection`` (va.server.conversation reads it)."""
        from va.server.household.identities import key_hash

        digest = key_hash(key)
        name = self.identities.holder_of(digest)
        if name is not None:
            connection.va_identity = (name, digest)  # type: ignore[attr-defined]
        return name is not None

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
            "clients": len(self.conversations.clients),
            "served": self.served,
            "wyoming": self.wyoming.health() if self.wyoming is not None else None,
            "broker": self.federation.health() if self.federation is not None else None,
        }
        return json_response(connection, http.HTTPStatus.OK if healthy else http.HTTPStatus.SERVICE_UNAVAILABLE, body)


async def _push(client: Client, event: Any) -> None:
    """Send what is not a reply (the relay's events): no seq, not in the reply order."""
    await client.send(event, None)


def _evict(client: Any, why: str) -> None:
    """A relay member that does not read (va.server.household.outbox): drop its connection now,
    without waiting on a closing handshake it would not read either."""
    transport = getattr(getattr(client, "connection", None), "transport", None)
    if transport is not None:
        transport.abort()

