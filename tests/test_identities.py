"""A client is who its key says (issue 23): the attacks on names, against a real `va server`, a
real keyed kitchen (`va client`, paced silence, tests/client_commands/household.py) and raw
websocket connections for the living room and the attackers (they need no speech: they send the
relay's events themselves, as a modified client would).

Each attack is refused and logged, and the real kitchen keeps its name and runs what the living
room, which holds its own key, asks of it.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from procs import Process, start_server, wait_until
from test_remote_e2e import HOUSEHOLD, KITCHEN_RULES, ran, silence, start_client
from va.protocol.keys import key_hash, make_key

pytestmark = pytest.mark.slow

TOKEN = "household-token"
WAIT = 30.0
OPENED: list = []
"""The raw connections a scenario opened (``closed`` closes them: a server that stops waits for them)."""


def closed(scenario: Any) -> Any:
    async def run() -> Any:
        try:
            return await scenario
        finally:
            await asyncio.gather(*(connection.close() for connection in OPENED), return_exceptions=True)
            OPENED.clear()

    return asyncio.run(run())


def write_config(tmp_path: Path, port: int, name: str, server: str = "", client: str = "", extra: str = "") -> Path:
    """A config for a server on ``port`` and a client of it called ``name``."""
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"keyword: computer\nserver_url: ws://127.0.0.1:{port}\ntoken: {TOKEN}\n"
        f"server:\n  host: 127.0.0.1\n  port: {port}\n  model: tiny.en\n{server}"
        f"commands:\n  modules: []\n  paths: [{json.dumps(str(HOUSEHOLD))}]\n"
        f"client:\n  name: {name}\n  reconnect_min_delay: 0.1\n  reconnect_max_delay: 1.0\n{client}{extra}"
    )
    return config


def household(tmp_path: Path) -> Dict[str, Any]:
    """Keys for the kitchen and the living room, a server that knows their hashes, and a token for the rest."""
    keys = {name: make_key() for name in ("kitchen", "living-room")}
    for name, key in keys.items():
        (tmp_path / f"{name}.key").write_text(key + "\n")
    clients = "".join(f"    {name}: \"{key_hash(key)}\"\n" for name, key in keys.items())
    config = write_config(tmp_path, 0, "server", server=f"  clients:\n{clients}")  # the server picks its port
    return {"keys": keys, "config": config}


def start_kitchen(tmp_path: Path, port: int, server: Process) -> Process:
    config = write_config(tmp_path, port, "kitchen", client=f"  key_file: {tmp_path / 'kitchen.key'}\n", extra=KITCHEN_RULES)
    kitchen = start_client(tmp_path, "kitchen", config, [silence(tmp_path)], VA_INPUT_PACE="1")
    wait_until(lambda: "kitchen joined" in server.text(), "the kitchen in the directory", kitchen.popen)
    return kitchen


async def hello(port: int, name: str, key: Optional[str] = None, token: Optional[str] = TOKEN) -> Any:
    """A raw relay member: connected with ``key`` and/or ``token``, hello said, ready read."""
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **({"X-VA-Key": key} if key else {})}
    connection = await connect(f"ws://127.0.0.1:{port}", additional_headers=headers, proxy=None)
    OPENED.append(connection)
    await connection.send(json.dumps({"type": "hello", "client": name, "relay": True, "commands": []}))
    return connection


async def next_of(connection: Any, kind: str) -> Dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(connection.recv(), WAIT))
        if message["type"] == kind:
            return message


async def refused(connection: Any) -> str:
    """The error a refused hello gets, after which the server closes the connection."""
    error = await next_of(connection, "error")
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(connection.recv(), WAIT)
    assert connection.close_code == 1008
    return error["data"]


def run_request(request_id: str, **extra: Any) -> str:
    return json.dumps({"type": "run", "id": request_id, "target": "kitchen", "command": "turn_on",
                       "args": {"device": "the radio"}, "ttl": 10, **extra})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """One server and one real kitchen for the tests of this module (the rotation comes last)."""
    tmp_path = tmp_path_factory.mktemp("home")
    setup = household(tmp_path)
    setup["tmp_path"] = tmp_path
    setup["server"] = start_server(tmp_path, setup["config"])
    setup["port"] = setup["server"].port
    setup["kitchen"] = start_kitchen(tmp_path, setup["port"], setup["server"])
    yield setup
    setup["kitchen"].stop(signal.SIGKILL)
    setup["server"].stop()


def test_names_are_bound_to_keys_and_every_attack_on_one_is_refused_and_logged(home):
    tmp_path, port, keys, server, kitchen = (home[key] for key in ("tmp_path", "port", "keys", "server", "kitchen"))

    async def attacks() -> Dict[str, Any]:
        seen: Dict[str, Any] = {}
        # a holder of the token says hello as the kitchen while the kitchen is connected
        seen["token as kitchen"] = await refused(await hello(port, "kitchen"))
        # ... and with the living room's key
        seen["living-room's key as kitchen"] = await refused(await hello(port, "kitchen", keys["living-room"], None))
        # a made-up key for the kitchen: refused at the handshake
        with pytest.raises(InvalidStatus) as status:
            await hello(port, "kitchen", make_key(), None)
        seen["wrong key"] = status.value.response.status_code
        # a token holder says hello as the living room, to run what the kitchen allows it
        seen["token as living-room"] = await refused(await hello(port, "living-room"))
        # a token holder under a name without a key, claiming to be the living room, verified, in the run
        hall = await hello(port, "hall")
        await next_of(hall, "ready")
        await hall.send(run_request("forged", origin="living-room", verified=True))
        seen["forged origin"] = await next_of(hall, "run_result")
        # the real living room, with its key: it runs in the kitchen
        living = await hello(port, "living-room", keys["living-room"], None)
        await next_of(living, "ready")
        await living.send(run_request("real"))
        seen["real"] = await next_of(living, "run_result")
        await living.send(json.dumps({"type": "directory"}))
        seen["directory"] = await next_of(living, "directory")
        return seen

    seen = closed(attacks())
    wait_until(lambda: "Request from living-room" in kitchen.text(), "the kitchen's record", kitchen.popen)
    log, kitchen_log = server.text(), kitchen.text()

    assert "this connection's key is living-room's: it cannot say hello as kitchen" in seen["living-room's key as kitchen"]
    assert "kitchen has a key of its own" in seen["token as kitchen"]
    assert seen["wrong key"] == 401
    assert "living-room has a key of its own" in seen["token as living-room"]
    assert seen["forged origin"]["outcome"] == "refused", seen["forged origin"]
    assert "hall is not verified by a key of its own" in seen["forged origin"]["error"]
    assert seen["real"]["outcome"] == "ok", seen["real"]
    kitchen_entry = [entry for entry in seen["directory"]["clients"] if entry["name"] == "kitchen"]
    assert kitchen_entry and kitchen_entry[0]["online"], seen["directory"]  # it kept its name throughout
    calls = ran(tmp_path, "kitchen")
    assert [(call["name"], call["args"]) for call in calls] == [("turn_on", {"device": "the radio"})], kitchen_log
    # logged where each was refused; no key in any log
    assert "refused 1 hello(s) under a name bound to another key, the last from 127.0.0.1:" in log, log
    assert "with a key that no client in server.clients has" in log
    assert "Request from hall: refused turn_on(device='the radio'): hall is not verified" in kitchen_log, kitchen_log
    assert "Request from living-room: ran turn_on(device='the radio')" in kitchen_log
    assert not any(key in log or key in kitchen_log for key in keys.values())


def test_with_the_token_only_a_name_taken_over_and_left_goes_back_to_the_connection_that_holds_it(home):
    """A name without a key (not verified, as before keys): a token holder may take it over, but
    when it leaves, the real client that is still connected is online again and gets its requests."""
    port, server = home["port"], home["server"]

    async def takeover() -> Dict[str, Any]:
        real = await hello(port, "hall")
        await next_of(real, "ready")
        impostor = await hello(port, "hall")
        await next_of(impostor, "ready")
        await impostor.close()
        origin = await hello(port, "porch")
        await next_of(origin, "ready")
        await asyncio.sleep(0.5)
        await origin.send(json.dumps({"type": "run", "id": "x", "target": "hall", "command": "turn_on", "args": {}, "ttl": 5}))
        return await next_of(real, "run")

    delivered = closed(takeover())
    assert delivered["origin"] == "porch" and delivered.get("verified") is None, delivered
    assert "the older one has it back" in server.text()


def test_a_rotated_key_takes_over_at_a_reload_and_the_old_one_is_let_go(home):
    setup, port, keys, server = home, home["port"], home["keys"], home["server"]
    new = make_key()

    async def rotate() -> Dict[str, Any]:
        seen: Dict[str, Any] = {}
        old = await hello(port, "living-room", keys["living-room"], None)
        await next_of(old, "ready")
        config = setup["config"].read_text().replace(key_hash(keys["living-room"]), key_hash(new))
        setup["config"].write_text(config)
        server.send(signal.SIGHUP)
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(old.recv(), WAIT)
        seen["old closed"] = old.close_code
        with pytest.raises(InvalidStatus) as status:
            await hello(port, "living-room", keys["living-room"], None)
        seen["old key"] = status.value.response.status_code
        fresh = await hello(port, "living-room", new, None)
        seen["new key"] = (await next_of(fresh, "ready"))["type"]
        return seen

    seen = closed(rotate())
    assert seen == {"old closed": 1008, "old key": 401, "new key": "ready"}, seen
    assert "living-room's key changed (server.clients)" in server.text()
    assert new not in server.text() and keys["living-room"] not in server.text()

