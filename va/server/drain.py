"""Graceful drain: what a stopping server tells the balancer and its clients.

While a server drains, `GET /health` answers 503 (the balancer takes it out of rotation) and a
new websocket handshake is refused with 503 (HAProxy's `retry-on 503` sends it to another
server; a client with several `server_url`s tries the next). When its requests in flight are
answered, every client is closed with 1012 "service restart": va clients reconnect at once,
through the balancer, and send again the phrases this server left unanswered.
"""

from __future__ import annotations

import asyncio
import http
import logging
from typing import Iterable

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode
from websockets.http11 import Response

_LOGGER = logging.getLogger(__name__)

RESTART_CODE = CloseCode.SERVICE_RESTART
"""1012: the server is restarting; reconnect (to another server) now."""


def refuse_while_draining(connection: ServerConnection) -> Response:
    response = connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "server is restarting\n")
    response.headers["Retry-After"] = "1"
    return response


async def close_clients(connections: Iterable[ServerConnection], reason: str = "service restart") -> None:
    """Close every connection with 1012, all at once (each waits for its closing handshake)."""
    connections = list(connections)
    if connections:
        _LOGGER.info("draining: closing %d client(s) with %d (%s)", len(connections), RESTART_CODE, reason)
        await asyncio.gather(*(connection.close(RESTART_CODE, reason) for connection in connections))
