"""Commands written the way a new user first writes them (issue 21): bare functions, free-text
`str` and plain `int` parameters, no templates, aliases, ranges or known values. The early answer's
bench (bench/early.py, sets ``user`` and ``user-pauses``) runs them; each returns its arguments.
"""


def turn_on(device: str) -> dict:
    return {"device": device}


def turn_off(device: str) -> dict:
    return {"device": device}


def play_music(artist: str) -> dict:
    return {"artist": artist}


def open_browser(site: str) -> dict:
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
