"""Commands for the client's tests: each call appends one JSON line to $VA_RECORDER_FILE.

The tests read the file to see exactly which commands ran, how many times, with what arguments.
Loaded through `commands.paths`, so the names match the speech fixtures' manifest.
"""

import json
import os
import threading
import time

from va.command import command

_LOCK = threading.Lock()


def _record(name, **args):
    line = json.dumps({"name": name, "args": args, "pid": os.getpid(), "at": time.monotonic()})
    with _LOCK, open(os.environ["VA_RECORDER_FILE"], "a", encoding="utf-8") as out:
        out.write(line + "\n")
    return name


@command(sentences=["set a {minutes} minute timer"])
def set_timer(minutes: int):
    "Set a timer."
    return _record("set_timer", minutes=minutes)


def what_time_is_it():
    "Say the time."
    return _record("what_time_is_it")


def what_day_is_it():
    "Say the date."
    return _record("what_day_is_it")


def set_volume(percent: int):
    "Set the volume."
    return _record("set_volume", percent=percent)


def add_numbers(first: int, second: int):
    "Add two numbers."
    return _record("add_numbers", first=first, second=second)


def search_for(query: str):
    "Search the web (free text)."
    return _record("search_for", query=query)
