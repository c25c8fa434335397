"""Many rooms on one GPU: how many clients a `va server` on CUDA serves with p90 under 150 ms.

    .venv/bin/python -m bench.gpu [--engines faster-whisper,openai-whisper] [--device cuda] [--out FILE.md]

For each engine, a real `va server` (bundled tiny.en, `server.device` as given) is loaded with 1,
2, 4, ... clients, each on its own websocket sending the 3 s command clip over and over (the
server batches what waits together: that is what a card is for). A level's p50/p90 count the
steady requests only (bench.load). The report says the largest level whose p90 stayed under
150 ms. An engine whose server does not start is a line that says why (on CUDA, faster-whisper
without cuBLAS 12 says what to install). Made for the GPU machine; it runs on the CPU too.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

from bench import machine, procs, servers
from bench.audio import read_pcm
from bench.load import load
from bench.report import table
from bench.stats import ms, percentile

CLIP = procs.ROOT / "tests" / "fixtures" / "timer-joe.wav"
GOAL_MS = 150.0
LEVELS = (1, 2, 4, 8, 16, 32, 64)


def measure(engine: str, device: str, levels: List[int], requests: int, logs: Path) -> List[list]:
    try:
        proc, url = servers.start_va(logs, engine, name=f"gpu-{device}", device=device)
    except Exception as error:  # the reason is the row: a missing library, no device
        return [[engine, device, "-", f"did not start: {str(error).splitlines()[0][:200]}", "", "", ""]]
    rows = []
    try:
        pcm = read_pcm(CLIP)
        for clients in levels:
            result = load(url, pcm, clients, requests)
            p90 = percentile(result.latencies_ms, 90)
            rows.append([engine, device, clients, ms(result.p50), ms(p90),
                         f"{len(result.latencies_ms) / result.wall_s:.1f}" if result.wall_s else "-",
                         "; ".join(result.errors[:2])])
            if p90 is None or p90 > GOAL_MS * 4:
                break  # far past the goal: larger levels only take longer
    finally:
        procs.stop(proc)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="faster-whisper,openai-whisper")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--requests", type=int, default=8, help="steady requests per client and level")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logs = procs.ROOT / "bench" / ".cache" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    lines = [f"# Clients per GPU ({machine.describe()})", ""]
    rows = []
    for engine in args.engines.split(","):
        rows += measure(engine, args.device, [int(level) for level in args.levels.split(",")], args.requests, logs)
    lines += table(["engine", "device", "clients", "p50 ms", "p90 ms", "req/s", "errors"], rows)
    for engine in args.engines.split(","):
        served = [row[2] for row in rows if row[0] == engine and isinstance(row[2], int)
                  and row[4] != "-" and float(row[4]) <= GOAL_MS]
        lines.append(f"- {engine}: {max(served) if served else 'no'} clients with p90 under {GOAL_MS:.0f} ms")
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
