"""Benchmark `va`: `python -m bench.run [--quick] [--out FILE.md]` (see bench/README.md).

Everything runs in one go on one machine, so ratios compare like with like even on a noisy box.
A part that cannot run (a module not written yet, a server that dies) becomes an "n/a (why)"
row; the other parts still run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # `python bench/run.py`: make `bench` and `va` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import accuracy, client, corpus, decide, inproc, machine, procs, servers
from bench.audio import read_pcm, seconds, to_float
from bench.report import table
from va.config.settings import ENGINES
from bench.stats import median, ms, num, ratio

FIXTURE = procs.ROOT / "tests" / "fixtures" / "timer-joe.wav"
LOGS = Path(__file__).resolve().parent / ".cache" / "logs"


@dataclass(frozen=True)
class Plan:
    quick: bool
    inproc_runs: int
    openai_runs: int
    sequential: int
    per_client: int
    seed_sequential: int
    seed_per_client: int
    """The seed and va with openai-whisper take ~1-3 s a request here: fewer keep the run short."""
    va_levels: Sequence[int]
    seed_levels: Sequence[int]
    openai_levels: Sequence[int]
    accuracy_configs: Sequence[tuple]
    """(engine, speech_window, prompt)"""
    variants: Sequence[str]
    openai_variants: Sequence[str]
    """openai-whisper takes ~1-3 s a clip here: it is scored on fewer voices."""
    latency_repeats: int
    idle_seconds: float


QUICK = Plan(
    quick=True, inproc_runs=8, openai_runs=2, sequential=10, per_client=2, seed_sequential=5, seed_per_client=1, va_levels=(1, 4, 8, 16),
    seed_levels=(1, 8), openai_levels=(), variants=("joe", "espeak", "joe-noisy"), openai_variants=(), latency_repeats=3, idle_seconds=6.0,
    accuracy_configs=(("faster-whisper", True, True), ("faster-whisper", False, True), ("faster-whisper", True, False)),
)
FULL = Plan(
    quick=False, inproc_runs=10, openai_runs=5, sequential=20, per_client=4, seed_sequential=10, seed_per_client=2, va_levels=(1, 4, 8, 16),
    seed_levels=(1, 4, 8, 16), openai_levels=(1, 8), variants=("joe", "joe-high", "espeak", "joe-noisy"), openai_variants=("espeak", "joe-noisy"),
    latency_repeats=5, idle_seconds=10.0,
    accuracy_configs=(
        ("faster-whisper", True, True), ("faster-whisper", False, True), ("faster-whisper", True, False),
        ("openai-whisper", True, True), ("openai-whisper", False, True),
    ),
)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, no openai-whisper server (~3 min)")
    parser.add_argument("--out", metavar="FILE.md", help="also write the report here")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="va-bench-") as tmp:
        lines = Bench(plan, Path(tmp)).run()
    lines.append(f"\nTotal bench time: {time.monotonic() - started:.0f} s. Process logs: {LOGS}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


def _step(name: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0][:200]


class Bench:
    def __init__(self, plan: Plan, tmp: Path) -> None:
        self.plan = plan
        self.tmp = tmp
        self.pcm = read_pcm(FIXTURE)
        self.inproc: Dict[tuple, inproc.Timing] = {}
        self.servers: Dict[str, servers.ServerRun] = {}
        self.latency: Optional[client.LatencyResult] = None
        self.idle: Optional[client.IdleResult] = None
        self.scores: List[accuracy.Score] = []
        self.decider: Optional[decide.Decider] = None
        self.load_average: List[tuple] = []
        self.paired_error = ""

    def run(self) -> List[str]:
        for name, part in [
            ("in-process transcription", self.run_inproc),
            ("va server load", self.run_va),
            ("seed server load", self.run_seed),
            ("va server (openai-whisper) load", self.run_va_openai),
            ("client latency and idle", self.run_client),
            ("accuracy", self.run_accuracy),
        ]:
            _step(name)
            self.load_average.append((name, os.getloadavg()[0]))
            part()
        return self.render()

    # -- measuring --------------------------------------------------------------------------

    def run_inproc(self) -> None:
        audio = to_float(self.pcm)
        for engine in ENGINES:
            # openai-whisper is ~10x slower: fewer runs keep the bench inside its time budget
            runs, warmup = (self.plan.inproc_runs, 2) if engine == "faster-whisper" else (self.plan.openai_runs, 1)
            for window in (False, True):
                self.inproc[engine, window] = inproc.measure(engine, window, audio, runs, warmup)

    def run_va(self) -> None:
        try:  # the same engine and settings in this process, interleaved with requests for the overhead
            engine = inproc.load_engine(inproc.server_settings("faster-whisper", True))
            audio = to_float(self.pcm)
            transcribe = lambda: engine.transcribe(audio)  # noqa: E731
        except Exception as error:
            transcribe, self.paired_error = None, f"({_why(error)})"
        starter = lambda: servers.start_va(LOGS, "faster-whisper", name="load")  # noqa: E731
        plan = self.plan
        self._serve("va (faster-whisper)", starter, plan.va_levels, plan.sequential, plan.per_client, transcribe)
        engine = transcribe = None

    def run_va_openai(self) -> None:
        if self.plan.openai_levels:
            starter = lambda: servers.start_va(LOGS, "openai-whisper", name="load")  # noqa: E731
            plan = self.plan
            self._serve("va (openai-whisper)", starter, plan.openai_levels, plan.seed_sequential, plan.seed_per_client)

    def run_seed(self) -> None:
        try:
            from va.stt.models import openai_checkpoint

            checkpoint = openai_checkpoint("tiny.en")
        except Exception as error:
            self.servers["seed"] = servers.ServerRun("seed", error=f"no checkpoint: {_why(error)}")
            return
        plan = self.plan
        starter = lambda: servers.start_seed(LOGS, checkpoint)  # noqa: E731
        self._serve("seed", starter, plan.seed_levels, plan.seed_sequential, plan.seed_per_client)

    def _serve(
        self, label: str, starter: Callable, levels: Sequence[int], sequential: int, per_client: int,
        transcribe: Optional[Callable] = None,
    ) -> None:
        self.servers[label] = servers.bench_server(label, starter, self.pcm, sequential, levels, per_client, transcribe)

    def run_client(self) -> None:
        plan = self.plan
        self.latency, self.idle = client.measure(LOGS, self.tmp, FIXTURE, plan.latency_repeats, plan.idle_seconds)

    def run_accuracy(self) -> None:
        self.decider = decide.load()
        for engine_name in dict.fromkeys(config[0] for config in self.plan.accuracy_configs):
            variants = self.plan.variants if engine_name == "faster-whisper" else self.plan.openai_variants
            try:
                clips = corpus.clips(variants)
            except Exception as error:
                self.scores.append(accuracy.Score("corpus", error=f"cannot synthesise: {_why(error)}"))
                return
            for window in (True, False):
                configs = [c for c in self.plan.accuracy_configs if c[:2] == (engine_name, window)]
                if configs:
                    for score in _score_engine(engine_name, window, configs, clips, self.decider):
                        score.clips = f"{len(clips)}: {', '.join(variants)}"
                        self.scores.append(score)

    # -- reporting --------------------------------------------------------------------------

    def render(self) -> List[str]:
        seconds_ = seconds(self.pcm)
        lines = [
            f"# va benchmark ({'quick' if self.plan.quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M')}",
            "",
            f"Machine: {machine.describe()}",
            "",
            f"Command clip: `{FIXTURE.relative_to(procs.ROOT)}` ({seconds_:.1f} s, {_fixture_text()!r}).",
            "",
        ]
        busy = ", ".join(f"{name} {load:.1f}" for name, load in self.load_average)
        lines += [f"Load average (1 min) as each part started, on {os.cpu_count()} cores: {busy}. "
                  "Above the core count, other work competed for the CPU and times are inflated.", ""]
        lines += self.render_goals() + [""]
        lines += self.render_inproc() + [""]
        lines += self.render_servers() + [""]
        lines += self.render_client() + [""]
        lines += self.render_accuracy()
        return lines

    def render_goals(self) -> List[str]:
        va = self.servers.get("va (faster-whisper)")
        seed = self.servers.get("seed")
        va_oa = self.servers.get("va (openai-whisper)")
        rows = []
        p50_factor = ratio(_p50(seed, 1), _p50(va, 1))
        rows.append(["p50 at 1 client: seed / va (faster-whisper)", _x(p50_factor), ">= 4x lower", _met(p50_factor, 4)])
        tput_factor = ratio(_tput(va, 8), _tput(seed, 8))
        rows.append(["throughput at 8 clients: va (faster-whisper) / seed", _x(tput_factor), ">= 4x", _met(tput_factor, 4)])
        if va_oa is not None:
            factor = ratio(_p50(seed, 1), _p50(va_oa, 1))
            rows.append(["p50 at 1 client: seed / va (openai-whisper, same engine family)", _x(factor), "info", ""])
            factor = ratio(_tput(va_oa, 8), _tput(seed, 8))
            rows.append(["throughput at 8 clients: va (openai-whisper) / seed", _x(factor), "info", ""])
        local, remote = va.paired if va and va.paired else (None, None)
        overhead = ratio(_minus(median(remote), median(local)), median(local))
        detail = (f" (medians: server {ms(median(remote))} ms, in-process {ms(median(local))} ms; "
                  f"minimums: {ms(min(remote))} ms, {ms(min(local))} ms)") if local else ""
        rows.append([
            f"server overhead at 1 client: (server p50 - in-process median) / in-process, faster-whisper, speech "
            f"window, {len(local or [])} pairs of one in-process run and one request, interleaved",
            (f"n/a {self.paired_error}".strip() if overhead is None else f"{overhead * 100:+.1f}%{detail}"),
            "< 10%", _met(overhead, 0.10, below=True),
        ])
        result = va.results.get(1) if va else None
        wire = ratio(_minus(result and result.p50, result and result.processing_p50), result and result.processing_p50)
        rows.append(["same, measured in one process: (client p50 - server processing_ms p50) / processing p50",
                     "n/a" if wire is None else f"{wire * 100:+.1f}%", "info", ""])
        latency = self.latency.median_ms if self.latency else None
        rows.append(["end of speech -> command started (3 s command, median)", _unit(latency, "ms", self.latency),
                     "< 150 ms", _met(latency, 150, below=True)])
        rss = self.idle.rss_mb if self.idle else None
        rows.append(["client resident memory (RSS)", _unit(rss, "MB", self.idle), "< 80 MB", _met(rss, 80, below=True)])
        cpu = self.idle.cpu_percent if self.idle else None
        rows.append(["client idle CPU (% of one core)", _unit(cpu, "%", self.idle, 2), "< 5%", _met(cpu, 5, below=True)])
        return ["## Goals", ""] + table(["metric", "value", "goal", "met"], rows)

    def render_inproc(self) -> List[str]:
        rows = []
        for (engine, window), timing in self.inproc.items():
            label = "speech-length" if window else "full 30 s"
            if timing.error:
                rows.append([engine, label, f"n/a ({timing.error})", "", "", "", ""])
                continue
            rows.append([engine, label, num(timing.load_s, 2), ms(timing.median_ms), ms(min(timing.runs_ms)),
                         ms(max(timing.runs_ms)), repr(timing.text)])
        head = (f"## 1. In-process transcription (tiny.en, median of runs after warm-up: faster-whisper int8 "
                f"{self.plan.inproc_runs} after 2, openai-whisper fp32 {self.plan.openai_runs} after 1)")
        return [head, ""] + table(["engine", "encoder window", "load s (incl. warm-up)", "median ms", "min ms", "max ms", "text"], rows)

    def render_servers(self) -> List[str]:
        rows = []
        for label, run in self.servers.items():
            if run.error and not run.results:
                rows.append([label, "", "", f"n/a ({run.error})", "", "", "", "", ""])
                continue
            for clients, result in sorted(run.results.items()):
                errors = len(result.errors) or ""
                rows.append([label, clients, len(result.latencies_ms), ms(result.first_p50), ms(result.p50),
                             ms(result.p95), ms(result.processing_p50), num(result.throughput, 2), errors])
            if run.error:
                rows.append([label, "", "", f"stopped: {run.error}", "", "", "", "", ""])
        ready = ", ".join(f"{label} {num(run.ready_s)} s" for label, run in self.servers.items())
        rss = ", ".join(f"{label} {num(run.rss_mb, 0)} MB" for label, run in self.servers.items())
        notes = [
            "",
            f"1 client: sequential requests; N clients: one connection each, {self.plan.per_client} requests each "
            f"for va with faster-whisper, {self.plan.seed_per_client} for the slower seed and va with openai-whisper; "
            "all sent in the seed's format (base64 JSON).",
            "'connect+first' is connecting plus the first request, timed apart from the rest: the seed loads its "
            "model on every new connection, so its first answer includes a model load. p50/p95 and req/s count "
            "only the steady phase, which starts once every client has had its first answer. "
            "'server processing' is the processing_ms va puts in each reply (queue + decoding).",
            f"Start until ready: {ready} (the seed loads nothing until a client connects). "
            f"Server RSS after the load: {rss} (the seed holds one model per connection).",
        ]
        head = "## 2-3. Server latency and throughput (3 s command; va: `python -m va server`, seed: seed_server.py)"
        return [head, ""] + table(
            ["server", "clients", "requests", "connect+first p50 ms", "p50 ms", "p95 ms", "server processing p50 ms",
             "req/s", "errors"], rows
        ) + notes

    def render_client(self) -> List[str]:
        lines = ["## 5-6. Client (`python -m va client --input`, against `va server` with faster-whisper)", ""]
        lines += client.render_latency(self.latency) + [""]
        lines += client.render_idle(self.idle)
        return lines

    def render_accuracy(self) -> List[str]:
        rows = []
        for score in self.scores:
            if score.error:
                rows.append([score.label, score.clips, f"n/a ({score.error})", "", "", ""])
                continue
            command = "n/a" if score.command_accuracy is None else \
                f"{score.command_accuracy * 100:.0f}% ({score.commands_right}/{score.commands_total})"
            misses = "; ".join(f"{ref!r} -> {hyp!r}" for ref, hyp in score.misses[:3])
            rows.append([score.label, score.clips, f"{score.wer * 100:.1f}%" if score.words else "n/a", command,
                         ms(score.transcribe_ms), misses])
        lines = [f"## 7. Accuracy ({len(corpus.PHRASES)} spoken commands per voice; voices: piper joe, joe pitched "
                 "up and slowed with sox, espeak-ng, joe + brown noise at 15 dB SNR)", ""]
        lines += table(["engine / window / prompt", "clips", "WER", "command accuracy", "ms per clip", "misses"], rows)
        lines += ["", "WER: lowercase, punctuation dropped, digits spelled out; summed over all clips. "
                  f"Command accuracy: {self.decider.note if self.decider else 'n/a'}"]
        return lines


def _score_engine(engine_name, window, configs, clips, decider) -> List[accuracy.Score]:
    labels = {c: f"{engine_name} / {'speech-length' if window else 'full 30 s'} / "
                 f"{'hello prompt' if c[2] else 'no prompt'}" for c in configs}
    try:
        engine = inproc.load_engine(inproc.server_settings(engine_name, window))
    except Exception as error:
        return [accuracy.Score(labels[c], error=_why(error)) for c in configs]
    scores = []
    for config in configs:
        prompt = decider.prompt if config[2] else None
        if config[2] and not prompt:
            scores.append(accuracy.Score(labels[config], error="no hello vocabulary (registry missing)"))
            continue
        started = time.perf_counter()
        try:
            transcripts = [(clip, engine.transcribe(to_float(read_pcm(clip.path)), prompt=prompt).text) for clip in clips]
        except Exception as error:
            scores.append(accuracy.Score(labels[config], error=_why(error)))
            continue
        score = accuracy.score(labels[config], transcripts, decider)
        score.transcribe_ms = (time.perf_counter() - started) * 1000 / len(clips)
        scores.append(score)
    return scores


def _fixture_text() -> str:
    manifest = json.loads((FIXTURE.parent / "manifest.json").read_text())
    return next(entry["text"] for entry in manifest if entry["file"] == FIXTURE.name)


def _p50(run, clients):
    result = run.results.get(clients) if run else None
    return result.p50 if result else None


def _tput(run, clients):
    result = run.results.get(clients) if run else None
    return result.throughput if result else None


def _minus(a, b):
    return None if a is None or b is None else a - b


def _x(value) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def _met(value, bound, below=False) -> str:
    if value is None:
        return "n/a"
    return "yes" if (value < bound if below else value >= bound) else "**no**"


def _unit(value, unit, result, digits=0) -> str:
    if value is None:
        return f"n/a ({result.error})" if result is not None and result.error else "n/a"
    return f"{value:.{digits}f} {unit}"


if __name__ == "__main__":
    raise SystemExit(main())
