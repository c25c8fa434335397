"""The servers in the Wyoming head-to-head, each a real subprocess on a free port.

- va: `python -m va server` with `server.wyoming.port` set (tiny.en, int8, greedy).
- wyoming-faster-whisper, the server Home Assistant users run, in a venv of its own under
  bench/.cache/ (made once, with the faster-whisper and CTranslate2 versions va uses here), given
  the same bundled tiny.en directory, int8, beam size 1 and as many CPU threads as va uses, with
  --local-files-only, so nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import List, Tuple

from bench import procs, servers
from bench.wyoming_load import describe

PEER = "wyoming-faster-whisper==3.8.1"
VENV = Path(__file__).resolve().parent / ".cache" / "wyoming-faster-whisper"
_PINNED = ("faster-whisper", "ctranslate2")


def requirements() -> List[str]:
    """The peer, with the engine libraries pinned to the versions va runs with here."""
    pins = []
    for name in _PINNED:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return [PEER, *pins]


def ensure_venv(venv: Path = VENV) -> Path:
    """The peer's python, after making its venv if it is missing or holds other versions."""
    python = venv / "bin" / "python"
    marker = venv / "va-bench-requirements.txt"
    wanted = "\n".join(requirements())
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements()], check=True)
    marker.write_text(wanted)
    return python


def start_peer(log_dir: Path, python: Path, model_dir: Path) -> Tuple[procs.Proc, int]:
    threads = str(os.cpu_count() or 1)  # what va's faster-whisper engine uses
    argv = [
        str(python), "-m", "wyoming_faster_whisper", "--uri", "tcp://127.0.0.1:0",
        "--model", str(model_dir), "--data-dir", str(log_dir / "peer-data"), "--local-files-only",
        "--stt-library", "faster-whisper", "--device", "cpu", "--compute-type", "int8", "--beam-size", "1",
        "--cpu-threads", threads, "--language", "en",
    ]
    log = log_dir / "wyoming-faster-whisper.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(argv, cwd=log_dir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, "HF_HUB_OFFLINE": "1"})
    proc = procs.Proc("wyoming-faster-whisper", popen, log)
    port = procs.listening_port(proc, timeout=180.0)  # it binds port 0 and does not say which it got
    wait_describe(proc, port)
    return proc, port


def start_va(log_dir: Path) -> Tuple[procs.Proc, int]:
    """va server (its websocket port idle) with a Wyoming port; (process, Wyoming port)."""
    proc, _ = servers.start_va(log_dir, "faster-whisper", name="wyoming", wyoming={"host": "127.0.0.1", "port": 0})
    port = procs.logged_port(proc, procs.WYOMING_LISTENING)
    wait_describe(proc, port)
    return proc, port


def wait_describe(proc: procs.Proc, port: int, timeout: float = 180.0) -> dict:
    """Ready when `describe` is answered with `info` (the peer loads its model before listening)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise procs.ProcessFailed(f"{proc.name} exited with {proc.popen.returncode}: {proc.last_line()}")
        try:
            return asyncio.run(describe(port))
        except (OSError, asyncio.TimeoutError):
            time.sleep(0.3)
    raise procs.ProcessFailed(f"{proc.name} did not answer describe after {timeout:.0f} s: {proc.last_line()}")
