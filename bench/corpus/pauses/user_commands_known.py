"""The commands of user_commands.py with the known values of their free text declared (issue 21),
as a user writes them once they tell va their devices, artists and sites (the pools of
user_set.py). Otherwise the same; `bench.early latency --set user --commands known` runs them.
"""

from typing import Annotated

from va.command import Values

Device = Annotated[str, Values("kitchen lights", "bedroom fan", "living room lamp", "hall heater", "coffee machine")]
Artist = Annotated[str, Values("the beatles", "miles davis", "taylor swift", "queen", "bob marley", "pink floyd")]
Site = Annotated[str, Values("wikipedia", "github", "youtube", "google", "reddit")]


def turn_on(device: Device) -> dict:
    return {"device": device}


def turn_off(device: Device) -> dict:
    return {"device": device}


def play_music(artist: Artist) -> dict:
    return {"artist": artist}


def open_browser(site: Site) -> dict:
    return {"site": site}


def set_timer(minutes: int) -> dict:
    return {"minutes": minutes}


def set_volume(level: int) -> dict:
    return {"level": level}


def set_temperature(degrees: int) -> dict:
    return {"degrees": degrees}


def add_numbers(first: int, second: int) -> dict:
    return {"first": first, "second": second}


def what_time_is_it() -> dict:
    return {}


def lock_screen() -> dict:
    return {}


def next_song() -> dict:
    return {}
