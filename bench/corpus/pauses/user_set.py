"""What the user-written commands' clips say (bench/corpus/pauses/user_commands.py), for
bench/corpus/make_pauses.py: whole commands for the latency run, and commands with a pause inside.

Voices are split: ``tune`` voices are the ones the early answer's rules and settings were tried
on; ``heldout`` voices are only measured. A household says its device names, artists and sites
again and again, so each voice draws them from small pools (seeded): some values come back.
"""

from __future__ import annotations

import random
from typing import Dict, List, Tuple

from va.language.numbers import number_to_words

SEED = 21
SPLIT_VOICES = {"tune": ("espeak-us-m3", "espeak-gb-f3"), "heldout": ("piper-joe", "espeak-us-f2", "espeak-en-m7")}

POOLS: Dict[str, Tuple] = {
    "device": ("kitchen lights", "bedroom fan", "living room lamp", "hall heater", "coffee machine"),
    "artist": ("the beatles", "miles davis", "taylor swift", "queen", "bob marley", "pink floyd"),
    "site": ("wikipedia", "github", "youtube", "google", "reddit"),
    "minutes": (5, 10, 15, 20, 25, 30, 45),
    "level": (20, 30, 35, 50, 60, 75, 80, 45),
    "degrees": (18, 19, 20, 21, 22, 24),
    "first": (10, 7, 23, 12, 30, 4),
    "second": (18, 5, 40, 9, 6, 11),
}

PHRASINGS: Dict[str, Tuple[str, ...]] = {
    "turn_on": ("turn on the {device}", "turn on {device}"),
    "turn_off": ("turn off the {device}", "turn off {device}"),
    "play_music": ("play music by {artist}", "play music {artist}"),
    "open_browser": ("open browser {site}", "open browser {site}"),
    "set_timer": ("set a timer for {minutes} minutes", "set timer {minutes} minutes"),
    "set_volume": ("set volume to {level}", "set the volume to {level}"),
    "set_temperature": ("set temperature to {degrees}", "set the temperature to {degrees} degrees"),
    "add_numbers": ("add numbers {first} and {second}",),
    "what_time_is_it": ("what time is it",),
    "lock_screen": ("lock screen", "lock the screen"),
    "next_song": ("next song",),
}
AGAIN = ("turn_on", "play_music", "open_browser", "turn_off")
"""Commands each voice says a second time (with other values, or the same by chance)."""

# (before the pause, after it, the command meant): what precedes the pause is never the command meant
SAYINGS = (
    ("turn on the kitchen", "lights", "turn_on"),
    ("turn off the bedroom", "fan", "turn_off"),
    ("turn on the living room", "lamp", "turn_on"),
    ("play music by", "the beatles", "play_music"),
    ("play music by miles", "davis", "play_music"),
    ("play music by pink", "floyd", "play_music"),
    ("open browser", "wikipedia", "open_browser"),
    ("set volume to seventy", "five", "set_volume"),
    ("set a timer for twenty", "five minutes", "set_timer"),
    ("set the temperature to twenty", "two degrees", "set_temperature"),
    ("add numbers ten and", "eighteen", "add_numbers"),
    ("add numbers thirty", "and six", "add_numbers"),
)


def whole(voice: str) -> List[str]:
    """What one voice says, after the keyword: every command once, AGAIN twice, in a seeded order."""
    rng = random.Random(f"{SEED}-{voice}")
    names = list(PHRASINGS) + list(AGAIN)
    rng.shuffle(names)
    return [_fill(rng.choice(PHRASINGS[name]), rng) for name in names]


def _fill(template: str, rng: random.Random) -> str:
    text = template
    for slot, pool in POOLS.items():
        if "{" + slot + "}" in text:
            value = rng.choice(pool)
            text = text.replace("{" + slot + "}", number_to_words(value) if isinstance(value, int) else value)
    return text


def split_of(voice: str) -> str:
    return next(split for split, voices in SPLIT_VOICES.items() if voice in voices)
