"""Real `va` processes for the tests that attack them: a server, a client fed with --input, their
logs, and a few websocket helpers. Everything goes through `python -m va`, so these tests do not
depend on where a module lives inside the package.

Ports: a server binds port 0 itself and the test reads the port it got from its log ("listening
on ws://127.0.0.1:PORT"), so no other process can take the port between choosing and binding it.
A server started again on the port it had (`write_config(..., server.port)`) is the one exception.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import wave
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RECORDER = ROOT / "tests" / "client_commands" / "recorder.py"
TIMEOUT = 180.0
"""Seconds for any one wait: a bound on failure, never a measurement."""


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port nothing listens on while the block runs: bound here and never listened on, so a
    connection to it is refused and no other process can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def pcm(name: str) -> bytes:
    with wave.open(str(FIXTURES / name), "rb") as wav:
        return wav.readframes(wav.getnframes())


_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _spell(match: "re.Match[str]") -> str:
    number = int(match.group())
    if number < 20:
        return _UNITS[number]
    tens, units = divmod(number, 10)
    return _TENS[tens] + (f" {_UNITS[units]}" if units else "")


def words(text: str) -> str:
    """Spoken words only: Whisper writes '25%' or 'twenty-five, percent.' for the same words."""
    text = re.sub(r"\d+", _spell, text.lower().replace("%", " percent"))
    return " ".join(re.sub(r"[^a-z' ]+", " ", text).split())


def audio_input(data: bytes, **extra: Any) -> str:
    return json.dumps({"type": "audio_input", "data": base64.b64encode(data).decode("ascii"), **extra})


def silence_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0\0" * int(16000 * seconds))
    return path


def merge(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def write_config(path: Path, port: int = 0, extra: Optional[Dict[str, Any]] = None, scheme: str = "ws") -> Path:
    """A config for a server on `port` (0: the server picks one) and a client of it; `extra` is
    merged in. A client's config names the port its server got (`start_server(...).port`)."""
    base = {
        "keyword": "computer",
        "server_url": f"{scheme}://127.0.0.1:{port}",
        "server": {"host": "127.0.0.1", "port": port, "model": "tiny.en"},
        "commands": {"modules": [], "paths": [str(RECORDER)]},
        "client": {"reconnect_min_delay": 0.1, "reconnect_max_delay": 1.0},
    }
    path.write_text(yaml.safe_dump(merge(base, extra or {})))
    return path


def environment(tmp_path: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    for name in ("VA_CONFIG", "INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET", "SSL_CERT_FILE"):
        env.pop(name, None)  # log to stderr, where the tests read it; no systemd; no CA from outside
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["VA_RECORDER_FILE"] = str(tmp_path / "ran.jsonl")
    env.update(extra)
    return env


def wait_until(condition: Callable[[], Any], what: str, process: Any = None, timeout: float = TIMEOUT) -> Any:
    """condition()'s first true value; raises if `process` (a Process or a Popen) exits first."""
    deadline = time.monotonic() + timeout
    popen = getattr(process, "popen", process)
    while True:
        result = condition()
        if result:
            return result
        if popen is not None and popen.poll() is not None:
            said = process.text()[-3000:] if isinstance(process, Process) else ""
            raise AssertionError(f"{getattr(process, 'name', 'the process')} exited with {popen.returncode} "
                                 f"while waiting for {what}:\n{said}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


_STARTED: List["Process"] = []


def stop_all() -> None:
    """Kill whatever a test left running (an autouse fixture calls this)."""
    while _STARTED:
        _STARTED.pop().stop(signal.SIGKILL)


class Process:
    """A `python -m va ...` subprocess whose output goes to a file the test reads while it runs."""

    def __init__(self, tmp_path: Path, name: str, args: Sequence[str], env: Optional[Dict[str, str]] = None,
                 prefix: Sequence[str] = ()) -> None:
        _STARTED.append(self)
        self.name = name
        self.log = tmp_path / f"{name}.log"
        self._out = open(self.log, "ab")
        self._start = self._out.tell()  # where this run's lines begin (a restart appends to the log)
        self.port, self.url = 0, ""  # a server's, once start_server has read them from its log
        self.popen = subprocess.Popen([*prefix, sys.executable, "-m", "va", *args], cwd=tmp_path,
                                      env=env or environment(tmp_path), stdout=self._out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def this_run(self) -> str:
        """What this process wrote (not an earlier process of the same name)."""
        with open(self.log, "rb") as log:
            log.seek(self._start)
            return log.read().decode(errors="replace")

    def lines(self) -> List[str]:
        return self.text().splitlines()

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.popen.wait(timeout)

    def send(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(TIMEOUT)
        self._out.close()


def healthy(port: int, context: Optional[ssl.SSLContext] = None) -> bool:
    scheme = "https" if context else "http"
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/health", timeout=5, context=context) as response:
            return json.load(response).get("status") == "ok"
    except (OSError, ValueError):
        return False


_LISTENING = re.compile(r"listening on (wss?)://([^ ]+):(\d+) ")


def start_server(tmp_path: Path, config: Path, *, context: Optional[ssl.SSLContext] = None,
                 prefix: Sequence[str] = (), name: str = "server", env: Optional[Dict[str, str]] = None,
                 args: Sequence[str] = ()) -> Process:
    """`va server` with `config`, once /health says ok; `.port` and `.url` are where it listens."""
    server = Process(tmp_path, name, ["server", "--config", str(config), *args], env=env, prefix=prefix)
    wait_until(lambda: logged_port(server), "the server's port in its log", server)
    wait_until(lambda: healthy(server.port, context), "the server's /health", server)
    return server


def logged_port(server: Process) -> int:
    """The port a `va server` says it listens on in this run's log, also set as `.port` and
    `.url`; 0 while it has not said."""
    found = _LISTENING.search(server.this_run())
    if found:
        server.port, server.url = int(found[3]), f"{found[1]}://127.0.0.1:{found[3]}"
    return server.port if found else 0


def start_client(tmp_path: Path, config: Path, files: Sequence[Any], name: str = "client", **env: str) -> Process:
    paths = [str(path if isinstance(path, Path) else FIXTURES / path) for path in files]
    return Process(tmp_path, name, ["client", "--config", str(config), "--input", *paths],
                   environment(tmp_path, **env))


def ran(tmp_path: Path) -> List[Dict[str, Any]]:
    """The commands the recorder module saw, in order: [{"name": ..., "args": {...}}, ...]."""
    path = tmp_path / "ran.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT * 2))


async def receive(connection: Any, timeout: float = TIMEOUT) -> Dict[str, Any]:
    return json.loads(await asyncio.wait_for(connection.recv(), timeout))


async def ask(connection: Any, frame: Any) -> Dict[str, Any]:
    await connection.send(frame)
    return await receive(connection)


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")
