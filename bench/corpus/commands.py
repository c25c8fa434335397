"""The commands the recognition corpus is judged on (bench/corpus/make_corpus.py speaks them).

Written the way a user writes va commands: plain functions whose names, split on underscores, are
what is said, with typed parameters (int, float, bool, Literal, an Enum, free-text str), 0-3 of
them, and names that sound alike on purpose (turn on / turn off, lock / unlock, set timer /
set volume / set alarm, next / previous song, start / stop stopwatch). Each returns its arguments
and does nothing else, so a bench can check what would have run.
"""

from __future__ import annotations

import enum
from typing import Literal

Room = Literal["kitchen", "bedroom", "living room", "hall", "office"]
Device = Literal["lights", "fan", "heater", "radio", "television"]
Door = Literal["front", "back", "garage"]
Person = Literal["mom", "dad", "alice", "bob", "grandma"]


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"
    WHITE = "white"
    YELLOW = "yellow"
    PURPLE = "purple"


class Speed(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def what_time_is_it() -> dict:
    """Say the time."""
    return {}


def what_is_the_weather() -> dict:
    """Say the weather."""
    return {}


def read_the_news() -> dict:
    """Read the headlines."""
    return {}


def pause_music() -> dict:
    """Pause the music."""
    return {}


def next_song() -> dict:
    """Skip to the next song."""
    return {}


def previous_song() -> dict:
    """Back to the previous song."""
    return {}


def cancel_timer() -> dict:
    """Cancel the running timer."""
    return {}


def start_stopwatch() -> dict:
    """Start the stopwatch."""
    return {}


def stop_stopwatch() -> dict:
    """Stop the stopwatch."""
    return {}


def set_timer(minutes: int) -> dict:
    """A timer of whole minutes."""
    return {"minutes": minutes}


def set_volume(percent: int) -> dict:
    """Speaker volume in percent."""
    return {"percent": percent}


def set_alarm(hour: int, minute: int = 0) -> dict:
    """An alarm at hour (and minute)."""
    return {"hour": hour, "minute": minute}


def set_temperature(degrees: float, room: Room = "living room") -> dict:
    """Thermostat, in degrees, per room."""
    return {"degrees": degrees, "room": room}


def turn_on(device: Device, room: Room = "kitchen") -> dict:
    """Switch a device on."""
    return {"device": device, "room": room}


def turn_off(device: Device, room: Room = "kitchen") -> dict:
    """Switch a device off."""
    return {"device": device, "room": room}


def set_lights(color: Color, brightness: int = 100, room: Room = "living room") -> dict:
    """Light colour, brightness in percent and room."""
    return {"color": color, "brightness": brightness, "room": room}


def set_fan_speed(speed: Speed) -> dict:
    """Fan speed: low, medium or high."""
    return {"speed": speed}


def lock(door: Door) -> dict:
    """Lock a door."""
    return {"door": door}


def unlock(door: Door) -> dict:
    """Unlock a door."""
    return {"door": door}


def do_not_disturb(state: bool) -> dict:
    """Do-not-disturb on or off."""
    return {"state": state}


def play_music(query: str) -> dict:
    """Play what is asked for (free text)."""
    return {"query": query}


def add_to_shopping_list(item: str) -> dict:
    """Add an item (free text) to the shopping list."""
    return {"item": item}


def call(person: Person) -> dict:
    """Phone someone from the contacts."""
    return {"person": person}


def remind_me_in(minutes: int, message: str) -> dict:
    """A reminder with a message (free text) in some minutes."""
    return {"minutes": minutes, "message": message}
