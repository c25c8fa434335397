"""Blocking calls that may never return, run so that they cannot hold the process.

``asyncio.to_thread`` runs in the loop's default executor, which ``asyncio.run`` joins on the way
out: one call stuck for good (a command module that hangs at import during a reload) would keep
the daemon from exiting after SIGTERM until systemd kills it. ``in_daemon_thread`` runs the call
in a thread of its own that the interpreter does not wait for; an awaiting task that is
cancelled stops waiting at once, and the thread is left to finish (or to die with the process).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Callable, TypeVar

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


async def in_daemon_thread(function: Callable[..., T], *args: Any, name: str = "va-blocking") -> T:
    """``await`` ``function(*args)`` run in a daemon thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the caller stopped waiting
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            outcome: tuple = (function(*args), None)
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting task
            outcome = (None, error)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: nobody waits any more
            _LOGGER.debug("%s finished after its event loop closed", name)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
