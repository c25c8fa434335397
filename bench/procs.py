"""Subprocesses under test: start them, wait until they are ready, stop them, read their logs."""

from __future__ import annotations

import json
import os
import signal
import socket
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def wait_port(proc: Proc, port: int, timeout: float = 60.0) -> None:
    """For the seed, which has no /health: wait until the port accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise ProcessFailed(f"{proc.name} not listening after {timeout:.0f} s: {proc.last_line()}")


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
