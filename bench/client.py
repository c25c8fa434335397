"""The client as a user runs it: `python -m va client --input FILE` against a real `va server`.

Latency: one client process per repetition, each playing the 3 s command once, read as fast as
the listener asks, so the silence that ends the phrase costs nothing and the number is end of
speech -> command started, as the client logs it ("command started N ms"). One process per
phrase keeps phrases from queueing behind each other.

Idle: the client plays a long silent WAV in real time (VA_INPUT_PACE=1: a stand-in for a quiet
microphone) and its RSS and CPU time are sampled while it listens to nothing.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import psutil
import yaml

from bench import procs, servers
from bench.audio import silence, write_wav
from bench.report import table

STUB_COMMANDS = Path(__file__).resolve().parent / "stub_commands"
# the client's one record per phrase, e.g. "Heard 'computer, set timer for 25 minutes': ran set_timer(...)
# (after end of speech: transcript 239 ms, command started 241 ms, done 246 ms; ...)"
_HEARD = re.compile(r"Heard (?P<text>.*?): (?P<why>.*) \(after end of speech: (?P<timing>[^)]*)\)")
_TRANSCRIPT = re.compile(r"transcript (\d+) ms")
_STARTED = re.compile(r"command started (\d+) ms")
_READY = "Listening on"
_SERVED = re.compile(r"\((?P<seconds>[\d.]+) s of audio, (?P<ms>\d+) ms\)")


@dataclass
class LatencyResult:
    start_ms: List[float] = field(default_factory=list)
    transcript_ms: List[float] = field(default_factory=list)
    server_ms: List[float] = field(default_factory=list)
    """The server's processing time (queue + decoding) for the same phrases, from its log."""
    audio_s: List[float] = field(default_factory=list)
    lines: List[str] = field(default_factory=list)
    commands: str = ""
    error: Optional[str] = None

    @property
    def median_ms(self) -> Optional[float]:
        return statistics.median(self.start_ms) if self.start_ms else None


@dataclass
class IdleResult:
    rss_mb: Optional[float] = None
    cpu_percent: Optional[float] = None
    seconds: float = 0.0
    error: Optional[str] = None


def measure(logs: Path, tmp: Path, fixture: Path, repeats: int, idle_seconds: float) -> Tuple[LatencyResult, IdleResult]:
    """Start one `va server` (faster-whisper) and run both client measurements against it."""
    try:
        server, url = servers.start_va(logs, "faster-whisper", name="for-client")
    except Exception as error:
        why = f"va server: {type(error).__name__}: {error}".splitlines()[0][:200]
        return LatencyResult(error=why), IdleResult(error=why)
    try:
        config, commands = _write_config(tmp, url)
        latency = _latency(logs, config, fixture, repeats)
        latency.commands = commands
        for match in filter(None, map(_SERVED.search, server.text().splitlines())):
            latency.server_ms.append(float(match["ms"]))
            latency.audio_s.append(float(match["seconds"]))
        return latency, _idle(logs, tmp, config, idle_seconds)
    finally:
        procs.stop(server)


def _write_config(tmp: Path, url: str) -> Tuple[Path, str]:
    modules, paths, note = _commands()
    config = {"server_url": url, "commands": {"modules": list(modules), "paths": list(paths)}}
    path = tmp / "client.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, note


def _commands() -> Tuple[tuple, tuple, str]:
    """The shipped clock/system modules when they provide set_timer, else a stand-in set_timer."""
    try:
        from va.config import CommandSettings
        from va.commands.registry import load_registry

        default = CommandSettings()
        if any(c.name == "set_timer" for c in load_registry(default).commands.values()):
            return default.modules, (), f"modules {', '.join(default.modules)}"
    except Exception:  # the registry is someone else's module: without it the stub still works
        pass
    return (), (str(STUB_COMMANDS),), "stand-in set_timer from bench/stub_commands (clock module not available)"


def _latency(logs: Path, config: Path, fixture: Path, repeats: int) -> LatencyResult:
    result = LatencyResult()
    for attempt in range(repeats):
        proc = procs.start(f"va-client-latency-{attempt}", ["-m", "va", "client", "--config", str(config),
                                                          "--input", str(fixture)], logs)
        code = procs.wait_exit(proc, 120)
        if code is None:
            procs.stop(proc)
        found = [m for m in map(_HEARD.search, proc.text().splitlines()) if m and _TRANSCRIPT.search(m["timing"])]
        if not found:
            result.error = f"no latency line in the client log (exit {code}): {proc.last_line()!r}"
            return result
        match = found[-1]
        result.lines.append(match.group(0))
        result.transcript_ms.append(float(_TRANSCRIPT.search(match["timing"]).group(1)))
        started = _STARTED.search(match["timing"])
        if started:
            result.start_ms.append(float(started.group(1)))
    if not result.start_ms:
        result.error = f"no command started: {result.lines[-1] if result.lines else '?'}"[:300]
    return result


def _idle(logs: Path, tmp: Path, config: Path, idle_seconds: float) -> IdleResult:
    result = IdleResult()
    quiet = tmp / "silence.wav"
    write_wav(quiet, silence(idle_seconds + 6.0))
    proc = procs.start("va-client-idle", ["-m", "va", "client", "--config", str(config), "--input", str(quiet)],
                       logs, {"VA_INPUT_PACE": "1"})
    try:
        deadline = time.monotonic() + 60
        while _READY not in proc.text():
            if proc.popen.poll() is not None or time.monotonic() > deadline:
                result.error = f"client never listened (exit {proc.popen.poll()}): {proc.tail(2)!r}"[:300]
                return result
            time.sleep(0.1)
        time.sleep(1.0)  # past start-up: the first chunks and the server's hello
        process = psutil.Process(proc.pid)
        before, started = _cpu(process), time.monotonic()
        rss = []
        while time.monotonic() - started < idle_seconds and proc.popen.poll() is None:
            rss.append(process.memory_info().rss)
            time.sleep(0.5)
        result.seconds = time.monotonic() - started
        result.cpu_percent = (_cpu(process) - before) / result.seconds * 100
        result.rss_mb = max(rss) / 2**20
    except psutil.Error as error:
        result.error = f"client went away: {error}"
    finally:
        procs.stop(proc)
    return result


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def render_latency(result: Optional[LatencyResult]) -> List[str]:
    if result is None:
        return ["End of speech -> command: n/a (not run)"]
    if result.error and not result.start_ms:
        return [f"End of speech -> command started: n/a ({result.error})"]

    def cells(values: List[float]) -> List[str]:
        return [f"{statistics.median(values):.0f}", f"{min(values):.0f}", f"{max(values):.0f}"] if values else ["n/a"] * 3

    audio = f"{statistics.median(result.audio_s):.1f} s phrase" if result.audio_s else "phrase"
    rows = [[f"server processing of the {audio} (queue + decoding, server log, default settings)",
             *cells(result.server_ms)],
            ["end of speech -> transcript received", *cells(result.transcript_ms)],
            ["end of speech -> command started", *cells(result.start_ms)]]
    return [f"End of speech -> command, {len(result.start_ms)} client runs, one 3 s command each, "
            f"commands: {result.commands}; the pause that ends a phrase is not counted:", ""] + \
        table(["stage", "median ms", "min ms", "max ms"], rows) + ["", f"Client log: {result.lines[-1]!r}"]


def render_idle(result: Optional[IdleResult]) -> List[str]:
    if result is None:
        return ["Idle client: n/a (not run)"]
    if result.error:
        return [f"Idle client: n/a ({result.error})"]
    return [f"Idle client (listening to real-time silence, VA_INPUT_PACE=1, for {result.seconds:.0f} s): "
            f"RSS {result.rss_mb:.0f} MB (peak), CPU {result.cpu_percent:.2f}% of one core."]
