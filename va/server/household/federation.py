"""Commands across clients connected to different servers (behind a balancer), through a broker.

Each server (``server.broker.url`` set) holds one MQTT connection (va.server.household.broker) and:

- publishes its connected clients, retained, at ``<prefix>/servers/<id>/clients`` whenever they
  change (``{"server": id, "t": time, "clients": [directory entries], "verified": [names]}``,
  ``verified``: those that proved their names by their keys); its will, and its goodbye on stop,
  withdraw it (``"gone": true``), so a dead server's clients drop out of everyone's directory;
- subscribes to ``<prefix>/servers/+/clients`` and lists the others' clients in its own directory
  (va.server.household.relay), through a RemoteClient per name: its members see them like local
  ones. Entries are checked like a hello (va.protocol.relay.Peer: names printable and bounded), at
  most MAX_REMOTE_CLIENTS a server; a name with a key here (server.clients) is listed only when
  its server says it was verified;
- relays a ``run`` for a client of another server to ``<prefix>/servers/<to>/inbox/<from>``
  (``{"from": id, "t": time, "event": run}``, without the token); that server runs it through its own relay,
  with the origin standing for a RemoteClient, and sends the ``run_result`` back the same way.

The broker is not a way in: with ``server.broker.key_file`` every message is sealed
(va.server.household.sealed) and what is not sealed with that key, or is older than two minutes, is
dropped and logged; only a sealed ``gone`` withdraws a server's clients. With a username, the
server's id is that user, and deploy/mosquitto.acl lets each user publish on its own topics only
(its clients, and inboxes with its name last). No token ever travels on the broker.

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
import time
from typing import Any, ClassVar, Dict, Optional, Tuple

from va.errors import SetupError
from va.protocol import ProtocolError
from va.protocol.relay import Peer, Run, RunResult
from va.server.household.identities import Identities, read_key
from va.server.household.inbound import Inbound
from va.server.household.relay import RelayHub
from va.server.household.sealed import seal

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
    vouched_by_server: ClassVar[bool] = True
    """Whether a run's origin was verified is its server's word (sealed, else not taken)."""
    takes_ttl: ClassVar[bool] = True
    """The relay hub sends it a run with the time left to live: its server waits no longer."""

    def __str__(self) -> str:
        return f"{self.name}@{self.server}"

    async def send(self, event: Any, seq: Optional[int] = None) -> None:
        self.federation.send(self, event)

    def post(self, event: Any) -> None:
        """What the relay hub sends it (va.server.household.outbox): a broker message, queued by paho."""
        self.federation.send(self, event)


class Federation:
    def __init__(self, hub: RelayHub, settings: Any, server_id: Optional[str] = None,
                 identities: Optional[Identities] = None) -> None:
        from va.server.household.broker import BrokerLink, masked  # imported late: paho-mqtt is optional

        self.hub = hub
        self.id = server_id or _server_id(settings.username)
        self.identities = identities or Identities({})
        try:
            key = read_key(settings.key_file)
        except OSError as error:
            raise RuntimeError(f"server.broker.key_file: cannot read it: {error}") from None
        self._key = key.encode() if key is not None else None
        self._where = masked(settings.url)
        prefix = settings.topic_prefix.strip("/")
        self._clients_topic = f"{prefix}/servers/{{}}/clients"
        self._inbox_topic = f"{prefix}/servers/{{}}/inbox/{{}}"
        self._inbound = Inbound(self._key, self.identities)
        self._remote: Dict[Tuple[str, str], RemoteClient] = {}
        self._published: Optional[tuple] = None
        self._seen: Dict[str, float] = {}
        """Server id -> when its clients were last published (loop time)."""
        self._beat: Optional[asyncio.Task] = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._pump: Optional[asyncio.Task] = None
        mine = self._clients_topic.format(self.id)
        subscriptions = (self._clients_topic.format("+"), self._inbox_topic.format(self.id, "+"))
        self.link = BrokerLink(settings.url, self.id, subscriptions, (mine, self._gone()),
                               (settings.username, settings.password), settings.ca)

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._run())
        self._beat = asyncio.create_task(self._heartbeat())
        self.hub.on_change = self._publish
        self.link.start(lambda kind, value: self._queue.put_nowait((kind, value)))
        _LOGGER.info("sharing the directory through the broker %s as %s%s", self._where, self.id,
                     "" if self._key else " (messages not signed: server.broker.key_file is not set)")

    async def stop(self) -> None:
        self.hub.on_change = None
        await asyncio.to_thread(self.link.stop, (self._clients_topic.format(self.id), self._gone()))
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
            event = dataclasses.replace(event, target=to.name, token=None)  # no secret on the broker
        elif not isinstance(event, RunResult):
            return  # the directory: its server tells it
        topic = self._inbox_topic.format(to.server, self.id)
        envelope = {"from": self.id, "t": time.time(), "event": json.loads(event.to_json())}
        self.link.publish(topic, seal(self._key, topic, envelope))

    def _publish(self, force: bool = False) -> None:
        """This server's own clients, retained, when they changed (or after a reconnection)."""
        local = [(peer, client) for peer, client in self.hub.directory.connected() if not isinstance(client, RemoteClient)]
        mine = [peer.to_dict() for peer, _ in local]
        verified = [peer.name for peer, client in local if getattr(client, "identity", None) is not None]
        if self.link.connected and (force or (mine, verified) != self._published):
            topic = self._clients_topic.format(self.id)
            body = {"server": self.id, "t": time.time(), "clients": mine, "verified": verified}
            self.link.publish(topic, seal(self._key, topic, body), retain=True, expiry=int(EXPIRY))
            self._published = (mine, verified)

    def _gone(self) -> bytes:
        """The withdrawal of this server's clients (its will and its goodbye)."""
        if self._key is None:
            return b""
        topic = self._clients_topic.format(self.id)
        return seal(self._key, topic, {"server": self.id, "gone": True, "clients": []})

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
            _LOGGER.info("connected to the broker %s", self._where)
            self._publish(force=True)
        elif kind == "lost":
            _LOGGER.warning("lost the broker %s (%s): the clients of other servers read as offline", self._where, value)
            for server in {server for server, _ in self._remote}:
                await self._server_clients(server, ())
        else:
            topic, payload = value
            parts = topic.split("/")
            if topic == self._inbox_topic.format(self.id, parts[-1]):
                await self._inbox(topic, parts[-1], payload)
            elif topic == self._clients_topic.format(parts[-2]):
                await self._clients(topic, parts[-2], payload)

    async def _clients(self, topic: str, server: str, payload: bytes) -> None:
        if server == self.id:
            return
        if not payload:  # a retained message cleared (an older server's will, or anyone's)
            if self._key is not None:
                self._inbound.dropped.hit(topic, "an empty message withdraws nothing: a sealed 'gone' does")
                return
            await self._server_clients(server, ())
            return
        message = self._inbound.opened(topic, payload, server, dated=False)
        if message is None:
            return
        if message.get("gone") is True:
            await self._server_clients(server, ())
            return
        if self._inbound.opened(topic, payload, server) is None:
            return
        await self._server_clients(server, self._inbound.entries(server, message))

    async def _server_clients(self, server: str, peers: Tuple[Peer, ...]) -> None:
        """Make the directory list ``peers`` as the clients of ``server`` (none: it is gone)."""
        if peers:
            self._seen[server] = asyncio.get_running_loop().time()
        else:
            self._seen.pop(server, None)
        names = {peer.name for peer in peers}
        changed = False
        for key in [key for key in self._remote if key[0] == server and key[1] not in names]:
            await self.hub.left(self._remote.pop(key), broadcast=False)
            changed = True
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
            await self.hub.joined(remote, peer, broadcast=False)
            changed = True
        if changed:
            self.hub.changed()

    async def _inbox(self, topic: str, sender: str, payload: bytes) -> None:
        message = self._inbound.opened(topic, payload, sender)
        if message is None:
            return
        try:
            event = message["event"]
            parsed = Run.from_dict(event) if event.get("type") == Run.TYPE else RunResult.from_dict(event)
        except (ValueError, KeyError, TypeError, AttributeError, ProtocolError) as error:
            self._inbound.dropped.hit(topic, error)
            return
        if isinstance(parsed, Run) and self._key is None:
            parsed = dataclasses.replace(parsed, verified=None)  # unsealed: nobody's word
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


def _server_id(username: Optional[str] = None) -> str:
    """This process's name on the broker: its broker user (the ACL gives that user its own topics),
    else host, process id and a random tail (a restart is new)."""
    if username:
        return re.sub(r"[^A-Za-z0-9_.-]", "-", username)[:64]
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40] or "va"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


async def start_federation(hub: RelayHub, settings: Any, identities: Optional[Identities] = None) -> Optional[Federation]:
    """The federation of ``server.broker`` started (connecting in the background); None when off."""
    if settings.url is None:
        return None
    try:
        federation = Federation(hub, settings, identities=identities)
    except ImportError as error:
        raise SetupError(f"server.broker.url is set but {error}: pip install 'va[broker]'") from error
    await federation.start()
    return federation
