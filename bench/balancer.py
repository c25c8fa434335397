"""va servers behind HAProxy: `python -m bench.balancer [--runs 3] [--out FILE.md]`.

Each run starts two fresh `va server`s (faster-whisper tiny.en int8) and two HAProxys with the
shipped deploy/haproxy.cfg (bench.haproxy: one in front of server 1 only, one in front of both),
then measures:

1. What HAProxy adds at 1 client, as pairs (one direct to server 1, one through the 1-server
   HAProxy, alternating which goes first) so both see the same machine noise: the websocket
   handshake, a hello -> ready round trip (no model work: the proxy's own cost shows), and a
   spoken command (timer-joe.wav) -> transcript. Reported: the median and p95 of the pair
   differences (proxied - direct).
2. Throughput: N clients, each on its own websocket, each sending the command R times
   (bench.load), straight to server 1, through HAProxy to server 1, through HAProxy to both.

The 1-minute load average is read before and after each part: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Sequence, Tuple

if __package__ in (None, ""):  # `python bench/balancer.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import ClientConnection, connect

from bench import machine, procs, servers
from bench.audio import read_pcm
from bench.haproxy import Balancer
from bench.load import audio_message, load
from bench.report import table
from bench.stats import median, num, percentile
from va.protocol import Hello

FIXTURE = procs.ROOT / "tests" / "fixtures" / "timer-joe.wav"
HELLO = Hello("computer", ("set timer", "what time is it"), "bench").to_json()
Pair = Tuple[float, float]  # (direct ms, proxied ms)


def load_average() -> float:
    return os.getloadavg()[0]


# --- 1. latency that HAProxy adds ------------------------------------------------------------------


async def _timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def _pairs(direct: Callable[[], Awaitable[object]], proxied: Callable[[], Awaitable[object]], n: int) -> List[Pair]:
    pairs = []
    for index in range(n):
        if index % 2:
            via = await _timed(proxied)
            straight = await _timed(direct)
        else:
            straight = await _timed(direct)
            via = await _timed(proxied)
        pairs.append((straight, via))
    return pairs


def _round_trip(connection: ClientConnection, message: str) -> Callable[[], Awaitable[object]]:
    async def ask() -> object:
        await connection.send(message)
        return await asyncio.wait_for(connection.recv(), 300)

    return ask


def _handshake(url: str) -> Callable[[], Awaitable[object]]:
    async def open_and_close() -> object:
        connection = await connect(url, ping_interval=None, open_timeout=60)
        await connection.close()  # inside the timing for both paths alike
        return None

    return open_and_close


async def added_latency(direct: str, proxied: str, small: int, spoken: int, pcm: bytes) -> Dict[str, List[Pair]]:
    results = {"handshake + close": await _pairs(_handshake(direct), _handshake(proxied), small)}
    async with connect(direct, ping_interval=None, max_size=None) as one, connect(proxied, ping_interval=None, max_size=None) as two:
        results["hello -> ready"] = await _pairs(_round_trip(one, HELLO), _round_trip(two, HELLO), small)
        command = audio_message(pcm)
        await _round_trip(one, command)()  # warm-up
        await _round_trip(two, command)()
        results["spoken command -> transcript"] = await _pairs(_round_trip(one, command), _round_trip(two, command), spoken)
    return results


# --- a run -----------------------------------------------------------------------------------


def one_run(directory: Path, plan: argparse.Namespace, pcm: bytes) -> dict:
    started = [servers.start_va(directory, "faster-whisper", name=f"b{index}") for index in (1, 2)]
    ports = [int(url.rsplit(":", 1)[1]) for _, url in started]
    balancers: List[Balancer] = []
    try:
        balancers = [Balancer(directory, ports[:count]) for count in (1, 2)]
        for balancer in balancers:
            balancer.wait(lambda states: all(state == "UP" for state in states.values()), "servers up", 60)
        direct = started[0][1]
        run: dict = {"load_before": load_average()}
        run["latency"] = asyncio.run(added_latency(direct, balancers[0].url, plan.pairs, plan.spoken_pairs, pcm))
        run["load_latency"] = load_average()
        targets = (("1 server, direct", direct), ("1 server, HAProxy", balancers[0].url), ("2 servers, HAProxy", balancers[1].url))
        run["throughput"] = {}
        for clients in plan.clients:
            for label, url in targets:
                result = load(url, pcm, clients, plan.requests)
                if result.errors:
                    raise RuntimeError(f"{label}, {clients} clients: {result.errors[0]}")
                run["throughput"][(label, clients)] = (result.throughput, result.p50, load_average())
        run["load_after"] = load_average()
        return run
    finally:
        for balancer in balancers:
            balancer.stop()
        for proc, _ in started:
            procs.stop(proc)


# --- the report ------------------------------------------------------------------------------


def _span(values: Sequence[float], digits: int = 1) -> str:
    values = [value for value in values if value is not None]
    if not values:
        return "n/a"
    low, high = min(values), max(values)
    return num(low, digits) if f"{low:.{digits}f}" == f"{high:.{digits}f}" else f"{num(low, digits)} - {num(high, digits)}"


def report(runs: List[dict], plan: argparse.Namespace) -> List[str]:
    lines = [f"# va behind HAProxy ({len(runs)} runs)", "", machine.describe(), ""]
    loads = [f"{run['load_before']:.2f} / {run['load_latency']:.2f} / {run['load_after']:.2f}" for run in runs]
    lines += ["1-minute load average per run (start / after latency / end): " + "; ".join(loads), ""]
    lines += ["## What HAProxy adds at 1 client (ms, proxied - direct, per pair; range over runs)", ""]
    rows = []
    for part in runs[0]["latency"]:
        differences = [[via - straight for straight, via in run["latency"][part]] for run in runs]
        directs = [median([straight for straight, _ in run["latency"][part]]) for run in runs]
        rows.append([part, len(differences[0]), _span(directs), _span([median(d) for d in differences], 2),
                     _span([percentile(d, 95) for d in differences], 2)])
    lines += table(["round trip", "pairs/run", "direct p50", "added p50", "added p95"], rows) + [""]
    lines += [f"## Throughput: N clients x {plan.requests} spoken commands each (range over runs)", ""]
    rows = []
    for key in runs[0]["throughput"]:
        label, clients = key
        values = [run["throughput"][key] for run in runs]
        rows.append([label, clients, _span([v[0] for v in values], 2), _span([v[1] for v in values], 0),
                     _span([v[2] for v in values], 2)])
    lines += table(["target", "clients", "req/s", "p50 ms", "load after"], rows)
    return lines


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=200, help="handshake and hello pairs per run")
    parser.add_argument("--spoken-pairs", type=int, default=30, help="spoken-command pairs per run")
    parser.add_argument("--clients", type=lambda text: [int(n) for n in text.split(",")], default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=6, help="requests per client in the throughput part")
    parser.add_argument("--out", type=Path)
    plan = parser.parse_args(list(argv) or None)
    pcm = read_pcm(FIXTURE)
    runs = []
    with tempfile.TemporaryDirectory(prefix="va-bench-balancer-") as directory:
        for index in range(plan.runs):
            print(f"run {index + 1}/{plan.runs} (load {load_average():.2f})", file=sys.stderr, flush=True)
            runs.append(one_run(Path(directory), plan, pcm))
    text = "\n".join(report(runs, plan)) + "\n"
    print(text)
    if plan.out:
        plan.out.parent.mkdir(parents=True, exist_ok=True)
        plan.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
