"""What one client, or many, may take from the server: connections, file descriptors, log lines.

- A connection cap below the file-descriptor limit: past `server.max_connections` websocket
  clients a newcomer gets HTTP 503 at once, and past the handshake limit (the cap plus room for
  /health and those 503s) a new TCP connection is dropped as soon as it is accepted, so accept()
  never runs out of descriptors. The soft RLIMIT_NOFILE is raised to the hard one at start.
- `Burst`: one log line for the first of a run of like events (a refused token, the cap reached,
  accept() failing), then one line with the count, instead of one line each.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Callable, Optional, Tuple

from websockets.asyncio.server import ServerConnection

_LOGGER = logging.getLogger(__name__)

FD_HEADROOM = 32
"""Descriptors kept free beyond the handshakes: log files, model files, a reload's new model."""
HANDSHAKE_ROOM = 32
"""TCP connections allowed beyond the websocket cap: /health checks and the 503s that refuse."""
ACCEPT_BATCH = 64
"""The listen backlog, which is also how many sockets asyncio may accept before the first of them
is counted: they must fit too."""
_MAX_SOFT_LIMIT = 1 << 16


def connection_limits(max_connections: int) -> Tuple[int, int]:
    """(websocket clients, TCP connections in all) that fit under the descriptor limit."""
    soft = _raise_fd_limit()
    in_use = _descriptors_in_use()
    tcp = max(2, soft - in_use - FD_HEADROOM - ACCEPT_BATCH)
    clients = min(max_connections, max(1, tcp - HANDSHAKE_ROOM))
    if clients < max_connections:
        _LOGGER.warning("server.max_connections lowered from %d to %d: the file-descriptor limit is %d "
                        "(raise LimitNOFILE= in the unit)", max_connections, clients, soft)
    return clients, min(tcp, max_connections + HANDSHAKE_ROOM)


def capped_connection(tcp_limit: int) -> type:
    """A ServerConnection class that drops a TCP connection accepted beyond `tcp_limit`."""
    dropped = Burst("dropped %d TCP connection(s) past the limit of %d (connection cap)", logging.WARNING)

    class CappedConnection(ServerConnection):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            if len(self.server.handler_tasks) > tcp_limit:
                dropped.hit(tcp_limit)
                self.transport.abort()

    return CappedConnection


class Burst:
    """Log the first event of a run at once, then the count of the rest once `window` s passed."""

    def __init__(self, message: str, level: int = logging.WARNING, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`message` has a %d for the count first, then the arguments given to hit()."""
        self._message, self._level, self._window, self._clock = message, level, window, clock
        self._count = 0
        self._args: tuple = ()
        self._since: Optional[float] = None
        self._timer: Optional[asyncio.TimerHandle] = None

    def hit(self, *args: Any) -> None:
        self._args = args
        if self._since is None:  # the first of a run: say it now
            self._since = self._clock()
            _LOGGER.log(self._level, self._message, 1, *args)
            self._schedule()
            return
        self._count += 1

    def flush(self) -> None:
        """Log the count held back (at the window's end, and on the way out)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._count:
            _LOGGER.log(self._level, self._message + " (in the last %.0f s)", self._count, *self._args,
                        self._clock() - (self._since or 0.0))
        self._count, self._since = 0, None

    def _schedule(self) -> None:
        try:
            self._timer = asyncio.get_running_loop().call_later(self._window, self.flush)
        except RuntimeError:  # no loop (a test calling hit() directly): flush() is called by hand
            self._timer = None


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> Burst:
    """Log accept() failures (EMFILE: out of descriptors) once a burst, not one traceback each."""
    failures = Burst("accept() failed %d time(s): %s (connection cap)", logging.ERROR)
    default = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if "accept" in str(context.get("message", "")):
            failures.hit(context.get("exception") or context.get("message"))
        elif default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    return failures


def _raise_fd_limit() -> int:
    try:
        import resource
    except ImportError:  # not POSIX
        return 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _MAX_SOFT_LIMIT if hard == resource.RLIM_INFINITY else min(hard, _MAX_SOFT_LIMIT)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            _LOGGER.debug("cannot raise the file-descriptor limit: %s", error)
    return _MAX_SOFT_LIMIT if soft == resource.RLIM_INFINITY else soft


def _descriptors_in_use() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64
