"""Commands as a new user writes them, for the early answer's tests: free-text `str` and plain
`int` parameters. Each call appends one JSON line to $VA_RECORDER_FILE (as recorder.py does)."""

import json
import os
import threading
import time

_LOCK = threading.Lock()


def _record(name, **args):
    line = json.dumps({"name": name, "args": args, "pid": os.getpid(), "at": time.monotonic()})
    with _LOCK, open(os.environ["VA_RECORDER_FILE"], "a", encoding="utf-8") as out:
        out.write(line + "\n")
    return name


def turn_on(device: str):
    return _record("turn_on", device=device)


def play_music(artist: str):
    return _record("play_music", artist=artist)


def set_volume(level: int):
    return _record("set_volume", level=level)
