"""The server link's task inside the `va client` service: waited on until it first connects,
then closed with the service. The link itself is ``va.client.link``."""

from __future__ import annotations

import asyncio
import logging
from typing import Optional, Sequence

from va.client.link import ServerLink

_LOGGER = logging.getLogger(__name__)


async def wait_connected(link: ServerLink, task: asyncio.Task[None], urls: Sequence[str]) -> None:
    """Until the link (running as ``task``) connects; raises what ended ``task`` first."""
    if not link.connected.is_set():
        _LOGGER.info("Waiting for the server at %s", ", ".join(urls))
    connected = asyncio.ensure_future(link.connected.wait())
    try:
        await asyncio.wait({connected, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        connected.cancel()
    if task.done():
        task.result()  # raises what killed it
        raise RuntimeError("the server link ended before it connected")


async def close_link(link: Optional[ServerLink], task: Optional[asyncio.Task[None]]) -> None:
    """Close the link (if made) and end its task."""
    if link is None:
        return
    await link.close()
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
