"""Commands for the tests of commands across clients (tests/test_remote_e2e.py): each call
appends one JSON line, with the process id, to $VA_RECORDER_FILE."""

import json
import os


def turn_on(device: str):
    "Switch something on."
    return _record("turn_on", device=device)


def turn_off(device: str):
    "Switch something off."
    return _record("turn_off", device=device)


def _record(name, **args):
    with open(os.environ["VA_RECORDER_FILE"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"name": name, "args": args, "pid": os.getpid()}) + "\n")
    return f"{name} done"
