"""The server's directory and relay (va.server_relay) with real websocket clients on port 0.

The clients here are raw websockets speaking the wire protocol, so each test controls exactly
when a target answers, drops or comes back. No speech is transcribed: the engine is a stub.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging

import pytest
from websockets.asyncio.client import connect

from va.config import Settings
from va.server.app import SpeechServer

TIMEOUT = 60.0


class IdleEngine:
    """Never asked to transcribe in these tests."""

    name, model, device = "stub", "none", "cpu"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT * 2))


@contextlib.asynccontextmanager
async def running(token=None, **server_settings):
    base = Settings()
    server_config = dataclasses.replace(base.server, host="127.0.0.1", port=0, **server_settings)
    settings = dataclasses.replace(base, server=server_config, token=token)
    server = SpeechServer(settings, engine_factory=lambda _: IdleEngine())
    await asyncio.wait_for(server.start(), TIMEOUT)
    try:
        yield server
    finally:
        await asyncio.wait_for(server.stop(), TIMEOUT)


GRAMMAR = {"version": 1, "commands": [
    {"name": "turn_on", "spoken": ["turn on"], "params": [{"name": "device", "kind": "text", "required": True}]}]}


async def join(server, name, area=None, relay=True, token=None, ssl=None):
    """A client that said hello; returns the connection after its `ready`."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    connection = await connect(server.url, additional_headers=headers, ssl=ssl)
    hello = {"type": "hello", "client": name, "commands": ["turn on"], "grammar": GRAMMAR, "relay": relay}
    if area:
        hello["area"] = area
    await connection.send(json.dumps(hello))
    assert (await receive(connection))["type"] == "ready"
    return connection


async def receive(connection, wanted=None) -> dict:
    """The next event (of type `wanted`, skipping others)."""
    while True:
        event = json.loads(await asyncio.wait_for(connection.recv(), TIMEOUT))
        if wanted is None or event["type"] == wanted:
            return event


async def directory(connection) -> dict:
    """The clients of the next directory push, by name."""
    return {peer["name"]: peer for peer in (await receive(connection, "directory"))["clients"]}


def run_request(request_id="r1", target="kitchen", ttl=None, **extra) -> str:
    event = {"type": "run", "id": request_id, "target": target, "command": "turn_on", "args": {"device": "the radio"}}
    if ttl is not None:
        event["ttl"] = ttl
    return json.dumps({**event, **extra})


def test_the_directory_is_pushed_on_join_leave_and_reload():
    async def scenario():
        async with running() as server:
            living = await join(server, "living-room")
            assert list(await directory(living)) == ["living-room"]
            kitchen = await join(server, "kitchen", area="kitchen")
            listed = await directory(living)
            assert listed["kitchen"]["online"] and listed["kitchen"]["area"] == "kitchen"
            assert listed["kitchen"]["grammar"]["commands"][0]["name"] == "turn_on"
            # a reload: a new hello with other commands
            await kitchen.send(json.dumps({"type": "hello", "client": "kitchen", "commands": ["lights"], "relay": True}))
            assert (await directory(living))["kitchen"]["commands"] == ["lights"]
            await kitchen.close()
            assert (await directory(living))["kitchen"]["online"] is False
            # a client without "relay" is not listed and gets no pushes; anyone may ask
            async with connect(server.url) as plain:
                await plain.send(json.dumps({"type": "hello", "client": "old", "commands": []}))
                assert (await receive(plain))["type"] == "ready"
                await plain.send(json.dumps({"type": "directory"}))
                reply = await receive(plain)
                assert reply["type"] == "directory" and "old" not in {peer["name"] for peer in reply["clients"]}
            await living.close()

    run(scenario())


def test_a_request_goes_to_the_target_with_the_origin_the_server_knows_and_the_answer_comes_back():
    async def scenario():
        async with running() as server:
            kitchen = await join(server, "kitchen")
            living = await join(server, "living-room")
            await living.send(run_request(origin="kitchen", token="secret"))  # a claimed origin is ignored
            request = await receive(kitchen, "run")
            assert request["origin"] == "living-room" and request["token"] == "secret"
            assert (request["command"], request["args"]) == ("turn_on", {"device": "the radio"})
            await kitchen.send(json.dumps({"type": "run_result", "id": request["id"], "outcome": "ok", "value": "done"}))
            answer = await receive(living, "run_result")
            assert answer == {"type": "run_result", "id": "r1", "outcome": "ok", "value": "done", "target": "kitchen"}

    run(scenario())


def test_an_offline_or_unknown_target_is_answered_at_once():
    async def scenario():
        async with running() as server:
            kitchen = await join(server, "kitchen")
            living = await join(server, "living-room")
            await kitchen.close()
            await living.send(run_request(ttl=60))  # a long time-to-live: the answer must not wait for it
            answer = await receive(living, "run_result")
            assert (answer["outcome"], answer["error"]) == ("offline", "kitchen is offline")
            await living.send(run_request("r2", target="garage"))
            answer = await receive(living, "run_result")
            assert (answer["outcome"], answer["error"]) == ("offline", "no client called garage is connected")

    run(scenario())


def test_a_target_that_drops_and_comes_back_in_time_gets_the_same_request_again():
    async def scenario():
        async with running() as server:
            kitchen = await join(server, "kitchen")
            living = await join(server, "living-room")
            await living.send(run_request(ttl=60))
            first = await receive(kitchen, "run")
            await kitchen.close()  # before answering
            kitchen = await join(server, "kitchen")
            again = await receive(kitchen, "run")
            assert again["id"] == first["id"]  # the same id: the target runs it once (va.client.remote_target)
            await kitchen.send(json.dumps({"type": "run_result", "id": again["id"], "outcome": "ok"}))
            assert (await receive(living, "run_result"))["outcome"] == "ok"

    run(scenario())


def test_a_target_away_for_the_whole_time_to_live_gives_offline_and_never_gets_the_request():
    async def scenario():
        async with running() as server:
            kitchen = await join(server, "kitchen")
            living = await join(server, "living-room")
            await living.send(run_request(ttl=0.5))
            await receive(kitchen, "run")
            await kitchen.close()
            answer = await receive(living, "run_result")
            assert answer["outcome"] == "offline" and "may have run" in answer["error"]
            kitchen = await join(server, "kitchen")
            # anything relayed to it on joining comes before the directory on this connection
            assert (await receive(kitchen))["type"] == "directory"

    run(scenario())


def test_a_request_running_on_the_live_target_is_awaited_beyond_its_time_to_live():
    async def scenario():
        async with running() as server:
            kitchen = await join(server, "kitchen")
            living = await join(server, "living-room")
            await living.send(run_request(ttl=0.5))
            request = await receive(kitchen, "run")
            await asyncio.sleep(1.0)  # past the time-to-live, still connected: it runs there
            await kitchen.send(json.dumps({"type": "run_result", "id": request["id"], "outcome": "error", "error": "boom"}))
            answer = await receive(living, "run_result")
            assert (answer["outcome"], answer["error"]) == ("error", "boom")

    run(scenario())


@pytest.mark.parametrize("event", [
    {"type": "run", "id": "x", "target": "kitchen"},
    {"type": "run", "id": 5, "target": "kitchen", "command": "turn_on"},
    {"type": "run", "id": "x", "target": "kitchen", "command": "turn_on", "args": {"a": [1]}},
    {"type": "run", "id": "x", "target": "kitchen", "command": "turn_on", "ttl": -1},
    {"type": "run_result", "id": "x", "outcome": "maybe"},
])
def test_malformed_relay_events_get_an_error_and_the_connection_stays(event):
    async def scenario():
        async with running() as server:
            living = await join(server, "living-room")
            await living.send(json.dumps(event))
            assert (await receive(living, "error"))["type"] == "error"
            await living.send(json.dumps({"type": "directory"}))
            assert (await receive(living, "directory"))["type"] == "directory"

    run(scenario())


def test_a_client_that_did_not_join_cannot_send_requests():
    async def scenario():
        async with running() as server:
            await join(server, "kitchen")
            async with connect(server.url) as stranger:
                await stranger.send(run_request())
                answer = await receive(stranger, "run_result")
                assert answer["outcome"] == "refused"

    run(scenario())


def test_a_client_renamed_by_a_reload_leaves_its_old_name_and_overlong_names_are_not_listed():
    async def scenario():
        async with running() as server:
            living = await join(server, "living-room")
            await directory(living)
            kitchen = await join(server, "kitchen")
            await directory(living)
            await kitchen.send(json.dumps({"type": "hello", "client": "scullery", "commands": [], "relay": True}))
            listed = await directory(living)
            assert listed["kitchen"]["online"] is False and listed["scullery"]["online"]
            await living.send(run_request(target="kitchen"))
            assert (await receive(living, "run_result"))["error"] == "kitchen is offline"
            long_name = await join(server, "k" * 100)
            await long_name.send(json.dumps({"type": "directory"}))
            assert "k" * 100 not in {peer["name"] for peer in (await receive(long_name, "directory"))["clients"]}

    run(scenario())


def test_a_target_whose_connection_drops_while_the_command_runs_runs_it_once_and_answers_once(caplog):
    """The kitchen here is the real client side (ServerLink + va.client.remote) with a command that
    waits for the test: the server drops its connection mid-command and sends the request again
    on the new one; the command has run once, and the living room gets one answer."""
    import threading

    from va.client.link import LinkOptions, ServerLink
    from va.client.remote import Remote
    from va.commands.registry import Command, Registry
    from va.commands.runner import CommandRunner
    from va.language.arguments import parameters_of

    caplog.set_level(logging.DEBUG, logger="va.client.remote_target")
    calls, gate = [], threading.Event()

    def turn_on(device: str):
        calls.append(device)
        gate.wait(TIMEOUT)
        return "on"

    registry = Registry()
    registry.add(Command("turn_on", "turn on", (), "household", turn_on, parameters_of(turn_on)))
    base = Settings()
    settings = dataclasses.replace(base, client=dataclasses.replace(base.client, name="kitchen"),
                                   remote=dataclasses.replace(base.remote, allow={"living-room": ("turn_on",)}))

    async def until(condition):
        while not condition():
            await asyncio.sleep(0.01)

    async def scenario():
        async with running() as server:
            link = None
            remote = Remote(settings, CommandRunner(timeout=TIMEOUT), lambda: link)
            link = ServerLink([server.url], remote.hello(settings, registry), lambda *reply: None,
                              on_event=lambda event: remote.on_event(event, registry),
                              options=LinkOptions(min_delay=0.05, max_delay=0.1))
            kitchen = asyncio.ensure_future(link.run())
            try:
                await asyncio.wait_for(until(lambda: server.relay.directory.online("kitchen")), TIMEOUT)
                living = await join(server, "living-room")
                await living.send(run_request(ttl=60))
                await asyncio.wait_for(until(lambda: calls), TIMEOUT)  # running in the kitchen
                first = server.relay.directory.online("kitchen")
                await first.connection.close()  # the kitchen's connection drops mid-command
                await asyncio.wait_for(until(lambda: server.relay.directory.online("kitchen") not in (None, first)), TIMEOUT)
                await asyncio.wait_for(until(lambda: link.connections >= 2), TIMEOUT)
                gate.set()
                answer = await receive(living, "run_result")
                await living.send(json.dumps({"type": "directory"}))  # anything after it: no second answer
                following = await receive(living)
                return answer, following, link.connections
            finally:
                gate.set()
                await link.close()
                kitchen.cancel()
                await asyncio.gather(kitchen, return_exceptions=True)

    answer, following, connections = run(scenario())
    assert connections >= 2
    assert (answer["outcome"], answer["value"]) == ("ok", "on")
    assert following["type"] == "directory"
    assert calls == ["the radio"]  # once, though it was delivered on two connections:
    assert "living-room's request r1 came again: running" in caplog.text


def test_a_huge_grammar_is_not_passed_on_to_every_client():
    huge = {"version": 1, "commands": [{"name": f"c{n}", "spoken": [f"command number {n}"], "params": []} for n in range(3000)]}

    async def scenario():
        async with running() as server:
            living = await join(server, "living-room")
            await directory(living)
            big = await connect(server.url)
            await big.send(json.dumps({"type": "hello", "client": "big", "commands": ["a"], "grammar": huge, "relay": True}))
            listed = await directory(living)
            await big.close()
            return listed["big"]

    peer = run(scenario())
    assert "grammar" not in peer and peer["commands"] == ["a"]


def test_a_stopping_server_answers_what_waits_before_it_closes():
    async def scenario():
        async with running() as server:
            kitchen = await join(server, "kitchen")
            living = await join(server, "living-room")
            await living.send(run_request(ttl=60))
            await receive(kitchen, "run")
            await server.stop()
            return await receive(living, "run_result")

    answer = run(scenario())
    assert (answer["outcome"], answer["error"]) == ("offline", "the server is stopping (it may have run)")


def test_va_commands_and_va_match_get_the_directory_over_wss_with_a_private_ca_and_the_token(tmp_path):
    from va.client.remote import fetch_directory
    from va.config import TlsSettings

    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", "127.0.0.1")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))

    async def scenario():
        async with running(token="secret", tls=TlsSettings(cert=str(cert), key=str(key))) as server:
            kitchen = await join(server, "kitchen", token="secret", ssl=server_context(ca))
            base = Settings()
            settings = dataclasses.replace(base, server_url=(server.url,), token="secret",
                                           client=dataclasses.replace(base.client, tls=dataclasses.replace(base.client.tls, ca=str(ca))))
            found = await fetch_directory(settings)
            refused = await fetch_directory(dataclasses.replace(settings, token="wrong"))
            await kitchen.close()
            return found, refused

    found, refused = run(scenario())
    assert [peer.name for peer in found.clients] == ["kitchen"] and refused is None


def server_context(ca):
    import ssl

    return ssl.create_default_context(cafile=str(ca))


def test_the_clients_hello_carries_its_threshold():
    from va.client.remote import Remote
    from va.commands.registry import Registry
    from va.commands.runner import CommandRunner

    base = Settings()
    settings = dataclasses.replace(base, commands=dataclasses.replace(base.commands, threshold=88.0))
    hello = Remote(settings, CommandRunner(timeout=TIMEOUT), lambda: None).hello(settings, Registry())
    assert json.loads(hello.to_json())["threshold"] == 88.0
