# /etc/va/commands/lights.py (tests/test_docs.py says each phrase of the table below to it)
from enum import Enum
from typing import Literal

from va.command import command


class Colour(Enum):
    RED = "red"
    WARM_WHITE = "warm white"


def lights(state: bool, room: Literal["kitchen", "bedroom", "hall"] = "kitchen"):
    """Switch the lights on or off."""


def dim_lights(percent: int):
    """Dim the lights."""


def light_colour(colour: Colour):
    """Change the colour of the lights."""


@command(name="good night", aliases=["sleep well"])
def bedtime():
    """Everything off."""


@command(sentences=["set a {minutes} minute timer", "timer for {minutes} minutes"])
def set_timer(minutes: float):
    """Start a timer."""


def play_music(query: str):
    """Play music: the words after the name, as said."""
