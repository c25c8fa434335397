"""The wait after the last word (issue 12): real-time clients, and end-of-speech detectors.

    .venv/bin/python -m bench.early latency [--set clean|noise|talker|reverb|pauses] [--room] [--early on|off]
                                            [--vad energy|webrtc] [--limit N]
    .venv/bin/python -m bench.early vad [--split tune|heldout]

``latency``: one `va server` (tiny.en, int8) and one `va client --input` playing the clips in real
time (VA_INPUT_PACE=1): the positive clips of bench/corpus in one condition (``clean``, ``noise``,
``talker``, ``reverb``: 84 each in the tune and heldout splits, ``--split``) or the commands with
a pause inside them of bench/corpus/pauses (``pauses``, 36). With ``--room`` the noise goes on
between the clips (bench.room). Each phrase's log line gives
"command started N ms" (from its last loud audio) and "ending pause X s"; each phrase is put back
on its clip by time. A clip is right when exactly one command ran and it is the expected call
(bench.recognition.same_call); a run is premature when it started before the clip's speech ended
(what was said after it was not part of what ran). Server CPU time (user + system of its process) is divided by the clips played.

``vad``: every clip of bench/corpus through each detector and va.client.endpoint, offline, 30 ms
frames: where the first phrase starts and ends against where the speech is (make_corpus puts
0.3-0.5 s of silence before it and 0.6 s after it, seeded, so it is known), and the CPU time per
second of audio. The energy detector calibrates on the clip's first 0.24 s played four times (about
``microphone.calibrate_seconds``, as SpeechRecognition's adjust_for_ambient_noise in the client).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

import psutil
import yaml

from bench import procs, servers
from bench.recognition import same_call
from bench.room import build as build_room
from va.config.settings import MicrophoneSettings
from bench.report import table

CORPUS = procs.ROOT / "bench" / "corpus"
CONDITIONS = ("clean", "noise", "talker", "reverb")
USER = CORPUS / "pauses" / "user"
SETS = {**{name: CORPUS / "manifest.json" for name in CONDITIONS}, "pauses": CORPUS / "pauses" / "manifest.json",
        "user": USER / "manifest.json", "user-pauses": USER / "pauses.json"}
COMMANDS = {"user": CORPUS / "pauses" / "user_commands.py", "user-pauses": CORPUS / "pauses" / "user_commands.py"}
"""The commands a set's clips say (default: bench/corpus/commands.py)."""
_HEARD = re.compile(r"^(?P<stamp>\S+ \S+) .*Heard (?P<text>.*?): (?P<why>.*) \(after end of speech: (?P<timing>[^)]*); "
                    r"ending pause (?P<pause>[\d.]+) s\)")
_MS = re.compile(r"(transcript|command started|done) (\d+) ms")
_CALL = re.compile(r"^ran (?P<name>\w+)\((?P<args>.*?)\)(?: -> .*)?$")
_OPENED = re.compile(r"^(?P<stamp>\S+ \S+) .*(Energy threshold|End of speech: )")
LEAD_S, GAP_S, TAIL_S = 2.0, 1.05, 0.6
"""FileSource.for_settings with calibrate_seconds 1 and pause_threshold 0.8: silence before and after each clip."""


def clips(name: str, limit: Optional[int], splits: str = "tune,heldout") -> List[dict]:
    entries = json.loads(SETS[name].read_text())
    if name in CONDITIONS:
        entries = [e for e in entries if e["condition"] == name and e["expected"] and e["split"] in splits.split(",")]
    elif name in COMMANDS:
        entries = [e for e in entries if e["split"] in splits.split(",")]
    if limit and limit < len(entries):
        entries = sorted(random.Random(12).sample(entries, limit), key=entries.index)
    for entry in entries:
        entry["path"] = str(SETS[name].parent / entry["file"])
    return entries


def run_client(entries: List[dict], early: bool, vad: str, logs: Path, room: bool = False,
               check: Optional[float] = None, commands: Path = CORPUS / "commands.py",
               microphone_extra: Optional[dict] = None) -> Dict[str, Any]:
    server, url = servers.start_va(logs, "faster-whisper", name="early")
    try:
        process = psutil.Process(server.pid)
        config = logs / "client.yaml"
        microphone = {"vad": vad, "early_pause": 0.2 if early else 0, **({"early_check": check} if check else {}),
                      **(microphone_extra or {})}
        config.write_text(yaml.safe_dump({"server_url": url, "microphone": microphone, "client": {"stream": early},
                                          "commands": {"modules": [], "paths": [str(commands)]}}))
        command = ["-m", "va", "client", "--config", str(config), "--input", *[e["path"] for e in entries]]
        if room:
            joined, bed = build_room(entries, GAP_S, logs)
            command = ["-m", "bench.room", str(bed), *command[2:-len(entries)], str(joined)]
        before, load = sum(process.cpu_times()[:2]), os.getloadavg()[0]
        client = procs.start(f"va-client-{'early' if early else 'pause'}", command, logs, {"VA_INPUT_PACE": "1"})
        code = procs.wait_exit(client, 60 + sum(e["seconds"] + GAP_S for e in entries) * 3)
        if code is None:
            procs.stop(client)
        cpu = sum(process.cpu_times()[:2]) - before
        return {"log": client.text(), "server_cpu_s": cpu, "load": (load + os.getloadavg()[0]) / 2, "exit": code}
    finally:
        procs.stop(server)


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def phrases_of(log: str) -> List[dict]:
    """Each phrase's record: its last loud moment (wall time), timings, what ran."""
    found = []
    for line in log.splitlines():
        match = _HEARD.search(line)
        if not match:
            continue
        timing = {name: int(value) for name, value in _MS.findall(match["timing"])}
        logged = _stamp(match["stamp"])
        call = _CALL.match(match["why"])
        found.append({"last_loud": logged - timing.get("done", timing.get("transcript", 0)) / 1000,
                      "started_ms": timing.get("command started"), "pause": float(match["pause"]),
                      "text": match["text"], "call": _parse_call(call) if call else None, "why": match["why"]})
    return found


def _parse_call(match: re.Match) -> Dict[str, Any]:
    args = {}
    for part in re.findall(r"(\w+)=((?:'[^']*'|\"[^\"]*\"|<[^>]*>|[^,])+)", match["args"]):
        name, value = part
        enum_value = re.match(r"<\w+\.\w+: (.*)>", value.strip())
        try:
            args[name] = ast.literal_eval(enum_value[1] if enum_value else value.strip())
        except (ValueError, SyntaxError):
            args[name] = value.strip()
    return {"command": match["name"], "args": args}


def judge(entries: List[dict], log: str, pause_threshold: float = 0.8) -> List[dict]:
    """Each clip with the phrases whose last loud audio fell in it (from its start to the next one's)."""
    opened = next((m for m in map(_OPENED.search, log.splitlines()) if m), None)
    if opened is None:
        raise RuntimeError("the client log has no 'Energy threshold' / 'End of speech' line")
    # the energy detector logs after calibrating on 1 s of the 2 s lead; a VAD logs before reading
    start = _stamp(opened["stamp"]) + (LEAD_S - 1.0 if "Energy" in opened.group(0) else LEAD_S)
    heard, results = phrases_of(log), []
    for entry in entries:
        end = start + entry["seconds"] + GAP_S
        mine = [p for p in heard if start <= p["last_loud"] < end]
        runs = [p for p in mine if p["call"] is not None]
        right = len(runs) == 1 and same_call(entry["expected"], runs[0]["call"])
        spoken_end = start + entry["seconds"] - TAIL_S  # both corpora end in 0.6 s of silence
        # premature: started before the clip's last word was said (its phrase went on after it)
        premature = [p for p in runs if p["started_ms"] is not None and p["last_loud"] + p["started_ms"] / 1000 < spoken_end]
        results.append({"file": entry["file"], "right": right, "runs": len(runs), "premature": len(premature),
                        "early": sum(p["pause"] < pause_threshold - 0.05 for p in runs),
                        "started_ms": runs[0]["started_ms"] if runs else None,
                        "true_ms": round((runs[0]["last_loud"] + runs[0]["started_ms"] / 1000 - spoken_end) * 1000)
                        if runs and runs[0]["started_ms"] is not None else None,
                        "heard": [p["text"] for p in mine], "why": [p["why"] for p in mine]})
        start = end
    return results


def latency(args: argparse.Namespace) -> int:
    entries = clips(args.set, args.limit, args.split)
    with tempfile.TemporaryDirectory(prefix="va-early-") as tmp:
        outcome = run_client(entries, args.early == "on", args.vad, Path(tmp), args.room, args.early_check,
                             _commands(args), _settings(args.set_microphone))
    results = judge(entries, outcome["log"])
    rows = [_row(f"{args.set} ({len(entries)} clips)", results, args, outcome, len(entries))]
    for split in ("tune", "heldout", "dev"):
        mine = [r for r in results if Path(r["file"]).name.startswith(split)]
        if mine and len(mine) < len(results):
            rows.append(_row(f"{split} ({len(mine)} clips)", mine, args, outcome, len(entries)))
    print("\n".join(table(["clips", "setting", "last word → command started p50 ms", "p90 ms",
                           "from the clip's true end of speech p50 ms", "right",
                           "ran early", "premature", "ran twice", "server CPU ms / phrase", "load avg"], rows)))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "clips": results}, indent=1))
    return 0


def _row(name: str, results: List[dict], args: argparse.Namespace, outcome: Dict[str, Any], played: int) -> List[str]:
    started = [r["started_ms"] for r in results if r["started_ms"] is not None]
    true = [r["true_ms"] for r in results if r["true_ms"] is not None]
    check = f", early_check {args.early_check:g}" if args.early_check else ""
    check += "".join(f", {pair}" for pair in args.set_microphone) + (", known values" if args.commands else "")
    return [name, f"early {args.early}, {args.vad}{', room' if args.room else ''}{check}",
           f"{statistics.median(started):.0f}" if started else "n/a",
           f"{sorted(started)[int(len(started) * 0.9)]:.0f}" if started else "n/a",
           f"{statistics.median(true):.0f}" if true else "n/a",
           f"{sum(r['right'] for r in results)}/{len(results)}", str(sum(r["early"] for r in results)),
           str(sum(r["premature"] for r in results)), str(sum(r["runs"] > 1 for r in results)),
           f"{outcome['server_cpu_s'] * 1000 / played:.0f}", f"{outcome['load']:.1f}"]


def _commands(args: argparse.Namespace) -> Path:
    if args.commands == "known":
        return CORPUS / "pauses" / "user_commands_known.py"
    return COMMANDS.get(args.set, CORPUS / "commands.py")


def _settings(pairs: List[str]) -> Dict[str, Any]:
    """KEY=VALUE pairs as YAML values."""
    return {key: yaml.safe_load(value) for key, value in (pair.split("=", 1) for pair in pairs)}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    late = sub.add_parser("latency")
    late.add_argument("--set", choices=sorted(SETS), default="clean")
    late.add_argument("--early", choices=("on", "off"), default="on")
    late.add_argument("--vad", default=MicrophoneSettings().vad, help="microphone.vad (default: va's)")
    late.add_argument("--early-check", type=float, help="microphone.early_check (default: va's)")
    late.add_argument("--room", action="store_true", help="the noise goes on between the clips (bench.room)")
    late.add_argument("--split", default="tune,heldout", help="the corpus' splits, comma-separated (also: dev)")
    late.add_argument("--limit", type=int)
    late.add_argument("--commands", choices=("known",), help="user sets: the same commands with the known values of "
                      "their free text declared (bench/corpus/pauses/user_commands_known.py)")
    late.add_argument("--microphone", dest="set_microphone", action="append", default=[], metavar="KEY=VALUE",
                      help="another microphone setting for the client (e.g. open_pause=0.5)")
    late.add_argument("--json")
    vad = sub.add_parser("vad")
    vad.add_argument("--split", default="heldout")
    args = parser.parse_args(argv)
    if args.part == "vad":
        from bench.vad import main as vad_main

        return vad_main(args.split)
    return latency(args)


if __name__ == "__main__":
    sys.exit(main())
