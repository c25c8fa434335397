"""Opening the websocket to one server URL, and how long to wait between rounds of tries."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, Callable, Optional

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

_LOGGER = logging.getLogger(__name__)


def backoff_delay(attempt: int, min_delay: float, max_delay: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``attempt`` failed rounds (0 = the first): doubling from ``min_delay``
    up to ``max_delay``, then a random 50-100 % of that, so that clients do not all come back at once."""
    step = min(max_delay, min_delay * 2 ** min(attempt, 32))
    return step * (0.5 + 0.5 * rand())


@dataclass(frozen=True)
class LinkOptions:
    """How a ServerLink connects; the defaults are those of va.config's client and server sections."""

    token: Optional[str] = None
    """Sent as a bearer token (None: no authentication)."""
    key_file: Optional[str] = None
    """This client's own key (client.key_file), read at each connection (a rotated key is taken
    up without a restart) and sent in the X-VA-Key header; None: no key."""
    queue_size: int = 32
    """Most phrases waiting for the server; the oldest are dropped beyond that."""
    min_delay: float = 0.5
    """First wait before reconnecting, in seconds; it doubles up to ``max_delay``."""
    max_delay: float = 30.0
    max_size: int = 4 * 1024 * 1024
    """Largest websocket message, either way."""
    ssl_context: Any = None
    """For wss:// URLs (None: the system's defaults)."""
    open_timeout: float = 10.0
    rand: Callable[[], float] = random.random
    """The jitter's random source (tests pin it)."""

    @classmethod
    def from_settings(cls, settings: Any, ssl_context: Any = None) -> "LinkOptions":
        """From va.config.Settings."""
        client = settings.client
        return cls(settings.token, client.key_file, client.queue_size, client.reconnect_min_delay,
                   client.reconnect_max_delay, settings.server.max_message_bytes, ssl_context)


async def open_connection(url: str, token: Optional[str], options: LinkOptions, level: int) -> Optional[ClientConnection]:
    """The websocket to ``url``, or None (why is logged at ``level``; a malformed URL at ERROR)."""
    try:
        headers = credentials(token, options.key_file)
    except OSError as error:
        _LOGGER.error("Cannot connect to %s: cannot read client.key_file: %s", url, error)
        return None
    try:
        return await connect(
            url,
            additional_headers=headers,
            ssl=options.ssl_context if url.startswith("wss:") else None,
            max_size=options.max_size,
            open_timeout=options.open_timeout,
            proxy=None,  # the server is on the LAN; an HTTP proxy from the environment would be wrong
        )
    except InvalidStatus as error:
        status = error.response.status_code
        what = "the key (client.key_file)" if options.key_file else "the token"
        why = f"{what} was refused (HTTP 401)" if status == 401 else f"HTTP {status}"
        _LOGGER.log(level, "Cannot connect to %s: %s", url, why)
    except InvalidURI as error:
        _LOGGER.error("Cannot connect to %s: %s", url, error)
    except (OSError, InvalidHandshake, asyncio.TimeoutError) as error:
        _LOGGER.log(level, "Cannot connect to %s: %s", url, error or type(error).__name__)
    return None


def credentials(token: Optional[str], key_file: Optional[str]) -> Optional[dict]:
    """The headers that prove who connects: the bearer token and this client's own key."""
    from va.protocol.keys import KEY_HEADER, read_key

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    key = read_key(key_file)
    if key is not None:
        headers[KEY_HEADER] = key
    return headers or None
