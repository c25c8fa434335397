"""Commands written as a user first writes them (issue 20): plain functions, no templates, aliases
or values declared; free-text `str` for what a home names (devices, artists, sites) and `int` for
numbers. The corpus's second set of commands, beside commands.py; the room splits speak them.

household_known.py is the same set with the values the `str` slots usually take declared.
"""

from __future__ import annotations


def turn_on(device: str) -> dict:
    """Switch something on."""
    return {"device": device}


def turn_off(device: str) -> dict:
    """Switch something off."""
    return {"device": device}


def play_music(artist: str) -> dict:
    """Play an artist."""
    return {"artist": artist}


def open_browser(site: str) -> dict:
    """Open a web site."""
    return {"site": site}


def set_timer(minutes: int) -> dict:
    """A timer of whole minutes."""
    return {"minutes": minutes}


def set_volume(level: int) -> dict:
    """Speaker volume."""
    return {"level": level}


def set_temperature(degrees: int) -> dict:
    """Thermostat, in degrees."""
    return {"degrees": degrees}


def add_numbers(first: int, second: int) -> dict:
    """Add two numbers."""
    return {"first": first, "second": second}


def what_time_is_it() -> dict:
    """Say the time."""
    return {}


def lock_screen() -> dict:
    """Lock the screen."""
    return {}


def next_song() -> dict:
    """Skip to the next song."""
    return {}
