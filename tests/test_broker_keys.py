"""The broker is not a way in (issue 23): the shipped deploy/mosquitto.conf and deploy/mosquitto.acl
on a real mosquitto, two real `va server` processes each with its own broker user and the broker
key, a real keyed kitchen (`va client`) on server 2 and the keyed living room (a raw connection)
on server 1. A broker client without credentials gets nothing; one with a broker user of its own
(not a va server) reads no inbox and no secret, and what it forges or withdraws is refused or
dropped and logged; the living room's request still runs in the kitchen, once, verified.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, Dict, List

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from test_broker_e2e import SHIPPED_ACL, Mosquitto
from procs import Process, environment, healthy, logged_port, wait_until
from test_identities import TOKEN, closed, hello, next_of, run_request, write_config
from test_remote_e2e import KITCHEN_RULES, _no_process_left_behind, ran, silence, start_client  # noqa: F401
from va.protocol.keys import key_hash, make_key

pytestmark = [pytest.mark.slow, pytest.mark.skipif(Mosquitto.missing(), reason="mosquitto is not installed")]

PASSWORDS = {"va1": "pw-one", "va2": "pw-two", "intruder": "pw-intruder"}


class Intruder:
    """A paho client on the broker (``user`` None: no credentials) that records what it reads."""

    def __init__(self, port: int, user: Any = None) -> None:
        self.seen: List[tuple] = []
        self.refused: Any = None
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"intruder-{user}", protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, PASSWORDS[user])
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda client, data, message: self.seen.append((message.topic, bytes(message.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: Any, data: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
        else:
            client.subscribe("#", qos=1)
        self.connected.set()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_server(tmp_path: Path, name: str, broker: int, keys: Dict[str, str]) -> tuple:
    """A `va server` with its own broker user, the broker key and the clients' keys; (process, port)."""
    clients = "".join(f"    {client}: \"{key_hash(key)}\"\n" for client, key in keys.items())
    broker_settings = (f"  broker: {{url: 'mqtt://127.0.0.1:{broker}', username: {name}, password: {PASSWORDS[name]}, "
                       f"key_file: {tmp_path / 'broker.key'}}}\n")
    config = write_config(tmp_path, 0, name, server=broker_settings + f"  clients:\n{clients}")
    process = Process(tmp_path, name, ["server", "--config", str(config)], environment(tmp_path))
    port = wait_until(lambda: logged_port(process), f"{name}'s port in its log", process)
    wait_until(lambda: healthy(port), f"{name}'s /health", process)
    wait_until(lambda: "connected to the broker" in process.text(), "the broker connection", process)
    return process, port


def test_a_broker_client_reads_no_secret_and_what_it_forges_or_withdraws_is_refused_and_logged(tmp_path):
    broker = Mosquitto(tmp_path, PASSWORDS, SHIPPED_ACL)
    keys = {name: make_key() for name in ("kitchen", "living-room")}
    for name, key in {**keys, "broker": make_key()}.items():
        (tmp_path / f"{name}.key").write_text(key + "\n")
    try:
        (va1, port1), (va2, port2) = (start_server(tmp_path, name, broker.port, keys) for name in ("va1", "va2"))
        anonymous, intruder = Intruder(broker.port), Intruder(broker.port, "intruder")
        for client in (anonymous, intruder):
            assert client.connected.wait(10)
        kitchen_config = write_config(tmp_path, port2, "kitchen", client=f"  key_file: {tmp_path / 'kitchen.key'}\n",
                                      extra=KITCHEN_RULES)
        kitchen = start_client(tmp_path, "kitchen", kitchen_config, [silence(tmp_path)], VA_INPUT_PACE="1")
        wait_until(lambda: "kitchen joined" in va1.text(), "server 1 to list the kitchen", kitchen.popen)

        # forge: an entry listing the kitchen under the intruder's own topic (the ACL lets it write there)
        forged = {"server": "intruder", "clients": [{"name": "kitchen", "online": True, "commands": ["turn on"]}],
                  "verified": ["kitchen"]}
        intruder.publish("va/servers/intruder/clients", json.dumps(forged).encode(), retain=True)
        # withdraw: an empty retained message on server 2's topic (the ACL does not let it)
        intruder.publish("va/servers/va2/clients", b"", retain=True)
        # a run in server 2's inbox, under server 1's name (refused by the ACL) and its own (not sealed)
        envelope = json.dumps({"from": "intruder", "event": json.loads(run_request("forged", origin="living-room"))}).encode()
        intruder.publish("va/servers/va2/inbox/va1", envelope)
        intruder.publish("va/servers/va2/inbox/intruder", envelope)
        wait_until(lambda: "dropped 1 message(s) from the broker" in va1.text(), "server 1 to drop the forged entry", va1.popen)

        async def living_room() -> Dict[str, Any]:
            living = await hello(port1, "living-room", keys["living-room"], None)
            await next_of(living, "ready")
            await living.send(run_request("real"))
            return await next_of(living, "run_result")

        result = closed(living_room())
        wait_until(lambda: "Request from living-room" in kitchen.text(), "the kitchen's record", kitchen.popen)
        logs = {"va1": va1.text(), "va2": va2.text(), "kitchen": kitchen.text()}
        anonymous.stop()
        intruder.stop()
    finally:
        broker.stop()

    assert anonymous.refused is not None and anonymous.seen == []  # no user: nothing at all
    topics = {topic for topic, _ in intruder.seen}
    assert not any("/inbox/" in topic for topic in topics), topics  # runs and results are not its to read
    everything = b"".join(payload for _, payload in intruder.seen)
    assert all(secret.encode() not in everything for secret in (TOKEN, *keys.values(), *PASSWORDS.values()))
    assert result["outcome"] == "ok", result
    calls = ran(tmp_path, "kitchen")
    assert [(call["name"], call["args"]) for call in calls] == [("turn_on", {"device": "the radio"})], kitchen.text()
    assert "Request from living-room: ran turn_on(device='the radio')" in logs["kitchen"]  # verified across servers
    assert "on va/servers/intruder/clients: not signed with the broker key" in logs["va1"], logs["va1"]
    assert "kitchen left" not in logs["va1"]  # the withdrawal did not reach it
    assert not any(secret in log for log in logs.values() for secret in (*keys.values(), *PASSWORDS.values()))
    broker_log = broker.log.read_text()
    for topic in ("va/servers/va2/clients", "va/servers/va2/inbox/va1"):  # the ACL: not the intruder's to write
        assert f"Denied PUBLISH from intruder-intruder (d0, q1, r{int(topic.endswith('clients'))}, m" in broker_log
        assert f"'{topic}'" in broker_log
