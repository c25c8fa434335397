"""Commands across clients connected to different servers (behind a balancer), through a broker.

Each server (``server.broker.url`` set) holds one MQTT connection (va.server.household.broker) and:

- publishes its connected clients, retained, at ``<prefix>/servers/<id>/clients`` whenever they
  change (``{"server": id, "clients": [directory entries]}``); its will, and its goodbye on stop,
  clear that message, so a dead server's clients drop out of everyone's directory;
- subscribes to ``<prefix>/servers/+/clients`` and lists the others' clients in its own directory
  (va.server.household.relay), through a RemoteClient per name: its members see them like local ones;
- relays a ``run`` for a client of another server to that server's ``<prefix>/servers/<id>/inbox``
  (``{"from": id, "event": run}``); that server runs it through its own relay, with the origin
  standing for a RemoteClient, and sends the ``run_result`` back to the origin's server's inbox.

The relay's rules hold across servers: a request waits at most its time-to-live (the target's
server gets the time left, and the origin's server waits for its answer once it was sent), its id makes it
run once (QoS 1 may deliver twice: the hub and the target both remember the id), and a target
behind a server that died, or behind a broker that went away, reads as offline. Local clients
never depend on the broker. One hop only: a server never forwards a request it got from another.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import secrets
import socket
from typing import Any, ClassVar, Dict, Optional, Tuple

from va.errors import SetupError
from va.protocol import ProtocolError
from va.protocol.relay import Peer, Run, RunResult
from va.server.household.relay import RelayHub

_LOGGER = logging.getLogger(__name__)

HEARTBEAT = 20.0
"""Seconds between two publications of a server's clients, changed or not."""
EXPIRY = 3 * HEARTBEAT
"""A server not heard of for that long is gone, with its clients (a will can be lost: a broker
that restarts from its persistence file never saw that server die); its retained message expires then too."""


@dataclasses.dataclass(eq=False)  # identity hash, like a connection
class RemoteClient:
    """A client connected to another server: what the relay hub sends it goes through the broker."""

    name: str
    server: str
    federation: Federation
    peer: Optional[Peer] = None
    takes_ttl: ClassVar[bool] = True
    """The relay hub sends it a run with the time left to live: its server waits no longer."""

    def __str__(self) -> str:
        return f"{self.name}@{self.server}"

    async def send(self, event: Any, seq: Optional[int] = None) -> None:
        self.federation.send(self, event)


class Federation:
    def __init__(self, hub: RelayHub, settings: Any, server_id: Optional[str] = None) -> None:
        from va.server.household.broker import BrokerLink  # imported late: paho-mqtt is optional

        self.hub = hub
        self.id = server_id or _server_id()
        prefix = settings.topic_prefix.strip("/")
        self._clients_topic = f"{prefix}/servers/{{}}/clients"
        self._inbox_topic = f"{prefix}/servers/{{}}/inbox"
        self._remote: Dict[Tuple[str, str], RemoteClient] = {}
        self._published: Optional[bytes] = None
        self._seen: Dict[str, float] = {}
        """Server id -> when its clients were last published (loop time)."""
        self._beat: Optional[asyncio.Task] = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._pump: Optional[asyncio.Task] = None
        mine = self._clients_topic.format(self.id)
        subscriptions = (self._clients_topic.format("+"), self._inbox_topic.format(self.id))
        self.link = BrokerLink(settings.url, self.id, subscriptions, mine, (settings.username, settings.password))

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._run())
        self._beat = asyncio.create_task(self._heartbeat())
        self.hub.on_change = self._publish
        self.link.start(lambda kind, value: self._queue.put_nowait((kind, value)))
        _LOGGER.info("sharing the directory through the broker %s as %s", self.link.url, self.id)

    async def stop(self) -> None:
        self.hub.on_change = None
        await asyncio.to_thread(self.link.stop, (self._clients_topic.format(self.id), b""))
        for task in (self._pump, self._beat):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def health(self) -> Dict[str, Any]:
        servers = {server for server, _ in self._remote}
        return {"connected": self.link.connected, "id": self.id, "servers": len(servers), "clients": len(self._remote)}

    # -- out ------------------------------------------------------------------------------------

    def send(self, to: RemoteClient, event: Any) -> None:
        """A Run for ``to`` (it gets its name as target), or a RunResult for the origin ``to``."""
        if isinstance(event, Run):
            event = dataclasses.replace(event, target=to.name)
        elif not isinstance(event, RunResult):
            return  # the directory: its server tells it
        envelope = {"from": self.id, "event": json.loads(event.to_json())}
        self.link.publish(self._inbox_topic.format(to.server), json.dumps(envelope).encode())

    def _publish(self, force: bool = False) -> None:
        """This server's own clients, retained, when they changed (or after a reconnection)."""
        mine = [peer.to_dict() for peer, client in self.hub.directory.connected() if not isinstance(client, RemoteClient)]
        payload = json.dumps({"server": self.id, "clients": mine}).encode()
        if self.link.connected and (force or payload != self._published):
            self.link.publish(self._clients_topic.format(self.id), payload, retain=True, expiry=int(EXPIRY))
            self._published = payload

    # -- in (one at a time, in the order they came) ---------------------------------------------

    async def _run(self) -> None:
        while True:
            kind, value = await self._queue.get()
            try:
                await self._handle(kind, value)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad message must not stop the others
                _LOGGER.exception("handling %s from the broker failed", kind)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            self._queue.put_nowait(("beat", None))

    async def _handle(self, kind: str, value: Any) -> None:
        if kind == "beat":
            self._publish(force=True)
            now = asyncio.get_running_loop().time()
            for server in [server for server, seen in self._seen.items() if now - seen > EXPIRY]:
                _LOGGER.warning("server %s was not heard of for %.0f s: its clients read as offline", server, EXPIRY)
                await self._server_clients(server, ())
        elif kind == "connected":
            _LOGGER.info("connected to the broker %s", self.link.url)
            self._publish(force=True)
        elif kind == "lost":
            _LOGGER.warning("lost the broker %s (%s): the clients of other servers read as offline", self.link.url, value)
            for server in {server for server, _ in self._remote}:
                await self._server_clients(server, ())
        else:
            topic, payload = value
            if topic == self._inbox_topic.format(self.id):
                await self._inbox(payload)
            elif topic.endswith("/clients"):
                await self._clients(topic.split("/")[-2], payload)

    async def _clients(self, server: str, payload: bytes) -> None:
        if server == self.id:
            return
        try:
            message = json.loads(payload) if payload else {}
            peers = tuple(Peer.from_dict(entry) for entry in message.get("clients", ()))
        except (ValueError, AttributeError, ProtocolError) as error:
            _LOGGER.warning("a bad directory from server %s: %s", server, error)
            return
        await self._server_clients(server, peers)

    async def _server_clients(self, server: str, peers: Tuple[Peer, ...]) -> None:
        """Make the directory list ``peers`` as the clients of ``server`` (none: it is gone)."""
        if peers:
            self._seen[server] = asyncio.get_running_loop().time()
        else:
            self._seen.pop(server, None)
        names = {peer.name for peer in peers}
        for key in [key for key in self._remote if key[0] == server and key[1] not in names]:
            await self.hub.left(self._remote.pop(key))
        for peer in peers:
            remote = self._remote.get((server, peer.name))
            if remote is not None and remote.peer is not None and remote.peer.to_dict() == peer.to_dict():
                continue
            holder = self.hub.directory.online(peer.name)
            if holder is not None and not isinstance(holder, RemoteClient):
                _LOGGER.warning("%s is connected here and to server %s: requests for it stay here", peer.name, server)
                continue
            remote = remote or RemoteClient(peer.name, server, self)
            remote.peer = peer
            self._remote[(server, peer.name)] = remote
            await self.hub.joined(remote, peer)

    async def _inbox(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            sender, event = message["from"], message["event"]
            parsed = Run.from_dict(event) if event.get("type") == Run.TYPE else RunResult.from_dict(event)
        except (ValueError, KeyError, TypeError, AttributeError, ProtocolError) as error:
            _LOGGER.warning("a bad message in this server's inbox: %s", error)
            return
        name = (parsed.origin if isinstance(parsed, Run) else parsed.target) or ""
        remote = self._remote.get((sender, name))
        if isinstance(parsed, Run) and (remote is None or self._elsewhere(parsed.target or "")):
            # an origin not listed yet, or a target that moved to a third server: one hop only
            offline = RunResult(parsed.id, "offline", error=f"{parsed.target} is offline", target=parsed.target)
            self.send(remote or RemoteClient(name, sender, self), offline)
        elif remote is not None:
            await self.hub.on_event(remote, parsed)
        else:
            _LOGGER.debug("a result from server %s for %s, who is not listed there", sender, name)

    def _elsewhere(self, name: str) -> bool:
        return isinstance(self.hub.directory.online(name), RemoteClient)


def _server_id() -> str:
    """This process's name on the broker: host, process id and a random tail (a restart is new)."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40] or "va"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


async def start_federation(hub: RelayHub, settings: Any) -> Optional[Federation]:
    """The federation of ``server.broker`` started (connecting in the background); None when off."""
    if settings.url is None:
        return None
    try:
        federation = Federation(hub, settings)
    except ImportError as error:
        raise SetupError(f"server.broker.url is set but {error}: pip install 'va[broker]'") from error
    await federation.start()
    return federation
