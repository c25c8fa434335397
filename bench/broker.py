"""What relaying through the broker adds: `python -m bench.broker [--runs 3] [--pairs 200] [--out FILE.md]`.

Each run starts mosquitto (Debian's package) on a loopback port and two `va server`s with
`server.broker.url` pointing at it, then connects three relay clients as raw websockets: the
origin and target "same" on server 1, target "across" on server 2. The targets answer every
`run` at once (no command runs: what is timed is the relay). Measured as pairs, alternating
which goes first, so both see the same machine noise: the origin's `run` -> `run_result` round
trip to "same" (one server: origin -> server -> target -> server -> origin) and to "across"
(origin -> server 1 -> mosquitto -> server 2 -> target, and back the same way). Reported: each
path's median and p95 and those of the pair differences. The 1-minute load average is read
before and after each run: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

if __package__ in (None, ""):  # `python bench/broker.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import ClientConnection, connect

from bench import machine, procs, servers
from bench.report import emit, table
from bench.stats import median, num, percentile

TIMEOUT = 60.0


def start_mosquitto(directory: Path, nodelay: bool = True, attempts: int = 5) -> Tuple[subprocess.Popen, int]:
    """mosquitto on a loopback port; ``nodelay``: ``set_tcp_nodelay true`` (off: Nagle). It cannot
    bind port 0, so it gets a port the system just handed out, and another should that be taken."""
    for _ in range(attempts - 1):
        try:
            return _mosquitto_on(directory, _unused_port(), nodelay)
        except RuntimeError:
            pass
    return _mosquitto_on(directory, _unused_port(), nodelay)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mosquitto_on(directory: Path, port: int, nodelay: bool) -> Tuple[subprocess.Popen, int]:
    config = directory / f"mosquitto-{port}.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false"]
    config.write_text("\n".join(lines + (["set_tcp_nodelay true"] if nodelay else [])) + "\n")
    with open(directory / f"mosquitto-{port}.log", "ab") as out:
        popen = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + TIMEOUT
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return popen, port
        if popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mosquitto did not start: {(directory / f'mosquitto-{port}.log').read_text()}")
        time.sleep(0.05)


# --- relay clients -------------------------------------------------------------------------------


async def _join(url: str, name: str) -> ClientConnection:
    connection = await connect(url, ping_interval=None)
    await connection.send(json.dumps({"type": "hello", "client": name, "relay": True, "commands": ["ping"]}))
    return connection


async def _until(connection: ClientConnection, condition: Callable[[Dict[str, Any]], bool]) -> Dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(connection.recv(), TIMEOUT))
        if condition(message):
            return message


async def _answer_runs(connection: ClientConnection) -> None:
    """A target that answers every run at once."""
    async for frame in connection:
        message = json.loads(frame)
        if message.get("type") == "run":
            await connection.send(json.dumps({"type": "run_result", "id": message["id"], "outcome": "ok", "value": 1}))


def _lists(*names: str) -> Callable[[Dict[str, Any]], bool]:
    def condition(message: Dict[str, Any]) -> bool:
        online = {peer["name"] for peer in message.get("clients", ()) if peer.get("online")}
        return message.get("type") == "directory" and set(names) <= online

    return condition


class Origin:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection, self.count = connection, 0

    async def round_trip(self, target: str) -> float:
        self.count += 1
        request_id = f"bench-{self.count}"
        started = time.perf_counter()
        await self.connection.send(json.dumps({"type": "run", "id": request_id, "target": target, "command": "ping"}))
        result = await _until(self.connection, lambda message: message.get("id") == request_id)
        elapsed = (time.perf_counter() - started) * 1000
        if result.get("outcome") != "ok":
            raise RuntimeError(f"{target}: {result}")
        return elapsed


async def measure(url1: str, url2: str, pairs: int) -> List[Tuple[float, float]]:
    same, across = await _join(url1, "same"), await _join(url2, "across")
    origin = Origin(await _join(url1, "origin"))
    answering = [asyncio.create_task(_answer_runs(target)) for target in (same, across)]
    try:
        await _until(origin.connection, _lists("same", "across"))  # across: through the broker
        for _ in range(10):  # warm-up
            await origin.round_trip("same"), await origin.round_trip("across")
        results = []
        for index in range(pairs):
            if index % 2:
                far = await origin.round_trip("across")
                near = await origin.round_trip("same")
            else:
                near = await origin.round_trip("same")
                far = await origin.round_trip("across")
            results.append((near, far))
        return results
    finally:
        for task in answering:
            task.cancel()
        for connection in (same, across, origin.connection):
            await connection.close()


def one_run(directory: Path, pairs: int, nodelay: bool = True) -> dict:
    mosquitto, port = start_mosquitto(directory, nodelay)
    broker = {"url": f"mqtt://127.0.0.1:{port}", "topic_prefix": f"bench-{port}"}
    started = []
    try:
        started = [servers.start_va(directory, "faster-whisper", name=f"m{index}", broker=broker) for index in (1, 2)]
        run: dict = {"load_before": os.getloadavg()[0]}
        run["pairs"] = asyncio.run(measure(started[0][1], started[1][1], pairs))
        run["load_after"] = os.getloadavg()[0]
        return run
    finally:
        for proc, _ in started:
            procs.stop(proc)
        mosquitto.terminate()
        mosquitto.wait(30)


def report(runs: List[dict], nagle: bool = False) -> List[str]:
    lines = [f"# Relay through the broker ({len(runs)} runs{', mosquitto with Nagle' if nagle else ''})", "", machine.describe(), ""]
    loads = [f"{run['load_before']:.2f} / {run['load_after']:.2f}" for run in runs]
    lines += ["1-minute load average per run (start / end): " + "; ".join(loads), ""]
    rows = []
    for index, run in enumerate(runs, 1):
        near, far = [p[0] for p in run["pairs"]], [p[1] for p in run["pairs"]]
        added = [b - a for a, b in run["pairs"]]
        rows.append([index, len(near), num(median(near), 2), num(percentile(near, 95), 2), num(median(far), 2),
                     num(percentile(far, 95), 2), num(median(added), 2), num(percentile(added, 95), 2)])
    header = ["run", "pairs", "same p50", "same p95", "across p50", "across p95", "added p50", "added p95"]
    return lines + ["run -> run_result round trip, ms:", ""] + table(header, rows)


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--nagle", action="store_true", help="mosquitto without set_tcp_nodelay (its default)")
    parser.add_argument("--out", type=Path)
    plan = parser.parse_args(list(argv) or None)
    runs = []
    with tempfile.TemporaryDirectory(prefix="va-bench-broker-") as directory:
        for index in range(plan.runs):
            print(f"run {index + 1}/{plan.runs} (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
            runs.append(one_run(Path(directory), plan.pairs, not plan.nagle))
    emit(report(runs, plan.nagle), plan.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
