"""va as Home Assistant's conversation agent: the Wyoming `handle` program, through the `wyoming`
package's own client, sending what Home Assistant's Wyoming conversation entity sends (a
`transcript` with the text, its context and language) and reading what it reads (`handled`,
`not-handled`).

In process: the server's own command modules (the shipped clock) under the server's remote.allow.
End to end (slow): a real `va server` and a real `va client` (the recorder commands) that the
server relays to, with the client's own remote.allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("wyoming")

from test_wyoming import TIMEOUT, engine, run  # noqa: E402,F401  (first: it imports wyoming.audio quietly)
from wyoming.asr import Transcript  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.handle import Handled, NotHandled  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402

from va.config import CommandSettings, RemoteSettings, Settings, WyomingSettings, parse_settings  # noqa: E402
from va.server.app import SpeechServer  # noqa: E402

from procs import RECORDER, Process, environment, stop_all, wait_until  # noqa: E402

CONTEXT = {"conversation_id": "01JTEST", "device_id": "voice-pe-kitchen"}


async def ask(port: int, text: str):
    """One request as Home Assistant's WyomingConversationEntity makes it: its own connection."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcript(text, context=CONTEXT, language="en").event())
        while True:
            event = await asyncio.wait_for(client.read_event(), TIMEOUT)
            assert event is not None, "the server closed the connection"
            if Handled.is_type(event.type):
                return Handled.from_event(event)
            if NotHandled.is_type(event.type):
                return NotHandled.from_event(event)


async def describe(port: int) -> Info:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Describe().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), TIMEOUT)
            if Info.is_type(event.type):
                return Info.from_event(event)


def server_settings(allow=None, **wyoming) -> Settings:
    base = Settings()
    config = dataclasses.replace(base.server, host="127.0.0.1", port=0, wyoming=WyomingSettings(port=0, **wyoming))
    return dataclasses.replace(base, server=config, commands=CommandSettings(modules=("clock",)),
                               remote=RemoteSettings(allow=allow or {}))


@contextlib.asynccontextmanager
async def serving(engine, settings):
    speech = SpeechServer(settings, engine_factory=lambda _: engine)
    await asyncio.wait_for(speech.start(), TIMEOUT)
    try:
        yield speech
    finally:
        await asyncio.wait_for(speech.stop(), TIMEOUT)


# -- the server's own commands ------------------------------------------------------------------


def test_the_servers_own_command_answers_with_its_text_and_the_rest_is_declined(engine):
    settings = server_settings({"home-assistant": ["what_time_is_it"]}, server_commands=True)

    async def scenario():
        async with serving(engine, settings) as server:
            port = server.wyoming.port
            answers = [await ask(port, text) for text in
                       ("What time is it?", "make me a sandwich", "set a 5 minute timer", "")]
            return answers, await describe(port), server.wyoming.health()

    (time_now, sandwich, timer, empty), info, health = run(scenario())
    assert isinstance(time_now, Handled) and re.fullmatch(r"It is \d{1,2}:\d\d [AP]M\.", time_now.text), time_now
    assert isinstance(sandwich, NotHandled) and sandwich.text == "va has no command for that."
    assert isinstance(timer, NotHandled)  # the clock has it, but remote.allow does not let Home Assistant run it
    assert timer.text == "the server does not let Home Assistant run set_timer."
    assert isinstance(empty, NotHandled)
    assert health["handled"] == 1
    [handle] = info.handle
    assert handle.name == "va" and handle.installed and [m.languages for m in handle.models] == [["en"]]
    assert not handle.supports_home_control  # Home Assistant's own intents stay first (prefer local)
    assert info.asr[0].name == "va"


def test_without_commands_for_home_assistant_there_is_no_handle_program_and_text_is_declined(engine):
    async def scenario():
        async with serving(engine, server_settings()) as server:
            return await describe(server.wyoming.port), await ask(server.wyoming.port, "What time is it?")

    info, answer = run(scenario())
    assert info.handle == [] and info.intent == []  # Home Assistant makes no conversation agent of it
    assert isinstance(answer, NotHandled)


def test_the_settings_va_check_accepts():
    settings = parse_settings(
        "server:\n  wyoming:\n    port: 10300\n    commands_client: kitchen\n    server_commands: true\n"
        "    origin: ha\n    partial_every: 0.5\n    max_connections: 8\n    max_buffered_bytes: 33554432\n")
    wyoming = settings.server.wyoming
    assert (wyoming.commands_client, wyoming.server_commands, wyoming.origin) == ("kitchen", True, "ha")
    assert (wyoming.partial_every, wyoming.max_connections, wyoming.max_buffered_bytes) == (0.5, 8, 33554432)
    with pytest.raises(Exception, match="max_connections"):
        parse_settings("server:\n  wyoming:\n    max_connections: 0\n")


def test_va_check_says_whose_commands_home_assistant_runs(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "config.yaml"
    config.write_text("commands:\n  modules: [clock]\nserver:\n  wyoming:\n    port: 10300\n"
                      "    commands_client: kitchen\n    server_commands: true\n")
    done = subprocess.run([sys.executable, "-m", "va", "check", "--config", str(config)], env=environment(tmp_path),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("wyoming: Home Assistant's text runs kitchen's and this server's commands, as home-assistant "
            "(their remote.allow must list home-assistant)") in done.stdout.splitlines()


# -- a real client's command, through the relay ---------------------------------------------------


def client_config(tmp_path: Path, port: int, allow: str) -> Path:
    config = tmp_path / "kitchen.yaml"
    config.write_text(f"""\
keyword: computer
server_url: ws://127.0.0.1:{port}
commands:
  modules: []
  paths: [{json.dumps(str(RECORDER.parent))}]
client:
  name: kitchen
  reconnect_min_delay: 0.1
remote:
  allow:
    {allow}
""")
    return config


def server_config(tmp_path: Path) -> Path:
    config = tmp_path / "server.yaml"
    config.write_text("server:\n  port: 0\n  device: cpu\n  wyoming:\n    port: 0\n    commands_client: kitchen\n")
    return config


def silence(tmp_path: Path, seconds: int = 600) -> Path:
    import wave

    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(seconds * 32000))
    return path


def ports(server: Process) -> tuple:
    def found():
        text = server.text()
        ws = re.search(r"listening on ws://127\.0\.0\.1:(\d+)", text)
        wyoming = re.search(r"Wyoming speech-to-text on 127\.0\.0\.1:(\d+)", text)
        return (int(ws.group(1)), int(wyoming.group(1))) if ws and wyoming else None

    return wait_until(found, "the server's ports", server)


def recorded(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def household(tmp_path):
    """A real va server whose Wyoming text runs the kitchen's commands, and the kitchen: a real va
    client (the recorder commands), kept connected by a long silence played in real time."""
    server = Process(tmp_path, "server", ["server", "--config", str(server_config(tmp_path))])
    ws_port, wyoming_port = ports(server)
    allow = "home-assistant: [set_timer, what_time_is_it]"
    kitchen = Process(tmp_path, "kitchen", ["client", "--config", str(client_config(tmp_path, ws_port, allow)),
                                            "--input", str(silence(tmp_path))],
                      environment(tmp_path, VA_INPUT_PACE="1"))
    wait_until(lambda: "kitchen joined" in server.text(), "the kitchen in the directory", kitchen)
    yield server, kitchen, wyoming_port, tmp_path / "ran.jsonl"
    stop_all()


@pytest.mark.slow
def test_home_assistants_text_runs_the_kitchens_command_once_under_its_rules(household):
    server, kitchen, port, ran = household

    async def scenario():
        sent = time.monotonic()
        timer = await ask(port, "Set a 5 minute timer.")
        others = [await ask(port, text) for text in ("add numbers 3 and 4", "make me a sandwich")]
        return sent, timer, others

    sent, timer, (refused, unknown) = run(scenario())
    assert isinstance(timer, Handled) and timer.text == "set_timer", timer  # what the command returned
    assert isinstance(refused, NotHandled) and refused.text == "kitchen does not let Home Assistant run add_numbers."
    assert isinstance(unknown, NotHandled) and unknown.text == "va has no command for that."
    calls = recorded(ran)
    assert [(call["name"], call["args"]) for call in calls] == [("set_timer", {"minutes": 5})], kitchen.text()
    assert calls[0]["pid"] == kitchen.pid and calls[0]["at"] > sent  # in the kitchen's process, after it was asked
    assert "Request from home-assistant: ran set_timer(minutes=5)" in kitchen.text(), kitchen.text()
    assert "Request from home-assistant: refused add_numbers" in kitchen.text()


@pytest.mark.slow
def test_an_offline_kitchen_is_said_and_nothing_runs_later(household):
    server, kitchen, port, ran = household
    kitchen.stop()
    wait_until(lambda: "kitchen left" in server.text(), "the server to see the kitchen go", server)
    answer = run(ask(port, "Set a 5 minute timer."))
    assert isinstance(answer, NotHandled) and answer.text == "kitchen is offline.", answer
    assert recorded(ran) == []
