"""Commands for va's own tests and speech fixtures (add_numbers)."""

from __future__ import annotations

import enum
from os.path import join  # noqa: F401  imported, so it must not become a command
from typing import Literal, Optional

from va.command import command

SETTINGS = None


class Color(enum.Enum):
    RED = "red"
    DARK_BLUE = "dark blue"


def setup(settings) -> None:
    """The registry calls this with the CommandSettings; it is not a command."""
    global SETTINGS
    SETTINGS = settings


def add_numbers(first: int, second: int) -> int:
    """Add two numbers.

    More text that is not the help line.
    """
    return first + second


def set_mode(mode: Literal["heat", "cool", "fan only"]) -> str:
    """Set the thermostat mode."""
    return mode


def switch_light(on: bool, room: str = "kitchen") -> str:
    return f"{room} {'on' if on else 'off'}"


def paint(color: Color) -> str:
    return color.value


def multiply(factor: float, count: Optional[int] = None) -> float:
    return factor * (count if count is not None else 1)


@command(name="say", aliases=["repeat after me"])
def echo(text) -> str:
    """Repeat what was said."""
    return text


def remind_me(minutes: int, message: str) -> str:
    return f"{message} in {minutes}"


def _private_helper() -> None:
    raise AssertionError("private functions are not commands")
