"""Where a phrase ends when another person talks on after the command (issue 20), and what runs.

    .venv/bin/python -m bench.foreground [--split tune,dev|heldout|roomtune|roomheldout] [--drop 8] [--recognize]
                                         [--quiet-room] [--json OUT]

The talker clips of bench/corpus have the other voice over the whole clip and end 0.6 s after
the command, so no end of speech can be judged on them. Here each talker clip's command is spoken
again by its own voice (bench/corpus/sound.py: the same text, voice, speed and pitch; Piper's joe
only where piper is installed), 0.4 s of quiet before it and 3 s after, and the real recorded
talker of its split (tune and dev: the first third of Allison's recordings, held out: the rest;
the room splits: the clip's own talker) runs over all of it at an SNR drawn from 6, 9, 12 and 15 dB. The true end of the command is known.

Each clip goes frame by frame through the client's endpointer (va.client.endpoint, WebRTC VAD
level 2 and pause 0.8 s, the defaults) without and with the foreground filter
(va.client.foreground). A cut is right when the phrase's last speech frame ends within
[-0.3, +0.4] s of the true end (the phrase keeps 0.5 s after its last speech frame, so
a cut up to 0.3 s early loses none of the command); a phrase still going when the clip ends is "never".

`--recognize`: the phrase each endpointer delivers (the whole clip when it never ended) goes to
the bundled tiny.en and the grammar recognizer with the split's commands (bench.recognition's:
commands.py, household.py for the room splits, household_known.py with `--values`), as the
server reads it; what the client would run is judged against the manifest (bench.recognition).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from bench import procs
from bench.report import table

CORPUS = procs.ROOT / "bench" / "corpus"
SNRS = (6.0, 9.0, 12.0, 15.0)
LEAD, TAIL = 0.4, 3.0
RIGHT = (-0.3, 0.4)


def _corpus_modules() -> tuple:
    sys.path.insert(0, str(CORPUS))
    import make_corpus  # noqa: E402
    import phrases  # noqa: E402
    import sound  # noqa: E402

    return sound, phrases, make_corpus


def make_clips(splits: Sequence[str], seed: int = 20, talker: bool = True) -> List[dict]:
    """The talker clips' commands, spoken again with 3 s of the talker after them."""
    sound, phrases, make_corpus = _corpus_modules()
    entries = [e for e in json.loads((CORPUS / "manifest.json").read_text())
               if e["split"] in splits and e["condition"] == "talker"]
    rng = random.Random(seed)
    clips = []
    for entry in entries:
        engine, voice, speed, pitch = phrases.VOICES[entry["voice"]]
        try:
            speech = sound.synthesize(engine, voice, speed, pitch, entry["text"])
        except ImportError:
            continue  # piper not installed: that voice is left out (the report says how many clips ran)
        rate = sound.RATE
        audio = np.concatenate([np.zeros(int(LEAD * rate), np.float32), speech, np.zeros(int(TAIL * rate), np.float32)])
        snr = rng.choice(SNRS)
        talker_of = SimpleNamespace(split=entry["split"], extra={"talker": entry["talker"]} if "talker" in entry else {})
        other, _ = make_corpus._talker(talker_of, len(audio), rng)
        mixed = sound.mix(audio, other, snr, stationary=False)[0] if talker else audio
        clips.append({"entry": entry, "audio": mixed, "end": LEAD + len(speech) / rate, "snr": snr if talker else None})
    return clips


def cut(audio: np.ndarray, foreground: Optional[Any]) -> tuple:
    """(last speech frame's end in s or None when the phrase never ended, the phrase's pcm)."""
    from va.client.endpoint import Ended, Endpointer
    from va.client.vad import FRAME_BYTES, FRAME_SECONDS, WebRtcDetector

    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    detector, endpointer = WebRtcDetector(2), Endpointer(0.8, preroll=0.5, start_frames=2, foreground=foreground)
    for index in range(len(pcm) // FRAME_BYTES):
        frame = pcm[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        for event in endpointer.feed(frame, detector.is_speech(frame, endpointer.active), index * FRAME_SECONDS):
            if isinstance(event, Ended):
                return event.last_loud + FRAME_SECONDS, event.pcm
    return None, pcm


def run(clips: Sequence[dict], drop: float, recognize: bool, values: bool = False) -> List[dict]:
    from va.client.foreground import Foreground

    judge = _recognizer(values) if recognize else None
    results = []
    for clip in clips:
        for name, foreground in (("today", None), ("foreground", Foreground(drop))):
            end, pcm = cut(clip["audio"], foreground)
            error = None if end is None else end - clip["end"]
            row = {"path": name, "file": clip["entry"]["file"], "voice": clip["entry"]["voice"], "snr": clip["snr"],
                   "error_s": error, "right": error is not None and RIGHT[0] <= error <= RIGHT[1]}
            if judge is not None:
                row.update(judge(pcm, clip["entry"]))
            results.append(row)
    return results


def _recognizer(values: bool):
    """judge(pcm, entry): the phrase read by tiny.en and the grammar recognizer with the clip's
    split's commands (bench.recognition's choice; `values`: household_known.py for the room
    splits), decided by the client's own code and judged against the manifest."""
    from bench.recognition import PATHS, Client, commands_for, same_call
    from va.config import ServerSettings
    from va.language.grammar_registry import GrammarRegistry, grammar_of
    from va.server.recognition.recognizer import read
    from va.stt import create_engine

    engine = create_engine(dataclasses.replace(ServerSettings(), device="cpu"))
    path = PATHS["values" if values else "new"]
    clients: Dict[str, Any] = {}

    def judge(pcm: bytes, entry: dict) -> dict:
        commands = commands_for(path, entry["split"]) or commands_for(PATHS["new"], entry["split"])
        if commands not in clients:
            client = Client(commands)
            clients[commands] = (client, GrammarRegistry(grammar_of(client.registry)))
        client, grammar = clients[commands]
        audio = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
        result, reading = engine.judge(audio, None, lambda text, utterance: read(text.text, grammar, "computer", utterance))
        ran = client.decide(SimpleNamespace(text=result.text, reading=reading))
        return {"transcript": result.text, "ran": ran, "ran_right": same_call(entry["expected"], ran)}

    return judge


def render(results: Sequence[dict], load: tuple) -> List[str]:
    rows = []
    for name in ("today", "foreground"):
        mine = [r for r in results if r["path"] == name]
        errors = sorted(abs(r["error_s"]) for r in mine if r["error_s"] is not None)
        cells = [name, f"{sum(r['right'] for r in mine)}/{len(mine)}",
                 f"{sum(r['error_s'] is None for r in mine)}/{len(mine)}",
                 f"{errors[len(errors) // 2]:.2f}" if errors else "-"]
        if mine and "ran_right" in mine[0]:
            cells.append(f"{sum(r['ran_right'] for r in mine)}/{len(mine)}")
        cells += [f"{sum(r['right'] for r in mine if r['snr'] == snr)}/{sum(r['snr'] == snr for r in mine)}" for snr in SNRS]
        rows.append(cells)
    header = ["path", "cut right", "never ended", "median |error| s"]
    header += ["command right"] if results and "ran_right" in results[0] else []
    header += [f"right at {snr:g} dB" for snr in SNRS]
    return [f"1-minute load average: {load[0]:.2f} at start, {load[1]:.2f} at the end", ""] + table(header, rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="End of speech with a talker after the command.")
    parser.add_argument("--split", default="tune,dev", help="comma-separated corpus splits (tune, dev, heldout)")
    parser.add_argument("--drop", type=float, default=8.0, help="microphone.foreground_drop, dB")
    parser.add_argument("--recognize", action="store_true", help="also read each delivered phrase with tiny.en")
    parser.add_argument("--values", action="store_true", help="--recognize with the known values declared (room splits)")
    parser.add_argument("--quiet-room", action="store_true", help="no talker: does the filter cut a lone speaker short?")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    start = os.getloadavg()[0]
    results = run(make_clips(args.split.split(","), talker=not args.quiet_room), args.drop, args.recognize, args.values)
    lines = render(results, (start, os.getloadavg()[0]))
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"table": lines, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
