"""Two servers' relays (va.server.household.relay + va.server.household.federation) sharing a real mosquitto.

In process, so the faults can be placed exactly: each server is a RelayHub with its Federation;
its clients are small fakes that record what the server sends them (the relay's own edge: a
connection with ``send``). The broker is real (Debian's mosquitto on a loopback port).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, List

import pytest

from test_broker_e2e import Mosquitto
from va.config import BrokerSettings
from va.protocol import Hello
from va.protocol.relay import Run, RunResult
from va.server.household import federation as federation_module
from va.server.household.federation import Federation, RemoteClient
from va.server.household.inbound import MAX_REMOTE_CLIENTS
from va.server.household.relay import RelayHub

pytestmark = pytest.mark.skipif(Mosquitto.missing(), reason="mosquitto is not installed (bash setup.sh test installs it)")

WAIT = 30.0


class FakeClient:
    def __init__(self, name: str) -> None:
        self.name, self.events = name, []  # type: ignore[var-annotated]

    async def send(self, event: Any, seq: Any = None) -> None:
        self.events.append(event)

    def got(self, kind: type) -> List[Any]:
        return [event for event in self.events if isinstance(event, kind)]


async def until(condition: Callable[[], Any], what: str) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class Server:
    def __init__(self, port: int, **credentials: str) -> None:
        self.hub = RelayHub(lambda client, event: client.send(event, None))
        settings = BrokerSettings(url=f"mqtt://127.0.0.1:{port}", topic_prefix="t", **credentials)
        self.federation = Federation(self.hub, settings)

    async def __aenter__(self) -> Server:
        await self.federation.start()
        await until(lambda: self.federation.link.connected, "the broker connection")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.federation.stop()

    async def join(self, name: str) -> FakeClient:
        client = FakeClient(name)
        await self.hub.hello(client, Hello("computer", ("turn on",), name, relay=True))
        return client

    def lists(self, name: str) -> bool:
        return isinstance(self.hub.directory.online(name), RemoteClient)

    def crash(self) -> None:
        """Gone without a goodbye: the broker sees the connection drop and publishes the will."""
        client = self.federation.link._client  # the edge: paho's socket
        client.loop_stop()
        client.socket().close()


@pytest.fixture
def broker(tmp_path):
    mosquitto = Mosquitto(tmp_path)
    yield mosquitto
    mosquitto.stop()


def test_a_run_crosses_servers_once_even_when_delivered_twice(broker):
    async def scenario() -> None:
        async with Server(broker.port) as one, Server(broker.port) as two:
            living, kitchen = await one.join("living-room"), await two.join("kitchen")
            await until(lambda: one.lists("kitchen") and two.lists("living-room"), "each other's clients")
            sent: List[bytes] = []
            publish = one.federation.link.publish
            one.federation.link.publish = lambda topic, payload, **kw: sent.append(payload) or publish(topic, payload, **kw)  # type: ignore[method-assign]
            run = Run("r1", "turn_on", {"device": "the radio"}, target="kitchen", ttl=5.0)
            await one.hub.on_event(living, run)
            await one.hub.on_event(living, run)  # the origin asks again after a reconnection
            envelope = {"from": one.federation.id, "event": json.loads(Run("r1", "turn_on", target="kitchen", origin="living-room").to_json())}
            one.federation.link.publish(f"t/servers/{two.federation.id}/inbox/{one.federation.id}", json.dumps(envelope).encode())  # QoS 1 twice
            await until(lambda: kitchen.got(Run), "the run in the kitchen")
            ttl = [json.loads(p)["event"].get("ttl") for p in sent if json.loads(p)["event"]["type"] == "run"][0]  # then the test's copy
            assert 0 < ttl <= 5.0  # the time the origin has left, not the other server's default (10 s)
            await asyncio.sleep(0.5)  # time for a second delivery, if there were one
            assert [(r.id, r.origin, r.args) for r in kitchen.got(Run)] == [("r1", "living-room", {"device": "the radio"})]
            await two.hub.on_event(kitchen, RunResult("r1", "ok", "turn_on done"))
            await until(lambda: living.got(RunResult), "the answer in the living room")
            assert living.got(RunResult) == [RunResult("r1", "ok", "turn_on done", target="kitchen")]

    asyncio.run(scenario())


def test_a_server_that_dies_takes_its_clients_offline_and_its_request_answers_offline(broker):
    async def scenario() -> None:
        async with Server(broker.port) as one:
            two = Server(broker.port)
            await two.__aenter__()
            living, kitchen = await one.join("living-room"), await two.join("kitchen")
            await until(lambda: one.lists("kitchen"), "the kitchen on server one")
            await one.hub.on_event(living, Run("r2", "turn_on", target="kitchen", ttl=1.0))
            await until(lambda: kitchen.got(Run), "the run in the kitchen")
            two.crash()  # before the kitchen answers
            await until(lambda: one.hub.directory.online("kitchen") is None, "the kitchen to go offline")
            await until(lambda: living.got(RunResult), "the answer")
            [answer] = living.got(RunResult)
            assert (answer.outcome, answer.error) == ("offline", "kitchen went offline before answering (it may have run)")
            await one.hub.on_event(living, Run("r3", "turn_on", target="kitchen"))
            await until(lambda: len(living.got(RunResult)) == 2, "the second answer")
            assert living.got(RunResult)[1].error == "kitchen is offline"  # at once

    asyncio.run(scenario())


def test_a_server_not_heard_of_expires_with_its_clients(broker, monkeypatch):
    monkeypatch.setattr(federation_module, "HEARTBEAT", 0.2)
    monkeypatch.setattr(federation_module, "EXPIRY", 1.0)

    async def scenario() -> None:
        async with Server(broker.port) as one, Server(broker.port) as ghost:
            await ghost.join("attic")
            await until(lambda: one.lists("attic"), "the attic on server one")
            ghost.federation._beat.cancel()  # it stops publishing, and its will is never sent
            await until(lambda: one.hub.directory.online("attic") is None, "the attic to expire")
            peers = {peer.name: peer.online for peer in one.hub.directory.snapshot().clients}
            assert peers["attic"] is False

    asyncio.run(scenario())


def test_the_broker_lets_in_only_its_users(tmp_path, caplog):
    """deploy/mosquitto.conf as shipped: a password file, no anonymous clients."""
    mosquitto = Mosquitto(tmp_path, {"va1": "right", "va2": "also-right"})

    async def scenario() -> None:
        async with Server(mosquitto.port, username="va1", password="right") as one:
            intruder = Server(mosquitto.port, username="va2", password="wrong")
            await intruder.federation.start()
            await until(lambda: "refused the connection" in caplog.text, "the broker to refuse the wrong password")
            await intruder.federation.stop()
            assert one.federation.link.connected and not intruder.federation.link.connected

    try:
        asyncio.run(scenario())
    finally:
        mosquitto.stop()


def test_with_the_broker_key_a_forged_entry_or_withdrawal_is_dropped_and_no_token_is_on_the_broker(broker, tmp_path, caplog):
    """An open broker (no ACL: the layer under it is off), servers sealing with the broker key:
    a forged entry that claims the kitchen, and an empty message that withdraws the kitchen's
    server, are dropped and logged; the kitchen stays listed and gets the run, and neither the
    token nor anything unsealed travels on the broker."""
    key_file = tmp_path / "broker.key"
    key_file.write_text("the-household-broker-key\n")
    sniffed: List[tuple] = []

    async def scenario() -> None:
        async with Server(broker.port, key_file=str(key_file)) as one, Server(broker.port, key_file=str(key_file)) as two:
            sniffer = Server(broker.port)  # no key: an anonymous broker client
            sniffer.federation.link._subscriptions = ("#",)  # the edge: what paho subscribes to
            sniffer.federation._handle = lambda kind, value: _record(sniffed, kind, value)  # type: ignore[method-assign]
            await sniffer.federation.start()
            living, kitchen = await one.join("living-room"), await two.join("kitchen")
            await until(lambda: one.lists("kitchen"), "the kitchen at server one")
            forged = {"server": "evil", "clients": [{"name": "kitchen", "online": True, "commands": ["turn on"]}]}
            sniffer.federation.link.publish("t/servers/evil/clients", json.dumps(forged).encode(), retain=True)
            sniffer.federation.link.publish(f"t/servers/{two.federation.id}/clients", b"", retain=True)
            await until(lambda: "dropped 1 message(s) from the broker" in caplog.text, "the forgery dropped")
            await asyncio.sleep(0.5)
            await one.hub.on_event(living, Run("r1", "turn_on", {"device": "the radio"}, target="kitchen", ttl=5.0, token="the-token"))
            await until(lambda: kitchen.got(Run), "the run in the kitchen")
            assert one.hub.directory.online("kitchen").server == two.federation.id  # the real one, throughout
            await sniffer.federation.stop()

    asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert "on t/servers/evil/clients: not signed with the broker key" in caplog.text, caplog.text
    payloads = b"".join(payload for kind, (topic, payload) in sniffed if kind == "message")
    assert payloads and b"the-token" not in payloads and b"the-household-broker-key" not in payloads
    sealed = [json.loads(payload) for kind, (topic, payload) in sniffed if kind == "message" and "/inbox/" in topic]
    assert sealed and all(set(message) == {"signed", "mac"} for message in sealed), sealed


async def _record(sniffed: List[tuple], kind: str, value: Any) -> None:
    if kind == "message":
        sniffed.append((kind, value))


def test_over_tls_with_the_shipped_acl_each_server_is_its_broker_user_and_a_wrong_password_is_refused(tmp_path, caplog):
    """deploy/mosquitto.conf's TLS listener and deploy/mosquitto.acl: two servers reach each
    other's clients over mqtts:// (the broker's certificate checked against server.broker.ca),
    each named by its broker user; a server with a wrong password is refused and never listed."""
    import shutil
    import subprocess

    from test_broker_e2e import SHIPPED_ACL

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "broker.pem", tmp_path / "broker.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    mosquitto = Mosquitto(tmp_path, {"va1": "one", "va2": "two"}, SHIPPED_ACL)
    mosquitto.stop()
    lines = mosquitto.config.read_text().splitlines()
    mosquitto.config.write_text("\n".join([lines[0], f"certfile {cert}", f"keyfile {key}", *lines[1:]]) + "\n")
    mosquitto.start()
    (tmp_path / "household.key").write_text("broker-key\n")

    def server(user: str, password: str) -> Server:
        settings = BrokerSettings(url=f"mqtts://127.0.0.1:{mosquitto.port}", username=user, password=password,
                                  ca=str(cert), key_file=str(tmp_path / "household.key"))
        made = Server.__new__(Server)
        made.hub = RelayHub(lambda client, event: client.send(event, None))
        made.federation = Federation(made.hub, settings)
        return made

    async def scenario() -> None:
        async with server("va1", "one") as one, server("va2", "two") as two:
            await one.join("living-room")
            await two.join("kitchen")
            await until(lambda: one.lists("kitchen") and two.lists("living-room"), "each other's clients over TLS")
            assert (one.federation.id, two.federation.id) == ("va1", "va2")
            intruder = server("va2", "guessed-x9")
            intruder.federation.link.start(lambda kind, value: None)
            await until(lambda: "refused the connection" in caplog.text, "the wrong password refused")
            intruder.federation.link.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), WAIT))
    finally:
        mosquitto.stop()
    assert "guessed-x9" not in caplog.text


def test_entries_from_the_broker_are_checked_like_a_hello_and_bounded(broker, caplog):
    """Names with a newline, a zero-width space or over 64 characters are not listed (and the
    drop is logged once a burst); past 64 entries of one server, the rest are not listed."""
    async def scenario() -> None:
        async with Server(broker.port) as one, Server(broker.port) as other:
            names = ["kitchen\u200b", "x\nINFO forged", "a" * 65, "porch", *(f"room-{index}" for index in range(70))]
            entries = [{"name": name, "online": True, "commands": []} for name in names]
            payload = json.dumps({"server": "evil", "clients": entries}).encode()
            other.federation.link.publish("t/servers/evil/clients", payload, retain=True)
            await until(lambda: one.lists("porch"), "the valid entry listed")
            listed = {peer.name for peer, client in one.hub.directory.connected() if isinstance(client, RemoteClient)}
            assert "porch" in listed and not listed & set(names[:3]), listed
            assert len(listed) == MAX_REMOTE_CLIENTS - 3, len(listed)
            other.federation.link.publish("t/servers/evil/clients", b"", retain=True)

    asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert "a directory entry needs a 'name' of 1 to 64 printable characters" in caplog.text, caplog.text
    assert "\nINFO forged" not in caplog.text
