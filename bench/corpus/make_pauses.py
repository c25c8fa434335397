"""Commands with a pause inside them: `python bench/corpus/make_pauses.py [--set project|user] [--check]`.

Each clip says a command of bench/corpus/commands.py in two parts with a pause between them that
is longer than an early decision's pause (0.2 s) and shorter than the pause that ends a phrase
(0.8 s): "computer set a timer for twenty … five minutes", "computer play music by … the
beatles", "computer turn on … the kitchen lights". What was said before the pause is never the
command meant (a number that goes on, free text, an argument still to come), so an early decision
that fires on it is premature. Writes bench/corpus/pauses/clips/*.flac (16 kHz mono) and
bench/corpus/pauses/manifest.json, the same every run (seeded): Piper's joe and two espeak-ng
voices, clean, and a few in pink noise at 10 dB SNR. `--check`: the expected call of each text is
what today's matcher reads in the whole text (it stops if that is not the command meant).

``--set user`` (issue 21): the commands a new user writes (bench/corpus/pauses/user_commands.py,
free text and plain ints) in five voices, two to tune on and three held out
(bench/corpus/pauses/user_set.py): bench/corpus/pauses/user/ holds the whole commands (the latency
run, ``bench.early latency --set user``) and the same voices saying SAYINGS with a pause inside
(``--set user-pauses``), each entry tagged with its split.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]
import make_corpus  # noqa: E402
import phrases  # noqa: E402
import sound  # noqa: E402

sys.path.insert(0, str(HERE / "pauses"))
import user_set  # noqa: E402

OUT = HERE / "pauses"
SEED = 12
PAUSE_S = (0.35, 0.6)
"""The pause inside each phrase is drawn from this range (s)."""
VOICES = ("piper-joe", "espeak-us-m3", "espeak-gb-f3")
NOISY = 6
"""Clips mixed with pink noise at 10 dB SNR (the rest are clean)."""

# (before the pause, after it, the command meant)
SAYINGS = (
    ("set a timer for twenty", "five minutes", "set_timer"),
    ("set a timer for five", "minutes", "set_timer"),
    ("play music by", "the beatles", "play_music"),
    ("turn on", "the kitchen lights", "turn_on"),
    ("set the volume to seventy", "five", "set_volume"),
    ("lock the", "front door", "lock"),
    ("call", "grandma", "call"),
    ("set an alarm for seven", "thirty", "set_alarm"),
    ("turn off the", "bedroom fan", "turn_off"),
    ("add to the shopping list", "two dozen eggs", "add_to_shopping_list"),
    ("remind me in ten minutes to", "feed the cat", "remind_me_in"),
    ("set the temperature to twenty one", "point five degrees", "set_temperature"),
)


def plan() -> list:
    """Every saying in every voice: (index, voice, before, after, command, noisy)."""
    items = [(voice, *saying) for voice in VOICES for saying in SAYINGS]
    rng = random.Random(SEED)
    noisy = set(rng.sample(range(len(items)), NOISY))
    return [(index, *item, index in noisy) for index, item in enumerate(items)]


def expected(before: str, after: str, command: str, registry, commands) -> dict:
    """What today's matcher reads in the whole text, with the function's defaults."""
    from va.language.matching import interpret

    found = interpret(f"{phrases.KEYWORD} {before} {after}", registry)
    if found.command is None or found.command.name != command:
        raise SystemExit(f"{before} … {after}: read as {found.command and found.command.name} ({found.reason})")
    call = {"command": command, "args": {k: getattr(v, "value", v) for k, v in found.args.items()}}
    return make_corpus.with_defaults(call, commands)


def make(item: tuple, rng: random.Random) -> tuple:
    index, voice, before, after, command, noisy = item
    engine, name, speed, pitch = phrases.VOICES[voice]
    first = sound.synthesize(engine, name, speed, pitch, f"{phrases.KEYWORD} {before}")
    second = sound.synthesize(engine, name, speed, pitch, after)
    pause = round(rng.uniform(*PAUSE_S), 2)
    lead = round(rng.uniform(0.3, 0.5), 2)
    silent = [np.zeros(int(seconds * sound.RATE), np.float32) for seconds in (lead, pause, make_corpus.TAIL_S)]
    audio = np.concatenate([silent[0], first, silent[1], second, silent[2]])
    facts = {"pause_s": pause, "lead_s": lead, "pause_at_s": round(lead + len(first) / sound.RATE, 2)}
    if noisy:
        noise, _ = sound.segment(sound.noise_bed("pink"), len(audio), rng)
        audio, facts["snr_db"] = sound.mix(audio, noise, make_corpus.NOISE_SNR_DB, stationary=True)
    return audio, facts


USER = OUT / "user"
USER_COMMANDS = OUT / "user_commands.py"


def _user_commands():
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_commands", USER_COMMANDS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def whole_clip(voice: str, text: str, rng: random.Random) -> tuple:
    """A whole command, spoken at once: lead silence, the speech, the corpus' tail."""
    engine, name, speed, pitch = phrases.VOICES[voice]
    speech = sound.synthesize(engine, name, speed, pitch, f"{phrases.KEYWORD} {text}")
    lead = round(rng.uniform(0.3, 0.5), 2)
    silent = [np.zeros(int(seconds * sound.RATE), np.float32) for seconds in (lead, make_corpus.TAIL_S)]
    return np.concatenate([silent[0], speech, silent[1]]), {"lead_s": lead}


def make_user(check: bool) -> int:
    """The user-written commands: whole (user/manifest.json) and with a pause (user/pauses.json)."""
    from bench.recognition import Client

    client, commands = Client(USER_COMMANDS), _user_commands()
    voices = [voice for split in user_set.SPLIT_VOICES.values() for voice in split]
    said = [(voice, text) for voice in voices for text in user_set.whole(voice)]
    calls = [_read(client, text, commands) for _, text in said]
    paused = [(index, voice, *saying, False) for index, (voice, saying) in
              enumerate((voice, saying) for voice in voices for saying in user_set.SAYINGS)]
    pause_calls = [expected(before, after, command, client.registry, commands) for _, _, before, after, command, _ in paused]
    if check:
        print(f"{len(said)} whole and {len(paused)} paused clips: every text reads as the command meant")
        return 0
    (USER / "clips").mkdir(parents=True, exist_ok=True)
    manifest = []
    for index, ((voice, text), call) in enumerate(zip(said, calls)):
        audio, facts = whole_clip(voice, text, random.Random(f"{user_set.SEED}-{index}"))
        name = f"clips/{user_set.split_of(voice)}-{index:02d}-{voice}-{call['command'].replace('_', '-')}.flac"
        sound.write_flac(USER / name, audio)
        manifest.append({"file": name, "voice": voice, "split": user_set.split_of(voice), "condition": "clean",
                         "text": f"{phrases.KEYWORD} {text}", "expected": call,
                         "seconds": round(len(audio) / sound.RATE, 2), **facts})
        print(name, flush=True)
    (USER / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    entries = []
    for item, call in zip(paused, pause_calls):
        index, voice, before, after, command, _ = item
        audio, facts = make(item, random.Random(f"{user_set.SEED}-pause-{index}"))
        name = f"clips/{user_set.split_of(voice)}-pause-{index:02d}-{voice}-{command.replace('_', '-')}.flac"
        sound.write_flac(USER / name, audio)
        entries.append({"file": name, "voice": voice, "split": user_set.split_of(voice), "condition": "clean",
                        "text": f"{phrases.KEYWORD} {before} … {after}", "before_pause": f"{phrases.KEYWORD} {before}",
                        "expected": call, "seconds": round(len(audio) / sound.RATE, 2), **facts})
        print(name, flush=True)
    (USER / "pauses.json").write_text(json.dumps(entries, indent=1) + "\n")
    return 0


def _read(client, text: str, commands) -> dict:
    call = client.match(f"{phrases.KEYWORD} {text}")
    if call is None:
        raise SystemExit(f"{text!r} reads as no command")
    return make_corpus.with_defaults(call, commands)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("project", "user"), default="project")
    parser.add_argument("--check", action="store_true", help="only check the expected calls (no audio)")
    args = parser.parse_args()
    if args.set == "user":
        return make_user(args.check)
    from bench.recognition import Client

    client, commands = Client(), make_corpus.load_commands()
    items = plan()
    calls = [expected(before, after, command, client.registry, commands) for _, _, before, after, command, _ in items]
    if args.check:
        print(f"{len(items)} clips: every text reads as the command meant")
        return 0
    (OUT / "clips").mkdir(parents=True, exist_ok=True)
    manifest = []
    for item, call in zip(items, calls):
        index, voice, before, after, command, noisy = item
        audio, facts = make(item, random.Random(f"{SEED}-{index}"))
        name = f"clips/pause-{index:02d}-{voice}-{command.replace('_', '-')}.flac"
        sound.write_flac(OUT / name, audio)
        manifest.append({"file": name, "voice": voice, "condition": "noise" if noisy else "clean",
                         "text": f"{phrases.KEYWORD} {before} … {after}", "before_pause": f"{phrases.KEYWORD} {before}",
                         "expected": call, "seconds": round(len(audio) / sound.RATE, 2), **facts})
        print(name, flush=True)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
