"""household.py with the values its free-text slots usually take declared (issue 20, known values):
what a user adds once they know va listens for them. The room splits are measured with both files,
so "with known values declared" can be told from "as first written".

The lists name every device, artist and site either room split says (and a few neither says).
"""

from __future__ import annotations

from typing import Annotated

from va.command import Values

DEVICES = ("kitchen lights", "bedroom fan", "heater", "radio", "porch light", "dishwasher", "living room lamp",
           "coffee machine", "tv", "hallway lights", "desk lamp", "air conditioner", "garage door", "printer")
ARTISTS = ("taylor swift", "the beatles", "daft punk", "adele", "coldplay", "johnny cash", "miles davis",
           "norah jones", "bob marley", "ella fitzgerald", "pink floyd", "billie eilish", "nina simone", "queen")
SITES = ("youtube", "amazon", "reddit", "google maps", "netflix", "wikipedia", "github", "stack overflow",
         "bbc news", "the guardian", "gmail", "spotify")


def turn_on(device: Annotated[str, Values(DEVICES)]) -> dict:
    """Switch something on."""
    return {"device": device}


def turn_off(device: Annotated[str, Values(DEVICES)]) -> dict:
    """Switch something off."""
    return {"device": device}


def play_music(artist: Annotated[str, Values(ARTISTS)]) -> dict:
    """Play an artist."""
    return {"artist": artist}


def open_browser(site: Annotated[str, Values(SITES)]) -> dict:
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
