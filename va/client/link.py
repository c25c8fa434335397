"""The client's websocket to the speech server.

- Failover: the URLs are tried in order; the first that answers is used (``va.client.connect``).
- Reconnect: exponential backoff with jitter between rounds of tries; at once after a server
  that answered something dropped, or one that closed with 1001/1012/1013 (stopping, draining
  for a restart: behind a balancer the next try lands on another server).
- The phrases waiting for it (a bounded queue, exactly one reply each): ``va.client.outbox``.
  An ``error`` reply drops the phrase (no retry loop).

Audio travels as ``audio_input`` JSON with base64, or, to a server whose ``ready`` offers it,
streamed while it is heard: ``open_stream`` / ``stream`` / ``cancel``, then
``submit(phrase, stream=id)`` closes it with an END frame (``va.client.streams``); after a
reconnect its phrase goes whole as ``audio_input`` with the same id.
Everything here runs on the event loop; ``submit`` is not thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Optional, Sequence, Tuple

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from va.client.connect import LinkOptions, backoff_delay, open_connection
from va.client.listener import Phrase
from va.client.outbox import MAX_ATTEMPTS, Outbox, Reply
from va.client.streams import Streams
from va.protocol import AudioInput, Error, Hello, ProtocolError, Ready, Transcript, parse_server_message
from va.protocol.heard import measure
from va.protocol.stream import AudioChunk

_LOGGER = logging.getLogger(__name__)

__all__ = ["MAX_ATTEMPTS", "LinkOptions", "Reply", "ServerLink", "backoff_delay"]

_RESTARTING = (CloseCode.GOING_AWAY, CloseCode.SERVICE_RESTART, CloseCode.TRY_AGAIN_LATER)
"""Close codes of a server that stops or drains (1001, 1012, 1013): reconnect now, no backoff."""


class ServerLink:
    """One websocket to the first reachable server, kept open; see the module's docstring."""

    def __init__(
        self,
        urls: Sequence[str],
        hello: Hello,
        on_reply: Callable[[Phrase, Reply, float], None],
        on_drop: Callable[[Phrase, str], None] = lambda phrase, why: None,
        *,
        on_event: Callable[[Any], None] = lambda event: None,
        options: LinkOptions = LinkOptions(),
        on_partial: Callable[[Transcript, float], None] = lambda transcript, received_at: None,
    ) -> None:
        """``on_reply(phrase, reply, received_at)`` gets each phrase's one reply (``received_at``
        is ``time.monotonic()``); ``on_drop(phrase, why)`` each phrase that will get none;
        ``on_event(event)`` every other event (``ready`` on each connection, va.protocol.relay)."""
        self._urls = tuple(urls)
        self._token = options.token
        self._hello = hello
        self._on_reply = on_reply
        self._on_event = on_event
        self._on_partial = on_partial
        self._options = options
        self.streaming = False
        """The server on this connection takes streamed audio (its ready said so)."""
        self._outbox = Outbox(options.queue_size, options.max_size, on_drop)
        self._streams = Streams(self._outbox)
        self._wake = asyncio.Event()
        self._closing = False
        self._connection: Optional[ClientConnection] = None
        self._reachable = True  # until a round of tries fails: then failures are logged at debug
        self._closer: Optional[asyncio.Future] = None
        self._without_hello: set = set()
        """URLs of servers that closed the connection on our hello (the seed snippet asserts that
        every message is audio_input): they get the plain protocol."""
        self.url: Optional[str] = None
        """The server's URL while connected."""
        self.connected = asyncio.Event()
        self.connections = 0
        """Connections opened so far (the first one included)."""

    @property
    def pending(self) -> int:
        """Phrases waiting for a reply: queued or in flight."""
        return len(self._outbox)

    def open_stream(self) -> Optional[int]:
        """An id to stream a phrase under, or None when this server takes no streams."""
        return self._streams.open() if self.streaming else None

    def stream(self, stream_id: int, pcm: bytes = b"", check: bool = False) -> bool:
        """More of a stream's audio (``check``: then read what came so far); False when the
        stream is gone (the connection it lived on dropped)."""
        return self._streams.send(AudioChunk(stream_id, pcm, check=check))

    def cancel(self, stream_id: Optional[int]) -> None:
        """Forget a stream: no reply will come."""
        if stream_id is not None:
            self._streams.cancel(stream_id)

    def submit(self, phrase: Phrase, stream: Optional[int] = None) -> None:
        """Queue a phrase for the server (on the event loop's thread); ``stream``: the id its
        audio was streamed under (``open_stream``): its END goes right after its audio, or, when
        that stream is gone with its connection, the whole phrase under the same id."""
        if stream is not None and self._streams.end(phrase, stream):
            return
        self._outbox.add(phrase, stream)
        if not self.connected.is_set():
            _LOGGER.info("Holding a phrase until the server is back (%d waiting)", self._outbox.queued)

    def configure(self, urls: Sequence[str], token: Optional[str]) -> None:
        """New server URLs or token: reconnect if they changed (phrases in flight are resent)."""
        if tuple(urls) == self._urls and token == self._token:
            return
        self._urls, self._token = tuple(urls), token
        _LOGGER.info("Server settings changed; reconnecting")
        self._wake.set()
        if self._connection is not None:
            self._closer = asyncio.ensure_future(self._connection.close(1001, "client settings changed"))

    async def set_hello(self, hello: Hello) -> None:
        """A new keyword or vocabulary: tell the server now (it takes a hello at any time)."""
        if hello == self._hello:
            return
        self._hello = hello
        if self._connection is not None and self.url not in self._without_hello:
            try:
                await self._connection.send(hello.to_json())
            except ConnectionClosed:
                pass  # the next connection starts with it

    async def send_event(self, event: Any) -> bool:
        """Send a control event now (va.protocol.relay); False when not connected (not queued)."""
        if self._connection is None:
            return False
        try:
            await self._connection.send(event.to_json())
        except ConnectionClosed:
            return False
        return True

    async def close(self) -> None:
        """Stop reconnecting and close the connection; unanswered phrases are dropped."""
        self._closing = True
        self._wake.set()
        if self._connection is not None:
            await self._connection.close(1001, "client stopping")

    async def run(self) -> None:
        """Connect, serve, reconnect, until ``close()``."""
        failures = 0
        while not self._closing:
            connected = await self._connect()
            if connected is not None and self._closing:  # close() came while connecting
                await connected[1].close(1001, "client stopping")
                break
            useful = False
            if connected is not None:
                useful = await self._serve(*connected)
            if useful:
                failures = 0
                continue  # it worked and then dropped: try again at once
            if self._closing:
                break
            delay = backoff_delay(failures, self._options.min_delay, self._options.max_delay, self._options.rand)
            # the first retry of an outage is news; the next ones go to the debug log
            _LOGGER.log(logging.INFO if failures == 0 else logging.DEBUG,
                        "Retrying the server in %.1f s (%d phrase(s) waiting)", delay, self.pending)
            failures += 1
            await self._sleep(delay)

    async def _connect(self) -> Optional[Tuple[str, ClientConnection]]:
        level = logging.WARNING if self._reachable else logging.DEBUG
        self._reachable = False
        for url in self._urls:
            if self._closing:
                return None
            connection = await open_connection(url, self._token, self._options, level)
            if connection is not None:
                self._reachable = True
                return url, connection
        return None

    async def _serve(self, url: str, connection: ClientConnection) -> bool:
        """Talk on one connection until it drops; True if the server answered anything."""
        self._connection, self.url = connection, url
        self.connections += 1
        self._streams.connection = self.connections
        self.connected.set()
        _LOGGER.info("Connected to %s", url)
        receiver = asyncio.ensure_future(self._receive(connection))
        sender = asyncio.ensure_future(self._send(connection))
        try:
            await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sender.cancel()
            receiver.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
            await self._disconnected(connection)
        failures = [task.exception() for task in (sender, receiver) if not task.cancelled() and task.exception()]
        for failure in failures:
            if not isinstance(failure, ConnectionClosed):
                _LOGGER.error("Connection to %s failed", url, exc_info=failure)
        answered = receiver.done() and not receiver.cancelled() and not receiver.exception() and receiver.result()
        if connection.close_code in _RESTARTING and not self._closing:
            _LOGGER.info("%s is restarting (close code %s); reconnecting at once", url, connection.close_code)
            return True
        if not self._closing:
            _LOGGER.warning("Disconnected from %s (%s)", url, connection.close_reason or connection.close_code or "closed")
        if not answered and connection.close_code == 1011 and url not in self._without_hello:
            # an internal error before any reply: a server that predates hello (the seed snippet)
            _LOGGER.warning("%s failed on the hello: an older server? Talking to it without hello", url)
            self._without_hello.add(url)
            self._outbox.forgive()  # those phrases were not the server's fault
            return True  # reconnect at once
        return answered

    async def _disconnected(self, connection: ClientConnection) -> None:
        self.connected.clear()
        self._connection = None
        self.streaming = False
        self._streams.clear()  # they lived on that connection
        await connection.close()
        if connection.close_code in _RESTARTING:
            # a draining server answered what it took; what it left was not the phrases' fault
            self._outbox.excuse()
        self._outbox.requeue()  # what was in flight goes first on the next connection

    async def _send(self, connection: ClientConnection) -> None:
        if self.url not in self._without_hello:
            await connection.send(self._hello.to_json())
        while True:
            await self._outbox.ready.wait()
            while True:
                frame = self._streams.next_frame()
                if frame is not None:
                    await connection.send(frame)
                    continue
                pending = self._outbox.next()  # clears ready when nothing is queued
                if pending is None:
                    break
                loudness = measure(pending.phrase.pcm)  # for the household's arbitration
                await connection.send(AudioInput(pending.phrase.pcm, id=pending.id, loudness=loudness).to_json())

    async def _receive(self, connection: ClientConnection) -> bool:
        """Read replies until the connection closes; True if any frame came."""
        answered = False
        try:
            async for frame in connection:
                answered = True
                self._on_frame(frame, time.monotonic())
        except ConnectionClosed:
            pass
        return answered

    def _on_frame(self, frame: Any, received_at: float) -> None:
        try:
            event = parse_server_message(frame)
        except ProtocolError as error:
            _LOGGER.warning("Ignoring a bad message from %s: %s", self.url, error)
            return
        if isinstance(event, Ready):
            self.streaming = event.stream >= 1
            _LOGGER.info("Server ready: %s %s%s", event.engine, event.model, " (streaming)" if self.streaming else "")
        if isinstance(event, Transcript) and event.partial:
            self._handle_event(event, self._on_partial, received_at)
            return
        if not isinstance(event, (Transcript, Error)):
            self._handle_event(event)
            return
        pending = self._outbox.take(event)
        if pending is None and isinstance(event, Error) and isinstance(event.id, str):
            self._handle_event(event)  # about a control event of ours (a relay request's id)
            return
        if pending is None:
            if isinstance(event, Error):
                _LOGGER.warning("Server error: %s", event.message)
            else:
                _LOGGER.debug("Ignoring a reply for %r: it is not in flight (already answered?)", event.id)
            return
        try:
            self._on_reply(pending.phrase, event, received_at)
        except Exception:  # noqa: BLE001 - a failing handler must not drop the connection
            _LOGGER.exception("Handling the reply to phrase %d failed", pending.id)

    def _handle_event(self, event: Any, handler: Optional[Callable[..., None]] = None, *more: Any) -> None:
        try:
            (handler or self._on_event)(event, *more)
        except Exception:  # noqa: BLE001 - a failing handler must not drop the connection
            _LOGGER.exception("Handling a %s event failed", getattr(event, "TYPE", "server"))

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()
