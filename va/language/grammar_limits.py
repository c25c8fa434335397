"""How big a client's grammar may be.

The server matches every utterance against all of a client's grammar on its one worker, so one
client with a huge grammar would slow every other. `size_error(data)` reads a grammar as it
arrived in a hello (before it is parsed) and says which bound it passes, in one line; the bounds
are far above what a household writes (the shipped commands are about 20 with a few names each).
Pure: never raises.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

MAX_COMMANDS = 500
MAX_NAMES = 20
"""Spoken names (the name and its aliases) per command."""
MAX_SENTENCES = 20
"""Sentence templates per command."""
MAX_PARAMS = 16
"""Parameters per command."""
MAX_VALUES = 1000
"""Choices (or known values) per parameter."""
MAX_PHRASES = 2000
"""Spoken names and templates in the whole grammar: each utterance is compared with every one."""
MAX_ALL_VALUES = 20000
"""Choices and known values in the whole grammar."""
MAX_TEXT = 200
"""Characters in one name, template, choice or value."""

_PER_COMMAND = (("spoken", MAX_NAMES, "spoken names"), ("sentences", MAX_SENTENCES, "templates"),
                ("params", MAX_PARAMS, "parameters"))
_PER_PARAM = (("choices", MAX_VALUES, "choices"), ("values", MAX_VALUES, "values"))


def size_error(data: Any) -> Optional[str]:
    """Why this grammar (its wire shape) is too big, or None; other faults are the parser's."""
    commands = data.get("commands") if isinstance(data, dict) else None
    if not isinstance(commands, list):
        return None
    if len(commands) > MAX_COMMANDS:
        return f"too big: {len(commands)} commands (at most {MAX_COMMANDS})"
    phrases = values = 0
    for command in commands:
        if not isinstance(command, dict):
            continue
        error = _list_error(command, _PER_COMMAND, f"command {str(command.get('name'))[:40]!r}")
        if error:
            return error
        phrases += sum(len(_list(command, key)) for key in ("spoken", "sentences"))
        for param in _list(command, "params"):
            if isinstance(param, dict):
                error = _list_error(param, _PER_PARAM, f"parameter {str(param.get('name'))[:40]!r}")
                if error:
                    return error
                values += sum(len(_list(param, key)) for key in ("choices", "values"))
    if phrases > MAX_PHRASES:
        return f"too big: {phrases} spoken names and templates in all (at most {MAX_PHRASES})"
    if values > MAX_ALL_VALUES:
        return f"too big: {values} choices and values in all (at most {MAX_ALL_VALUES})"
    long = next(_long_texts(commands), None)
    if long is not None:
        return f"too big: a name, template or value of {len(long)} characters (at most {MAX_TEXT})"
    return None


def _list(data: dict, key: str) -> list:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _list_error(data: dict, limits: tuple, owner: str) -> Optional[str]:
    for key, limit, what in limits:
        count = len(_list(data, key))
        if count > limit:
            return f"too big: {owner} has {count} {what} (at most {limit})"
    return None


def _long_texts(commands: list) -> Iterator[str]:
    for command in commands:
        if not isinstance(command, dict):
            continue
        texts = [command.get("name"), *_list(command, "spoken"), *_list(command, "sentences")]
        for param in _list(command, "params"):
            if isinstance(param, dict):
                texts += [param.get("name"), *_list(param, "choices"), *_list(param, "values")]
        yield from (text for text in texts if isinstance(text, str) and len(text) > MAX_TEXT)
