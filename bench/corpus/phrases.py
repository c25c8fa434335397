"""What the corpus says: every phrasing of every command in bench/corpus/commands.py, the negatives,
and which voices and phrasings belong to each split (tune, held out, dev). Pure data and a planner;
make_corpus.py turns the plan into audio.

A phrasing is a template after the keyword, e.g. "set a timer for {minutes} minutes"; slots are
filled from the value pools below (numbers spoken as words), and the expected arguments follow.
Each phrasing belongs to one split only, so the held-out split differs from tune and dev (the two
that are tuned on) in its voices and in its phrasings. Every phrasing binds with today's matcher
(`make_corpus.py --check`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

KEYWORD = "computer"
SEED = 11
CONDITIONS = ("clean", "noise", "talker", "reverb")
SPLITS = ("tune", "heldout", "dev")
"""dev: a second tuning split (other voices, phrasings with the fillers people add), made after the
first two so that their clips stay as they were; it shares nothing with heldout."""
POSITIVES_PER_COMMAND = {"tune": 5, "heldout": 9, "dev": 5}
NEGATIVES_PER_KIND = {"tune": 4, "heldout": 8, "dev": 4}

# name -> (engine, espeak voice, words per minute, pitch 0-99); piper ignores the last three
VOICES: Dict[str, Tuple[str, str, int, int]] = {
    "espeak-us-m3": ("espeak", "en-us+m3", 160, 45),
    "espeak-gb-f3": ("espeak", "en-gb+f3", 145, 60),
    "piper-joe": ("piper", "", 0, 0),
    "espeak-us-f2": ("espeak", "en-us+f2", 125, 50),
    "espeak-en-m7": ("espeak", "en+m7", 170, 35),
    "espeak-rp-f4": ("espeak", "en-gb-x-rp+f4", 150, 70),
    "espeak-us-m1": ("espeak", "en-us+m1", 115, 30),
    "espeak-us-m4": ("espeak", "en-us+m4", 135, 55),
    "espeak-scot-f1": ("espeak", "en-gb-scotland+f1", 150, 60),
    "espeak-us-m6": ("espeak", "en-us+m6", 165, 40),
}
SPLIT_VOICES = {
    "tune": ("espeak-us-m3", "espeak-gb-f3"),
    "heldout": ("piper-joe", "espeak-us-f2", "espeak-en-m7", "espeak-rp-f4", "espeak-us-m1"),
    "dev": ("espeak-us-m4", "espeak-scot-f1", "espeak-us-m6"),
}

ROOMS = ("kitchen", "bedroom", "living room", "hall", "office")
DEVICES = ("lights", "fan", "heater", "radio", "television")
DOORS = ("front", "back", "garage")
PEOPLE = ("mom", "dad", "alice", "bob", "grandma")
COLORS = ("red", "green", "blue", "white", "yellow", "purple")
SPEEDS = ("low", "medium", "high")
SONGS = ("the beatles", "some jazz", "relaxing piano", "taylor swift", "classical guitar", "bob marley",
         "rock music from the eighties", "the rolling stones", "dance hits", "queen")
ITEMS = ("milk", "two dozen eggs", "olive oil", "bananas", "dish soap", "fresh bread", "coffee beans",
         "paper towels", "orange juice", "tomatoes")
MESSAGES = ("check the oven", "call the plumber", "take out the trash", "feed the cat", "water the plants",
            "move the car", "start the washing machine", "leave for the station")

# slot -> values it takes ("int:a-b" draws a whole number, "float" a number with a half)
POOLS: Dict[str, Sequence] = {
    "room": ROOMS, "device": DEVICES, "door": DOORS, "person": PEOPLE, "color": COLORS, "speed": SPEEDS,
    "query": SONGS, "item": ITEMS, "message": MESSAGES,
    "minutes": tuple(range(1, 61)) + (75, 90, 120), "percent": tuple(range(5, 101, 5)),
    "hour": tuple(range(1, 13)), "minute": (10, 15, 20, 25, 30, 35, 40, 45, 50, 55),
    "degrees": tuple(x / 2 for x in range(32, 56)), "brightness": tuple(range(10, 101, 10)),
    "onoff": ("on", "off"),
}

# command -> {split: [templates]}; argument order in a template follows the parameter order
PHRASINGS: Dict[str, Dict[str, List[str]]] = {
    "what_time_is_it": {"tune": ["what time is it"], "heldout": ["what time is it now", "please what time is it"],
        "dev": ["what time is it please", "could you tell me what time is it"]},
    "what_is_the_weather": {"tune": ["what is the weather"],
                            "heldout": ["what is the weather today", "please what is the weather like"],
        "dev": ["what is the weather now", "could you say what is the weather"]},
    "read_the_news": {"tune": ["read the news"], "heldout": ["read the news please", "please read the news now"],
        "dev": ["could you read the news", "read the news now"]},
    "pause_music": {"tune": ["pause music"], "heldout": ["pause the music", "pause the music please"],
        "dev": ["pause music please", "could you pause the music"]},
    "next_song": {"tune": ["next song"], "heldout": ["the next song please", "next song now"],
        "dev": ["next song", "play the next song"]},
    "previous_song": {"tune": ["previous song"], "heldout": ["the previous song", "previous song please"],
        "dev": ["previous song now", "the previous song now"]},
    "cancel_timer": {"tune": ["cancel timer"], "heldout": ["cancel the timer", "please cancel the timer"],
        "dev": ["cancel the timer now", "could you cancel the timer"]},
    "start_stopwatch": {"tune": ["start stopwatch"], "heldout": ["start the stopwatch", "please start the stopwatch now"],
        "dev": ["start the stopwatch please", "could you start the stopwatch"]},
    "stop_stopwatch": {"tune": ["stop stopwatch"], "heldout": ["stop the stopwatch", "please stop the stopwatch"],
        "dev": ["stop the stopwatch now", "could you stop the stopwatch"]},
    "set_timer": {"tune": ["set timer for {minutes} minutes"],
                  "heldout": ["set a timer for {minutes} minutes", "please set a timer for {minutes} minutes",
                              "set the timer to {minutes} minutes"],
        "dev": ["could you set a timer for {minutes} minutes", "set a timer to {minutes} minutes please"]},
    "set_volume": {"tune": ["set volume to {percent} percent"],
                   "heldout": ["set the volume to {percent} percent", "set volume {percent}",
                               "please set the volume to {percent}"],
        "dev": ["could you set the volume to {percent} percent", "set the volume {percent} percent"]},
    "set_alarm": {"tune": ["set alarm for {hour} o'clock", "set alarm for {hour} {minute}"],
                  "heldout": ["set an alarm for {hour} {minute}", "please set an alarm for {hour} o'clock",
                              "set the alarm to {hour} {minute}"],
        "dev": ["could you set an alarm for {hour} {minute}", "set the alarm for {hour} o'clock please"]},
    "set_temperature": {"tune": ["set temperature to {degrees} degrees"],
                        "heldout": ["set the temperature to {degrees} degrees in the {room}",
                                    "set the temperature to {degrees}", "set temperature {degrees} degrees {room}"],
        "dev": ["could you set the temperature to {degrees} degrees", "set the temperature {degrees} in the {room}"]},
    "turn_on": {"tune": ["turn on the {device} in the {room}"],
                "heldout": ["turn on the {device}", "please turn on the {device} in the {room}",
                            "turn on {device} {room}"],
        "dev": ["could you turn on the {device}", "turn on the {device} in the {room} please"]},
    "turn_off": {"tune": ["turn off the {device} in the {room}"],
                 "heldout": ["turn off the {device}", "please turn off the {device} in the {room}",
                             "turn off {device} {room}"],
        "dev": ["could you turn off the {device}", "turn off the {device} in the {room} now"]},
    "set_lights": {"tune": ["set lights to {color}", "set lights to {color} at {brightness} percent in the {room}"],
                   "heldout": ["set the lights to {color}", "set the lights to {color} {brightness} percent",
                               "set lights {color} {brightness} percent {room}"],
        "dev": ["could you set the lights to {color}", "set the lights {color} at {brightness} percent"]},
    "set_fan_speed": {"tune": ["set fan speed to {speed}"],
                      "heldout": ["set the fan speed to {speed}", "set fan speed {speed} please"],
        "dev": ["could you set the fan speed to {speed}", "set the fan speed {speed} now"]},
    "lock": {"tune": ["lock the {door} door"], "heldout": ["please lock the {door} door", "lock the {door}"],
        "dev": ["could you lock the {door} door", "lock the {door} door now"]},
    "unlock": {"tune": ["unlock the {door} door"], "heldout": ["please unlock the {door} door", "unlock the {door}"],
        "dev": ["could you unlock the {door} door", "unlock the {door} door now"]},
    "do_not_disturb": {"tune": ["do not disturb {onoff}"],
                       "heldout": ["do not disturb mode {onoff}", "please do not disturb {onoff}"],
        "dev": ["do not disturb {onoff} please", "do not disturb {onoff} now"]},
    "play_music": {"tune": ["play music by {query}"], "heldout": ["play music {query}", "please play music {query}"],
        "dev": ["could you play music by {query}", "play music {query} now"]},
    "add_to_shopping_list": {"tune": ["add to shopping list {item}"],
                             "heldout": ["add to the shopping list {item}", "please add to shopping list {item}"],
        "dev": ["could you add to shopping list {item}", "add to the shopping list {item} please"]},
    "call": {"tune": ["call {person}"], "heldout": ["please call {person}", "call {person} now"],
        "dev": ["could you call {person}", "call {person} please"]},
    "remind_me_in": {"tune": ["remind me in {minutes} minutes to {message}"],
                     "heldout": ["remind me in {minutes} minutes {message}",
                                 "please remind me in {minutes} minutes to {message}"],
        "dev": ["could you remind me in {minutes} minutes to {message}", "remind me in {minutes} minutes to {message} please"]},
}

# the argument a slot fills, where it differs from the slot's name
SLOT_ARG = {"onoff": "state", "query": "query", "message": "message"}

NEGATIVES: Dict[str, List[str]] = {
    "no_keyword": [
        "set a timer for ten minutes", "turn on the kitchen lights", "what time is it", "play some music",
        "lock the front door", "set the volume to fifty percent", "call mom", "what is the weather",
        "turn off the fan in the bedroom", "next song please", "add milk to the shopping list", "read the news"],
    "keyword_not_first": [
        "i think the computer is broken again", "turn off the computer please", "my computer needs a new battery",
        "can you ask the computer to set a timer", "the new computer is in the office",
        "did the computer turn on the lights", "tell the computer to play some music",
        "put the computer in the bedroom", "is the computer still on", "the old computer was much faster",
        "why is the computer so loud", "we bought a computer for grandma"],
    "unregistered": [
        "computer order a pizza", "computer book a flight to paris", "computer how tall is mount everest",
        "computer translate hello into french", "computer take a picture", "computer send an email to john",
        "computer water the garden", "computer tell me a joke", "computer show my calendar",
        "computer find my phone", "computer wash the dishes", "computer open the window"],
    "conversation": [
        "did you see the game last night", "we should leave in about ten minutes", "can you pass me the salt",
        "i will be home around seven", "the kids are still asleep upstairs", "that was a really good movie",
        "let us have pasta for dinner tonight", "where did you put the car keys", "it looks like rain later",
        "my sister is coming over on sunday", "the meeting has been moved to friday", "turn left at the bakery"],
    "talker_alone": [],
    "noise_alone": [],
}

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def say(number: float) -> str:
    """A number as words: 25 -> "twenty five", 21.5 -> "twenty one point five", 120 -> "one hundred twenty"."""
    if number != int(number):
        whole, tenths = str(number).split(".")
        return f"{say(int(whole))} point {' '.join(_UNITS[int(d)] for d in tenths)}"
    n = int(number)
    if n < 20:
        return _UNITS[n]
    if n < 100:
        return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + _UNITS[n % 10])
    rest = n % 100
    return f"{_UNITS[n // 100]} hundred" + (f" {say(rest)}" if rest else "")


@dataclass(frozen=True)
class Utterance:
    split: str
    kind: str
    """clean|noise|talker|reverb for commands; the negative's kind otherwise."""
    mix: str
    """clean|noise|talker|reverb: what the audio went through."""
    voice: str
    text: str
    expected: Optional[dict]
    phrasing: str = ""
    extra: Dict[str, object] = field(default_factory=dict)


def fill(template: str, rng: random.Random) -> Tuple[str, Dict[str, object]]:
    """The template with each slot drawn from its pool: (spoken text, {argument: value})."""
    text, args = template, {}
    while "{" in text:
        start = text.index("{")
        slot = text[start + 1 : text.index("}", start)]
        value = rng.choice(POOLS[slot])
        spoken = say(value) if isinstance(value, (int, float)) else str(value)
        if slot == "onoff":
            value = value == "on"
        if slot == "minute" and value == 0:
            spoken = "o'clock"
        args[SLOT_ARG.get(slot, slot)] = value
        text = text[:start] + spoken + text[start + len(slot) + 2 :]
    return text, args


def plan() -> List[Utterance]:
    """Every clip of the corpus, deterministic (seeded), before any audio is made."""
    rng = random.Random(SEED)
    result: List[Utterance] = []
    for split in SPLITS:
        voices = _dealt(SPLIT_VOICES[split], len(PHRASINGS) * POSITIVES_PER_COMMAND[split], rng)
        for index, (command, phrasings) in enumerate(PHRASINGS.items()):
            templates = phrasings[split]
            for k in range(POSITIVES_PER_COMMAND[split]):
                template = templates[k % len(templates)]
                text, args = fill(template, rng)
                condition = CONDITIONS[(k + index) % len(CONDITIONS)]
                voice = voices.pop()
                result.append(Utterance(split, condition, condition, voice, f"{KEYWORD} {text}",
                                        {"command": command, "args": args}, template))
        result += _negatives(split, SPLIT_VOICES[split], rng)
    return result


def _dealt(voices: Sequence[str], count: int, rng: random.Random) -> List[str]:
    """`count` voices, each about as often as the others, in a seeded order independent of the rest."""
    dealt = [voices[i % len(voices)] for i in range(count)]
    rng.shuffle(dealt)
    return dealt


def _negatives(split: str, voices: Sequence[str], rng: random.Random) -> List[Utterance]:
    result = []
    count = NEGATIVES_PER_KIND[split]
    offset = NEGATIVES_PER_KIND["tune"] if split == "heldout" else 0  # dev says tune's texts, in its own voices
    spoken = _dealt(voices, count * len(NEGATIVES), rng)
    for index, (kind, texts) in enumerate(NEGATIVES.items()):
        for k in range(count):
            if kind in ("talker_alone", "noise_alone"):
                source = "talker" if kind == "talker_alone" else "noise"
                result.append(Utterance(split, kind, source, source, "", None))
                continue
            mix = CONDITIONS[(k + index) % len(CONDITIONS)]
            result.append(Utterance(split, kind, mix, spoken.pop(), texts[offset + k], None))
    return result
