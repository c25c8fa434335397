"""Subprocesses under test: start them, wait until they are ready, stop them, read their logs.

Ports: each server binds port 0 itself and the bench reads back the port it got, from its log
(`logged_port`: va's "listening on ws://HOST:PORT") or from the system (`listening_port`: a
process that does not say, such as the seed snippet), so no other process can take it between
choosing and binding."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent


class ProcessFailed(RuntimeError):
    """A process under test died or never became ready; the message carries its log tail."""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def last_line(self) -> str:
        lines = [line for line in self.tail(30).splitlines() if line.strip()]
        return lines[-1].strip()[:240] if lines else "(empty log)"

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


VA_LISTENING = r"listening on wss?://[^ ]+:(\d+) "
"""What `va server` logs once it serves: the port is the group."""
WYOMING_LISTENING = r"Wyoming speech-to-text on [^ ]+:(\d+)"


def logged_port(proc: Proc, pattern: str = VA_LISTENING, timeout: float = 120.0) -> int:
    """The port the process wrote in its log (the first group of `pattern`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc)
        found = re.search(pattern, proc.text())
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    raise ProcessFailed(f"{proc.name} logged no port after {timeout:.0f} s: {proc.last_line()}")


def listening_port(proc: Proc, timeout: float = 120.0) -> int:
    """The IPv4 port the process listens on, as the system reports it (for a process that binds
    port 0 and does not say which it got)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc)
        ports = [c.laddr.port for c in psutil.Process(proc.pid).net_connections("inet4") if c.status == psutil.CONN_LISTEN]
        if ports:
            return ports[0]
        time.sleep(0.2)
    raise ProcessFailed(f"{proc.name} not listening after {timeout:.0f} s: {proc.last_line()}")


def env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The bench's environment plus PYTHONPATH (the package is not installed)."""
    result = dict(os.environ)
    result["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), result.get("PYTHONPATH")]))
    result["PYTHONUNBUFFERED"] = "1"
    result.update(extra or {})
    return result


def start(name: str, argv: List[str], log_dir: Path, extra_env: Optional[Dict[str, str]] = None) -> Proc:
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env=env(extra_env), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Proc(name, popen, log)


def wait_health(proc: Proc, port: int, timeout: float = 120.0) -> dict:
    """Poll GET /health until it answers 200 (the server says it is ready only once the model is loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return json.loads(reply.read())
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise ProcessFailed(f"{proc.name} not healthy after {timeout:.0f} s: {proc.last_line()}")


def wait_exit(proc: Proc, timeout: float) -> Optional[int]:
    try:
        return proc.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def stop(proc: Proc, timeout: float = 15.0) -> Optional[int]:
    """SIGTERM (graceful), then SIGKILL if it lingers; returns the exit code."""
    if proc.popen.poll() is None:
        proc.popen.send_signal(signal.SIGTERM)
        if wait_exit(proc, timeout) is None:
            proc.popen.kill()
            proc.popen.wait(5)
    return proc.popen.returncode


def _check_alive(proc: Proc) -> None:
    code = proc.popen.poll()
    if code is not None:
        raise ProcessFailed(f"{proc.name} exited with {code}: {proc.last_line()} (log {proc.log.name})")
