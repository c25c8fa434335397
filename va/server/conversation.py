"""Every client's websocket: frames in, replies out in frame order (va.server.connection).

A hello is answered with ready, audio goes to the worker (va.server.transcriber) and comes back
as a transcript (va.server.replies), streamed phrases are assembled (va.server.stream), and the
relay's events go to va.server.household.relay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Optional, Set

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from va.language.grammar_registry import GrammarRegistry
from va.protocol import AudioInput, Error, Hello, ProtocolError, Ready, parse_client_message
from va.server.connection import Client
from va.server.limits import Burst
from va.server.replies import judge_for, transcript_reply
from va.server.stream import StreamRequest, Streams
from va.server.transcriber import Busy

if TYPE_CHECKING:
    from va.server.app import SpeechServer

_LOGGER = logging.getLogger(__name__)


class Conversations:
    """The server's websocket handler: one conversation per connected client."""

    def __init__(self, server: SpeechServer) -> None:
        self._server = server
        self.clients: Set[Client] = set()
        self.replies: Set[asyncio.Task] = set()
        """Replies not sent yet (a draining server waits for them)."""
        self._bad = Burst("answered %d bad message(s), the last from %s: %s", logging.INFO)
        self._refused = Burst("refused %d hello(s) under a name bound to another key, the last from %s: %s")

    async def handle(self, connection: ServerConnection) -> None:
        client = Client(connection, peer(connection), self._server.settings.server.max_in_flight)
        client.identity, client.key_hash = getattr(connection, "va_identity", (None, None))
        self.clients.add(client)
        _LOGGER.debug("%s connected", client)
        try:
            async for frame in connection:
                await self._on_frame(client, await client.admit(), frame)
        except ConnectionClosed as closed:
            _LOGGER.debug("%s went away: %s", client, closed)
        finally:
            if client.streams is not None:
                client.streams.close()
            self.clients.discard(client)
            self._server.answers.left(client)
            await self._server.relay.left(client)
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
            self._bad.hit(client, error.message)  # escaped and bounded by ProtocolError; a flood is one line a minute
            self._answer(client, seq, Error(error.message, error.id))
            return
        if isinstance(event, Hello):
            await self._on_hello(client, seq, event)
        elif isinstance(event, AudioInput):
            self._on_audio(client, seq, event)
        else:
            client.skip()
            await self._server.relay.on_event(client, event)

    def _answer(self, client: Client, seq: int, reply: Any) -> asyncio.Task:
        """Send `reply` (an event, or a coroutine that gives one) after the client's earlier replies."""
        task = client.answer(seq, reply if asyncio.iscoroutine(reply) else _ready(reply))
        self.replies.add(task)
        task.add_done_callback(self.replies.discard)
        return task

    async def _on_hello(self, client: Client, seq: int, said: Hello) -> None:
        hello = await self._identified(client, seq, said)
        if hello is None:
            return
        if hello.client:  # printable and short: va.protocol saw to it
            client.name = f"{hello.client}@{peer(client.connection)}"
        client.prompt = hello.prompt()
        client.keyword = hello.keyword
        client.grammar = GrammarRegistry(hello.grammar) if hello.grammar is not None else None
        client.threshold = hello.threshold
        self._server.answers.hello(client, hello)
        _LOGGER.debug("%s says hello; prompt %r", client, client.prompt)
        engine = self._server.worker.engine
        if hello.stream >= 1 and client.streams is None:
            client.streams = Streams()
        ready = Ready(engine.name, engine.model, 1 if client.streams is not None else 0)
        await asyncio.wait({self._answer(client, seq, ready)})  # ready first
        if hello.left_out:
            _LOGGER.info("%s: %s", client, hello.left_out)
            await client.send(Error(hello.left_out), None)
        await self._server.relay.hello(client, hello)

    async def _identified(self, client: Client, seq: int, hello: Hello) -> Optional[Hello]:
        """The hello under the name this connection proved (None: refused, and the connection closed)."""
        why = self._server.identities.refusal(client.identity, hello.client)
        if why is None:
            return hello if hello.client or client.identity is None else dataclasses.replace(hello, client=client.identity)
        self._refused.hit(client, why)
        await asyncio.wait({self._answer(client, seq, Error(why))})
        await client.connection.close(1008, "name bound to another key")
        return None

    def _on_stream(self, client: Client, seq: int, frame: bytes) -> None:
        """A frame of a streamed phrase (va.server.stream)."""
        self._server.answers.streamed(client, frame)
        asked = client.streams.take(frame, self._server.settings.server.max_audio_seconds)
        if isinstance(asked, StreamRequest):
            client.streams.checking(asked.audio.id, self._on_audio(client, seq, asked.audio, asked.partial))
        elif asked is not None:
            self._answer(client, seq, asked)
        else:
            client.skip()

    def _on_audio(self, client: Client, seq: int, audio: AudioInput, partial: bool = False) -> Optional[asyncio.Future]:
        """Queue `audio` (``partial``: a streamed phrase so far, refused quietly when busy); the
        queued request's future (cancelling it drops the request before it is decoded), or None."""
        config = self._server.settings.server
        _LOGGER.debug("%s sent %.2f s of audio at %d Hz (id %r)", client, audio.duration, audio.rate, audio.id)
        if audio.duration > config.max_audio_seconds:
            message = f"audio too long: {audio.duration:.1f} s (at most {config.max_audio_seconds:g} s)"
            self._answer(client, seq, Error(message, audio.id))
            return None
        if self._server.stopping:  # unanswered: the client sends it again after the 1012 close
            _LOGGER.debug("draining: left %r from %s for the next server", audio.id, client)
            client.skip()
            return None
        prompt = client.prompt if config.use_prompt else None
        try:
            future = self._server.worker.submit(audio.pcm, audio.rate, prompt, judge_for(config, client, partial))
        except Busy:
            _LOGGER.log(logging.DEBUG if partial else logging.WARNING, "queue full: refused a request from %s", client)
            self._answer(client, seq, None if partial else Error("server busy", audio.id))  # a check goes without
            return None
        reply = transcript_reply(client, audio, future, partial)
        self._answer(client, seq, self._server.answers.settle(client, self._server.answers.heard(client, audio), reply))
        return future


def peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "unknown"


async def _ready(event: Any) -> Any:
    return event
