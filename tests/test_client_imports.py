"""The client process never imports the speech engines (torch, whisper, ctranslate2, faster_whisper)
nor numpy, nor va's server side.

A sitecustomize hook, put first on PYTHONPATH, writes sys.modules to a file when the process
exits. The client runs a real phrase through the whole pipeline (file source, listener, link to a
websocket server, matching, a command) before the dump is read, and the same hook is shown to
catch an engine when one is imported.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from websockets.asyncio.server import serve

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RECORDER = ROOT / "tests" / "client_commands" / "recorder.py"
TIMEOUT = 120.0
ENGINES = ("torch", "whisper", "ctranslate2", "faster_whisper", "numpy")
SERVER_SIDE = ("va.stt", "va.server", "va.stt.audio", "va.server.transcriber")

HOOK = """
import atexit, os, sys

def _dump():
    with open(os.environ["VA_MODULES_DUMP"], "w") as out:
        out.write("\\n".join(sorted(sys.modules)))

atexit.register(_dump)
"""


@pytest.fixture
def fake_server() -> Iterator[str]:
    """A websocket server in a thread that hears "computer what time is it" in every phrase."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: Dict[str, object] = {}

    async def handle(connection) -> None:
        async for frame in connection:
            message = json.loads(frame)
            if message["type"] == "audio_input":
                await connection.send(json.dumps({"type": "transcript", "data": "Computer, what time is it?", "id": message["id"]}))

    async def main() -> None:
        server = await serve(handle, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        holder["stop"] = stop = asyncio.Event()
        started.set()
        await stop.wait()
        server.close()
        await server.wait_closed()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(TIMEOUT)
    yield f"ws://127.0.0.1:{holder['port']}"
    loop.call_soon_threadsafe(holder["stop"].set)
    thread.join(TIMEOUT)


def modules_of(tmp_path: Path, args: List[str], env: Dict[str, str]) -> List[str]:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    dump = tmp_path / "modules.txt"
    env = {**env, "VA_MODULES_DUMP": str(dump), "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    result = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return dump.read_text().split()


def engines_in(modules: List[str]) -> List[str]:
    return [name for name in modules if name.split(".")[0] in ENGINES or name.startswith(SERVER_SIDE)]


def test_the_client_never_imports_a_speech_engine(tmp_path, fake_server):
    config = tmp_path / "config.yaml"
    config.write_text(f"server_url: {fake_server}\ncommands:\n  modules: []\n  paths: [{json.dumps(str(RECORDER))}]\n")
    ran = tmp_path / "ran.jsonl"
    env = {key: value for key, value in os.environ.items() if key not in ("VA_CONFIG", "INVOCATION_ID", "JOURNAL_STREAM")}
    env["VA_RECORDER_FILE"] = str(ran)
    modules = modules_of(tmp_path, ["-m", "va", "client", "--config", str(config), "--input", str(FIXTURES / "time-joe.wav")], env)
    # the whole pipeline ran in that process ...
    assert [json.loads(line)["name"] for line in ran.read_text().splitlines()] == ["what_time_is_it"]
    assert {"va.client.assistant", "va.client.link", "speech_recognition", "websockets"} <= set(modules)
    # ... without an engine
    assert engines_in(modules) == []


@pytest.mark.skipif(importlib.util.find_spec("ctranslate2") is None, reason="no engine installed (a client-only install)")
def test_the_hook_sees_an_engine_when_one_is_imported(tmp_path):
    modules = modules_of(tmp_path, ["-c", "import ctranslate2"], dict(os.environ))
    assert "ctranslate2" in engines_in(modules)


def test_the_client_imports_with_warnings_as_errors():
    # SpeechRecognition imports aifc/audioop, which warn on Python 3.11-3.13 (standard-aifc on 3.13)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import va.client.assistant, va.client.microphone as m; assert m.sr is not None"
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
