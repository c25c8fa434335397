"""One household, one answer (issue 22): real clients that hear the same phrase, one command runs.

`python -m bench.household --clients 3 --trials 50 [--servers 2]` starts a `va server` (or two behind
HAProxy, with mosquitto as their broker) and N real `va client --input` processes named after
rooms. Each client plays its own WAV in real time (VA_INPUT_PACE=1), all from the same wall-clock
instant (VA_INPUT_AT): one slot per trial, in which each client hears the trial's speech at its
own level (0 dB for the nearest, -3 to -12 dB for the others), delay (50-300 ms) and, in some
trials, noise (10-20 dB SNR), or not at all. Trials:

- one phrase (clean corpus clips, bench/corpus, never used to tune the arbitration): one command
  must run, on the client that heard it best (reported, not a goal: "best heard" is our model);
- addressed ("computer, study, what time is it", espeak-ng): it must run on the client named,
  whoever heard it best (a client that did not hear it gets it relayed);
- two rooms at once: two different phrases, each heard by its own client only: both must run.

The clients' records (what ran where, and which stood down) and the server's arbitration lines
(the winner's wait) are read from their logs. Reports: trials, doubles, misses, wrong room,
wrong command, and the added wait of the winner (p50, p90).
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bench.audio import RATE, write_wav

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "corpus"
ROOMS = ("kitchen", "study", "office")
LEAD_S = 2.0
"""FileSource's silence before the first file (microphone.calibrate_seconds + 1)."""
PAD_S = 3.5
"""Seconds of each slot after its latest speech: the pause, the reading, a relay."""
OPENING_S = 1.0
"""Seconds of each slot before its speech (in the room's noise, when it has some)."""
ADDRESSED = {"what time is it": "what_time_is_it", "what is the weather": "what_is_the_weather",
             "read the news": "read_the_news", "next song": "next_song", "pause the music": "pause_music",
             "cancel the timer": "cancel_timer"}
"""Addressed phrases (said after the client's name) and the commands they run."""


@dataclass(frozen=True)
class Hearing:
    client: str
    gain_db: float = 0.0
    delay_s: float = 0.0
    snr_db: Optional[float] = None
    """Noise at this SNR (None: none)."""


@dataclass(frozen=True)
class Speech:
    text: str
    command: str
    hearings: Tuple[Hearing, ...]
    addressed: Optional[str] = None
    audio: np.ndarray = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Trial:
    kind: str
    """one, addressed or two-rooms."""
    speeches: Tuple[Speech, ...]

    @property
    def seconds(self) -> float:
        return OPENING_S + max(len(s.audio) / RATE + max(h.delay_s for h in s.hearings) for s in self.speeches) + PAD_S


# --- the speech ------------------------------------------------------------------------------


def read_clip(path: Path) -> np.ndarray:
    from va.client.microphone import decode_file

    return np.frombuffer(decode_file(str(path)), np.int16).astype(np.float32) / 32768.0


def corpus_clips(splits: Sequence[str] = ("tune", "dev")) -> List[Tuple[str, str, Path]]:
    """(text, command, path) of the clean command clips that name no room (a room's name would address a client)."""
    entries = json.loads((CORPUS / "manifest.json").read_text())
    words = ("kitchen", "study", "office", "room", "hall", "garage", "bedroom")
    return [(e["text"], e["expected"]["command"], CORPUS / e["file"]) for e in entries
            if e["split"] in splits and e["condition"] == "clean" and e.get("expected")
            and not any(word in e["text"] for word in words)]


def espeak(text: str, voice: str, directory: Path) -> np.ndarray:
    path = directory / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True, timeout=60)
    raw = subprocess.run(["sox", str(path), "-r", str(RATE), "-c", "1", "-b", "16", "-t", "raw", "-"],
                         check=True, capture_output=True, timeout=60).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0 * 0.7


def make_trials(clients: Sequence[str], count: int, seed: int, directory: Path) -> List[Trial]:
    """``count`` trials: about 3 in 5 one phrase, 1 in 4 addressed, the rest two rooms at once."""
    rng = random.Random(seed)
    clips = corpus_clips()
    trials = []
    for number in range(count):
        roll = rng.random()
        if roll < 0.25:
            named = rng.choice(clients)
            phrase = rng.choice(sorted(ADDRESSED))
            audio = espeak(f"computer, {named}, {phrase}", rng.choice(["en-us", "en", "en-us+m3", "en+f3"]), directory)
            command = ADDRESSED[phrase]
            trials.append(Trial("addressed", (Speech(phrase, command, _hearings(rng, clients, absent=named), named, audio),)))
        elif roll < 0.85 or len(clients) < 2:
            text, command, path = rng.choice(clips)
            trials.append(Trial("one", (Speech(text, command, _hearings(rng, clients), None, read_clip(path)),)))
        else:
            (a, ca, pa), (b, cb, pb) = _two(rng, clips)
            first, second = rng.sample(list(clients), 2)
            trials.append(Trial("two-rooms", (Speech(a, ca, (Hearing(first),), None, read_clip(pa)),
                                              Speech(b, cb, (Hearing(second, delay_s=rng.uniform(0, 0.3)),), None, read_clip(pb)))))
    return trials


def _hearings(rng: random.Random, clients: Sequence[str], absent: Optional[str] = None) -> Tuple[Hearing, ...]:
    """The nearest client hears it at 0 dB; the others quieter, later, sometimes in noise; with
    ``absent`` (an addressed client), that one sometimes does not hear it at all."""
    order = list(clients)
    rng.shuffle(order)
    hearings = []
    for rank, name in enumerate(order):
        if name == absent and rng.random() < 0.3:
            continue
        gain = 0.0 if rank == 0 else -rng.uniform(3, 12)
        delay = 0.0 if rank == 0 else rng.uniform(0.05, 0.3)
        noise = rng.uniform(10, 20) if rng.random() < 0.3 else None
        hearings.append(Hearing(name, round(gain, 1), round(delay, 3), noise and round(noise, 1)))
    return tuple(hearings)


def _two(rng: random.Random, clips: List[Tuple[str, str, Path]]):
    first = rng.choice(clips)
    return first, rng.choice([clip for clip in clips if clip[1] != first[1]])


def render(trials: Sequence[Trial], clients: Sequence[str], directory: Path, seed: int = 0) -> Tuple[Dict[str, Path], List[float]]:
    """Each client's WAV, and where each trial's slot starts (seconds after the input starts playing)."""
    rng = np.random.default_rng(seed)
    total = sum(trial.seconds for trial in trials)
    tracks = {name: np.zeros(int(total * RATE) + RATE, np.float32) for name in clients}
    starts, at = [], 0.0
    for trial in trials:
        starts.append(LEAD_S + at)
        for speech in trial.speeches:
            level = np.sqrt(np.mean(speech.audio ** 2)) + 1e-9
            for hearing in speech.hearings:
                begin = int((at + OPENING_S + hearing.delay_s) * RATE)
                heard = speech.audio * 10 ** (hearing.gain_db / 20)
                tracks[hearing.client][begin : begin + len(heard)] += heard
                if hearing.snr_db is not None:  # the room's noise, the whole slot long
                    span = slice(int(at * RATE), int((at + trial.seconds) * RATE))
                    noise_level = level * 10 ** (hearing.gain_db / 20) / 10 ** (hearing.snr_db / 20)
                    tracks[hearing.client][span] += rng.normal(0, noise_level, span.stop - span.start).astype(np.float32)
        at += trial.seconds
    paths = {}
    for name, track in tracks.items():
        paths[name] = directory / f"{name}.wav"
        write_wav(paths[name], track)
    return paths, starts


# --- what happened ---------------------------------------------------------------------------

_CLIENT_RECORD = re.compile(r"^(\S+ \S+) \w+ va\.client\.assistant: Heard (.*?): (ran|also heard by|[\w-]+) ?(.*)$")
_SERVER_LINE = re.compile(r"^(\S+ \S+) INFO va\.server\.household\.answers: (\S+) answers .*waited (\d+) ms\)$")


def _time(stamp: str) -> float:
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def records(log: str) -> List[Tuple[float, str]]:
    """(time, what became of it) of every phrase record in a client's log: "ran", "stood-down",
    or "nothing" (no keyword, no command, rejected)."""
    found = []
    for line in log.splitlines():
        match = _CLIENT_RECORD.match(line)
        if match:
            kind = {"ran": "ran", "also heard by": "stood-down"}.get(match.group(3), "nothing")
            found.append((_time(match.group(1)), kind))
    return found


def runs(name: str, log: str) -> List[Tuple[float, str, str]]:
    """(when its speech ended, client it ran on, the call) for each command a client's log says
    ran (the record's time less its latency: a slow reading still counts in its own trial)."""
    found = []
    for line in log.splitlines():
        match = _CLIENT_RECORD.match(line)
        if match and match.group(3) == "ran":
            call = match.group(4)
            target, _, rest = call.partition(": ") if re.match(r"^[\w-]+: ", call) else ("", "", call)
            latency = re.search(r"after end of speech: transcript (\d+) ms", call)
            spoken = _time(match.group(1)) - (int(latency.group(1)) / 1000 if latency else 0.0)
            found.append((spoken, target or name, rest))
    return found


def waits(log: str) -> List[Tuple[float, str, int]]:
    """(time, winner, ms it waited) of each arbitration the server logged."""
    return [(_time(m.group(1)), m.group(2), int(m.group(3))) for m in map(_SERVER_LINE.match, log.splitlines()) if m]


@dataclass
class Score:
    trials: int = 0
    doubles: int = 0
    misses: int = 0
    wrong_room: int = 0
    wrong_command: int = 0
    misheard: int = 0
    """Misses in whose trial a client's record says it heard no command (its reading, not the arbitration)."""
    best_heard: int = 0
    one: int = 0
    addressed: int = 0
    two_rooms: int = 0
    waited_ms: List[int] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def score(trials: Sequence[Trial], slots: Sequence[Tuple[float, float]], ran: List[Tuple[float, str, str]],
          waited: List[Tuple[float, str, int]], told: Sequence[Tuple[float, str]] = ()) -> Score:
    result = Score()
    for number, (trial, (begin, end)) in enumerate(zip(trials, slots)):
        result.trials += 1
        here = [(client, call) for at, client, call in ran if begin <= at < end]
        said = {speech.command for speech in trial.speeches}
        others = [run for run in here if run[1].split("(")[0] not in said]
        for speech in trial.speeches:
            mine = [(client, call) for client, call in here if call.split("(")[0] == speech.command]
            if len(mine) > 1:
                result.doubles += 1
            if not mine:
                result.misses += 1
                result.misheard += any(kind == "nothing" and begin <= at < end + 3 for at, kind in told)
            wrong = speech.addressed and mine and any(client != speech.addressed for client, _ in mine)
            if wrong:
                result.wrong_room += 1
                result.notes.append(f"trial {number}: addressed to {speech.addressed}, ran {mine}")
            best = max(speech.hearings, key=lambda h: (min(h.snr_db or 60, 40) + 0.5 * h.gain_db)).client
            if trial.kind == "one" and [client for client, _ in mine] == [best]:
                result.best_heard += 1
            if len(mine) != 1 or others:
                result.notes.append(f"trial {number} ({trial.kind}, {speech.text!r}, {speech.hearings}): ran {here}")
        result.wrong_command += len(others)
        setattr(result, trial.kind.replace("-", "_"), getattr(result, trial.kind.replace("-", "_")) + 1)
        mine_waits = [ms for at, _, ms in waited if begin <= at < end]
        if trial.kind != "two-rooms":
            result.waited_ms.append(max(mine_waits, default=0))
    return result


# --- the household ---------------------------------------------------------------------------


def client_config(directory: Path, name: str, url: str) -> Path:
    config = directory / f"{name}.yaml"
    config.write_text(json.dumps({
        "keyword": "computer", "server_url": url,
        "commands": {"modules": [], "paths": [str(CORPUS / "commands.py")]},
        "client": {"name": name, "area": name, "reconnect_min_delay": 0.1, "reconnect_max_delay": 1.0},
        "remote": {"allow": {"*": ["*"]}},
    }))
    return config


def server_config(directory: Path, name: str, broker: Optional[int], arbitration: bool = True,
                  max_wait: Optional[float] = None) -> Path:
    """A server on a free port (it says which in its log)."""
    server = {"host": "127.0.0.1", "port": 0, "model": "tiny.en", "arbitration": {"enabled": arbitration}}
    if max_wait is not None:
        server["arbitration"]["max_wait"] = max_wait
    if broker is not None:
        server["broker"] = {"url": f"mqtt://127.0.0.1:{broker}", "topic_prefix": "va-household"}
    config = directory / f"{name}.yaml"
    config.write_text(json.dumps({"server": server}))
    return config


def play(directory: Path, trials: Sequence[Trial], clients: Sequence[str], servers: int = 1,
         arbitration: bool = True, start_in: float = 12.0, pinned: Optional[Dict[str, int]] = None,
         max_wait: Optional[float] = None) -> Score:
    """Run the trials through real processes in ``directory``; the score. With two servers the
    clients connect through HAProxy, except those ``pinned`` to a server (its number) directly."""
    sys.path.insert(0, str(ROOT / "tests"))
    import procs  # tests/procs.py: real `va` processes
    from bench.haproxy import Balancer
    from test_broker_e2e import Mosquitto

    paths, starts = render(trials, clients, directory)
    broker = Mosquitto(directory) if servers > 1 else None
    started = [procs.start_server(directory, server_config(directory, f"server{i}", broker and broker.port, arbitration, max_wait),
                                  name=f"server{i}") for i in range(servers)]
    ports = [server.port for server in started]
    balancer = Balancer(directory, ports) if servers > 1 else None
    url = balancer.url if balancer else f"ws://127.0.0.1:{ports[0]}"
    at = time.time() + start_in
    (directory / "start_at").write_text(repr(at))
    urls = {name: f"ws://127.0.0.1:{ports[(pinned or {})[name]]}" if name in (pinned or {}) else url for name in clients}
    players = [procs.start_client(directory, client_config(directory, name, urls[name]), [paths[name]], name=name,
                                  VA_INPUT_PACE="1", VA_INPUT_AT=repr(at)) for name in clients]
    try:
        logs = lambda: "".join(server.text() for server in started)  # noqa: E731
        procs.wait_until(lambda: all(f"{name} joined" in logs() for name in clients), "every client joined")
        if time.time() > at - LEAD_S:
            raise RuntimeError("the clients were not all connected in time: raise start_in")
        for player in players:
            player.wait(timeout=sum(trial.seconds for trial in trials) + start_in + 120)
    finally:
        for process in [*players, *started]:
            process.stop()
        if balancer is not None:
            balancer.stop()
        if broker is not None:
            broker.stop()
    return score_logs(directory, trials, clients, at, starts)


def score_logs(directory: Path, trials: Sequence[Trial], clients: Sequence[str], at: float, starts: Sequence[float]) -> Score:
    """The score of a run from the logs it left in ``directory``."""
    slots = [(at + start, at + start + trial.seconds) for start, trial in zip(starts, trials)]
    logs = {name: (directory / f"{name}.log").read_text(errors="replace") for name in clients}
    ran = sorted(run for name in clients for run in runs(name, logs[name]))
    told = sorted(record for name in clients for record in records(logs[name]))
    servers = "".join(path.read_text(errors="replace") for path in sorted(directory.glob("server*.log")))
    return score(trials, slots, ran, waits(servers), told)


def percentile(values: Sequence[int], share: float) -> float:
    return float(np.percentile(values, share * 100)) if values else 0.0


def report(label: str, result: Score) -> str:
    return (f"| {label} | {result.trials} ({result.one}/{result.addressed}/{result.two_rooms}) | {result.doubles} | "
            f"{result.misses} ({result.misheard}) | {result.wrong_room} | {result.wrong_command} | {result.best_heard}/{result.one} | "
            f"{percentile(result.waited_ms, 0.5):.0f} / {percentile(result.waited_ms, 0.9):.0f} |")


HEADER = ("| household | trials (one/addressed/two rooms) | doubles | misses (misheard) | wrong room | wrong command | "
          "best heard answered | winner's added wait p50 / p90 ms |\n|---|---|---|---|---|---|---|---|")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3, choices=(2, 3))
    parser.add_argument("--servers", type=int, default=1, choices=(1, 2))
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--off", action="store_true", help="arbitration off (server.arbitration.enabled: false)")
    parser.add_argument("--max-wait", type=float, help="server.arbitration.max_wait (default: the setting's)")
    parser.add_argument("--keep", type=Path, help="keep the logs and WAVs here")
    parser.add_argument("--rescore", type=Path, help="score again the logs a run left in --keep DIR (same options)")
    args = parser.parse_args(argv)
    if args.rescore:
        return _rescore(args)
    directory = args.keep or Path(tempfile.mkdtemp(prefix="va-household-"))
    directory.mkdir(parents=True, exist_ok=True)
    clients = ROOMS[: args.clients]
    trials = make_trials(clients, args.trials, args.seed, directory)
    result = play(directory, trials, clients, args.servers, not args.off, max_wait=args.max_wait)
    label = _label(args)
    print(HEADER)
    print(report(label, result))
    for note in result.notes:
        print("  ", note)
    if args.keep is None:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def _label(args: argparse.Namespace) -> str:
    servers = f"{args.servers} server{'s' if args.servers > 1 else ''}"
    setting = " (off)" if args.off else f" (max_wait {args.max_wait:g})" if args.max_wait is not None else ""
    return f"{args.clients} clients, {servers}{setting}"


def _rescore(args: argparse.Namespace) -> int:
    directory, clients = args.rescore, ROOMS[: args.clients]
    saved = directory / "start_at"  # older runs: the clients' configs were written just after it was set
    at = float(saved.read_text()) if saved.exists() else (directory / f"{clients[0]}.yaml").stat().st_mtime + 12.0
    with tempfile.TemporaryDirectory() as scratch:
        trials = make_trials(clients, args.trials, args.seed, Path(scratch))
        _, starts = render(trials, clients, Path(scratch))
    result = score_logs(directory, trials, clients, at, starts)
    print(HEADER)
    print(report(_label(args), result))
    for note in result.notes:
        print("  ", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
