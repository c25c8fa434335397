"""Announce the Wyoming endpoint over mDNS (`_wyoming._tcp`), as Home Assistant's own Wyoming
services do, so Home Assistant lists it under Settings → Devices & services → Discovered.

Off unless `server.wyoming.zeroconf` is true (the settings refuse it on a loopback address: an
announcement there would point Home Assistant at a port it cannot reach). Needs the `zeroconf`
package (`pip install 'va[zeroconf]'`).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any, Callable, Optional

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
_MDNS_GROUP = "224.0.0.251"


def _async_zeroconf(interfaces: list) -> Any:
    from zeroconf.asyncio import AsyncZeroconf

    return AsyncZeroconf(interfaces=interfaces)


ZEROCONF_FACTORY: Callable[[list], Any] = _async_zeroconf
"""Makes the AsyncZeroconf (tests put a fake here: no multicast leaves the machine in a test)."""


def announced_address(host: str) -> str:
    """The address to announce: `host` itself, or for a wildcard the one this machine's mDNS
    traffic leaves from (a UDP connect picks the route; it sends nothing)."""
    try:
        if not ipaddress.ip_address(host).is_unspecified:
            return host
    except ValueError:  # a name: announce what it resolves to
        return socket.gethostbyname(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((_MDNS_GROUP, 5353))
        return probe.getsockname()[0]


class Announcement:
    """`name._wyoming._tcp.local.` pointing at `host`:`port`, from start() until stop()."""

    def __init__(self, host: str, port: int, name: Optional[str] = None) -> None:
        self.address = announced_address(host)
        self.port = port
        self.name = name or f"va-{socket.gethostname().split('.')[0]}"
        self._zeroconf: Any = None
        self._info: Any = None

    async def start(self) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        self._info = AsyncServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}", port=self.port,
            parsed_addresses=[self.address], server=f"{self.name}.local.",
        )
        self._zeroconf = ZEROCONF_FACTORY([self.address])
        await self._zeroconf.async_register_service(self._info)
        _LOGGER.info("announced %s on %s:%d over mDNS", self._info.name, self.address, self.port)

    async def stop(self) -> None:
        if self._zeroconf is None:
            return
        try:
            await self._zeroconf.async_unregister_service(self._info)
        finally:
            await self._zeroconf.async_close()
            self._zeroconf = None
