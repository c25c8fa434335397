"""The servers under load: `va server` and the seed snippet, each as a real subprocess."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import psutil
import yaml

from bench import procs
from bench.load import LoadResult, load, paired

# the seed snippet lives in shared/ beside the repository (as in the team's and CI's checkouts)
SEED = Path(os.environ.get("VA_SEED_SERVER", Path(__file__).resolve().parents[2] / "shared/reference/seed_server.py"))


@dataclass
class ServerRun:
    label: str
    ready_s: Optional[float] = None
    """From spawn until the server is ready (va: /health 200; seed: port open, model not loaded yet)."""
    results: Dict[int, LoadResult] = field(default_factory=dict)
    rss_mb: Optional[float] = None
    error: Optional[str] = None
    paired: Optional[Tuple[List[float], List[float]]] = None
    """(in-process ms, server ms), interleaved one by one at 1 client; see bench.load.paired."""


def write_va_config(directory: Path, port: int, engine: str, **server: object) -> Path:
    """A YAML config for `va server` on `port` (keys as in va.config)."""
    section = {"host": "127.0.0.1", "port": port, "engine": engine, "model": "tiny.en", **server}
    if engine == "faster-whisper":
        section.setdefault("compute_type", "int8")
    path = directory / f"va-server-{engine}.yaml"
    path.write_text(yaml.safe_dump({"server": section}, sort_keys=False))
    return path


def start_va(directory: Path, engine: str, name: str = "", **server: object):
    """`python -m va server` on the port it picks; its config and log (va-server-ENGINE[-NAME]) go in `directory`."""
    config = write_va_config(directory, 0, engine, **server)
    label = f"va-server-{engine}{'-' + name if name else ''}"
    proc = procs.start(label, ["-m", "va", "server", "--config", str(config)], directory)
    port = procs.logged_port(proc)
    procs.wait_health(proc, port)
    return proc, f"ws://127.0.0.1:{port}"


def start_seed(directory: Path, checkpoint: Path):
    """The seed snippet on port 0 ("localhost": its IPv4 port is the one read back)."""
    extra = {"SEED_MODEL": str(checkpoint), "SEED_PORT": "0"}
    proc = procs.start("seed-server", [str(SEED)], directory, extra)
    port = procs.listening_port(proc, timeout=60.0)
    return proc, f"ws://127.0.0.1:{port}"


def bench_server(
    label: str, starter, pcm: bytes, sequential: int, levels: Sequence[int], per_client: int,
    transcribe: Optional[Callable[[], object]] = None,
) -> ServerRun:
    """1 client x `sequential` requests, then each concurrency level x `per_client` requests each.

    With `transcribe` (the same clip through an in-process engine), `sequential` pairs of one
    in-process run and one request are timed first, for the server's overhead.
    """
    run = ServerRun(label)
    proc = None
    try:
        started = time.perf_counter()
        proc, url = starter()
        run.ready_s = time.perf_counter() - started
        if transcribe is not None:
            run.paired = paired(url, pcm, transcribe, sequential)
        run.results[1] = _checked(load(url, pcm, 1, sequential), proc)
        for clients in levels:
            if clients != 1:
                run.results[clients] = _checked(load(url, pcm, clients, per_client), proc)
        run.rss_mb = _rss_mb(proc.pid)
    except Exception as error:  # one broken server is a row that says why; the others still run
        run.error = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    finally:
        if proc is not None:
            procs.stop(proc)
    return run


def _checked(result: LoadResult, proc) -> LoadResult:
    if result.errors and not result.latencies_ms:
        raise RuntimeError(f"{result.errors[0]}; server log: {proc.last_line()}")
    return result


def _rss_mb(pid: int) -> Optional[float]:
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return None
