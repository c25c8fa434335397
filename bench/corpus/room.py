"""The room splits (issue 20): household.py's commands said in rooms with other people and a TV.

What the two splits say, over what, and by whom: `roomtune` is for tuning, `roomheldout` is only
measured. They share no synthetic voice, no competing talker (a real recorded person), no music
track, no phrasing and no free-text value. Pure data and a planner, like phrases.py; make_corpus.py
turns the plan into audio.

Conditions: clean, stationary noise at 10 dB, reverb, a competing real talker and a TV (a real
talker over music), the last two at an SNR drawn from 6-15 dB.
"""

from __future__ import annotations

import random
from typing import Dict, List, Sequence, Tuple

from phrases import KEYWORD, Utterance, say

SPLITS = ("roomtune", "roomheldout")
SEED = 20
CONDITIONS = ("clean", "noise", "reverb", "talker", "tv")
SNRS_DB = (6.0, 9.0, 12.0, 15.0)
"""Talker and TV SNRs, dealt in turn to each talker so that every talker meets every SNR."""
PER_COMMAND = {"roomtune": {"clean": 1, "noise": 1, "reverb": 1, "talker": 2, "tv": 2},
               "roomheldout": {"clean": 2, "noise": 2, "reverb": 2, "talker": 4, "tv": 4}}
NEGATIVES_PER_KIND = {"roomtune": 4, "roomheldout": 6}

SPLIT_VOICES = {
    "roomtune": ("espeak-us-m3", "espeak-gb-f3"),
    "roomheldout": ("piper-joe", "espeak-us-f2", "espeak-en-m7", "espeak-rp-f4", "espeak-us-m1"),
}
SPLIT_TALKERS = {
    "roomtune": ("allison", "armelle", "paola"),
    "roomheldout": ("carlo", "june", "ivrvoice-ru", "july"),
}
"""Real recorded people (sound.TALKERS). Allison is the one talker of the older splits: tune only."""
SPLIT_MUSIC = {
    "roomtune": ("macroform-cold_day", "macroform-robot_dity"),
    "roomheldout": ("macroform-the_simplicity", "manolo_camp-morning_coffee", "reno_project-system"),
}
"""Music-on-hold tracks of asterisk-moh-opsound-wav under the TV's talker."""

# what the str slots name; each split draws from its own half, household_known.py declares them all
VALUES: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "device": {"roomtune": ("kitchen lights", "bedroom fan", "heater", "radio", "porch light", "dishwasher"),
               "roomheldout": ("living room lamp", "coffee machine", "tv", "hallway lights", "desk lamp",
                               "air conditioner")},
    "artist": {"roomtune": ("taylor swift", "the beatles", "daft punk", "adele", "coldplay", "johnny cash"),
               "roomheldout": ("miles davis", "norah jones", "bob marley", "ella fitzgerald", "pink floyd",
                               "billie eilish")},
    "site": {"roomtune": ("youtube", "amazon", "reddit", "google maps", "netflix"),
             "roomheldout": ("wikipedia", "github", "stack overflow", "bbc news", "the guardian")},
}
NUMBERS: Dict[str, Sequence[int]] = {
    "minutes": tuple(range(1, 61)), "level": tuple(range(5, 101, 5)), "degrees": tuple(range(15, 29)),
    "first": tuple(range(1, 100)), "second": tuple(range(1, 100)),
}

PHRASINGS: Dict[str, Dict[str, List[str]]] = {
    "turn_on": {"roomtune": ["turn on {device}", "turn on the {device}"],
                "roomheldout": ["turn on the {device} please", "please turn on the {device}", "turn on {device} now"]},
    "turn_off": {"roomtune": ["turn off {device}", "turn off the {device}"],
                 "roomheldout": ["turn off the {device} please", "please turn off the {device}",
                                 "turn off {device} now"]},
    "play_music": {"roomtune": ["play music by {artist}", "play music {artist}"],
                   "roomheldout": ["play some music by {artist}", "please play music by {artist}"]},
    "open_browser": {"roomtune": ["open browser {site}", "open the browser {site}"],
                     "roomheldout": ["open browser {site} please", "please open the browser {site}"]},
    "set_timer": {"roomtune": ["set timer for {minutes} minutes", "set a timer {minutes} minutes"],
                  "roomheldout": ["set a timer for {minutes} minutes please", "please set the timer to {minutes} minutes"]},
    "set_volume": {"roomtune": ["set volume to {level}", "set the volume {level}"],
                   "roomheldout": ["set the volume to {level} percent", "please set volume to {level}"]},
    "set_temperature": {"roomtune": ["set temperature to {degrees} degrees", "set the temperature {degrees}"],
                        "roomheldout": ["set the temperature to {degrees} please",
                                        "please set temperature to {degrees} degrees"]},
    "add_numbers": {"roomtune": ["add numbers {first} and {second}"],
                    "roomheldout": ["add numbers {first} plus {second}", "please add numbers {first} and {second}"]},
    "what_time_is_it": {"roomtune": ["what time is it"], "roomheldout": ["what time is it now", "what time is it please"]},
    "lock_screen": {"roomtune": ["lock screen", "lock the screen"],
                    "roomheldout": ["please lock the screen", "lock the screen now"]},
    "next_song": {"roomtune": ["next song", "next song please"], "roomheldout": ["the next song please", "play the next song"]},
}

NEGATIVES: Dict[str, Dict[str, List[str]]] = {
    "no_keyword": {
        "roomtune": ["turn on the radio", "set a timer for five minutes", "what time is it", "next song"],
        "roomheldout": ["turn off the desk lamp please", "play some music by miles davis", "open browser wikipedia",
                        "set the volume to forty", "lock the screen now", "add numbers two and three"]},
    "keyword_not_first": {
        "roomtune": ["the computer is playing music", "turn off the computer", "my computer is slow today",
                     "put the computer next to the radio"],
        "roomheldout": ["can you lock the computer screen", "the computer says it is three o'clock",
                        "i left the computer on all night", "ask the computer for the next song",
                        "the kids broke the computer again", "is the computer still downloading"]},
    "unregistered": {
        "roomtune": ["computer order a pizza", "computer call my sister", "computer water the plants",
                     "computer read my email"],
        "roomheldout": ["computer book a table for two", "computer how far is the moon", "computer take a photo",
                        "computer find my keys", "computer translate good morning", "computer start the car"]},
    "conversation": {
        "roomtune": ["did you hear that song on the radio", "we should eat in ten minutes",
                     "the heater is making a noise again", "shall we watch a film tonight"],
        "roomheldout": ["i think the lamp needs a new bulb", "what time does the train leave",
                        "your sister called while you were out", "turn left after the second light",
                        "the coffee machine is empty again", "let us go for a walk later"]},
    "talker_alone": {}, "tv_alone": {}, "noise_alone": {},
}


def plan(rng_seed: int = SEED) -> List[Utterance]:
    """Every clip of the room splits, deterministic (seeded), before any audio is made."""
    rng = random.Random(rng_seed)
    result: List[Utterance] = []
    for split in SPLITS:
        positives = _positives(split, rng)
        result += _with_rooms(split, positives + _negatives(split, rng))
    return result


def _positives(split: str, rng: random.Random) -> List[Utterance]:
    count = len(PHRASINGS) * sum(PER_COMMAND[split].values())
    voices = _dealt(SPLIT_VOICES[split], count, rng)
    result = []
    for command, phrasings in PHRASINGS.items():
        conditions = [c for c in CONDITIONS for _ in range(PER_COMMAND[split][c])]
        for k, condition in enumerate(conditions):
            template = phrasings[split][k % len(phrasings[split])]
            text, args = fill(template, split, rng)
            result.append(Utterance(split, condition, condition, voices.pop(), f"{KEYWORD} {text}",
                                    {"command": command, "args": args}, template))
    return result


def _negatives(split: str, rng: random.Random) -> List[Utterance]:
    count = NEGATIVES_PER_KIND[split]
    spoken = _dealt(SPLIT_VOICES[split], count * 4, rng)
    result = []
    for index, (kind, texts) in enumerate(NEGATIVES.items()):
        for k in range(count):
            if kind.endswith("_alone"):
                source = kind[: -len("_alone")]
                result.append(Utterance(split, kind, source, source, "", None))
                continue
            mix = CONDITIONS[(k + index) % len(CONDITIONS)]
            result.append(Utterance(split, kind, mix, spoken.pop(), texts[split][k], None))
    return result


def _with_rooms(split: str, utterances: List[Utterance]) -> List[Utterance]:
    """Each talker and TV clip gets its talker, SNR and (TV) music track, dealt in turn."""
    talkers, music = SPLIT_TALKERS[split], SPLIT_MUSIC[split]
    dealt = 0
    result = []
    for utterance in utterances:
        if utterance.mix in ("talker", "tv"):
            extra = {"talker": talkers[dealt % len(talkers)], "snr_db": SNRS_DB[dealt // len(talkers) % len(SNRS_DB)]}
            if utterance.mix == "tv":
                extra["music"] = music[dealt % len(music)]
            dealt += 1
            utterance = Utterance(utterance.split, utterance.kind, utterance.mix, utterance.voice, utterance.text,
                                  utterance.expected, utterance.phrasing, extra)
        result.append(utterance)
    return result


def fill(template: str, split: str, rng: random.Random) -> Tuple[str, Dict[str, object]]:
    """The template with each slot drawn (numbers spoken as words): (text, {argument: value})."""
    text, args = template, {}
    while "{" in text:
        start = text.index("{")
        slot = text[start + 1 : text.index("}", start)]
        value = rng.choice(VALUES[slot][split]) if slot in VALUES else rng.choice(NUMBERS[slot])
        args[slot] = value
        text = text[:start] + (say(value) if isinstance(value, int) else value) + text[start + len(slot) + 2 :]
    return text, args


def _dealt(voices: Sequence[str], count: int, rng: random.Random) -> List[str]:
    dealt = [voices[i % len(voices)] for i in range(count)]
    rng.shuffle(dealt)
    return dealt
