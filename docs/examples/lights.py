# /etc/va/commands/lights.py: an example command module (tests/test_docs.py says each phrase of
# the table under it on the "Writing commands" page and checks the call it makes).
from enum import Enum
from typing import Literal

from va.command import command


class Colour(Enum):
    RED = "red"
    WARM_WHITE = "warm white"


def lights(state: bool, room: Literal["kitchen", "bedroom", "hall"] = "kitchen"):
    """Switch the lights on or off."""  # "computer lights off bedroom" -> lights(state=False, room='bedroom')


def dim_lights(percent: int):
    """Dim the lights."""  # "computer dim lights to forty percent" -> dim_lights(percent=40)


def light_colour(colour: Colour):
    """Change the colour of the lights."""  # "computer light colour warm white"


@command(name="good night", aliases=["sleep well"])
def bedtime():
    """Everything off."""  # "computer good night" -> bedtime()


@command(sentences=["set a {minutes} minute timer", "timer for {minutes} minutes"])
def set_timer(minutes: float):
    """Start a timer."""  # "computer set a five minute timer" -> set_timer(minutes=5.0)


def play_music(query: str):
    """Play music."""  # "computer play music by the beatles" -> play_music(query='the beatles')
