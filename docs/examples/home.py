"""A command module whose free-text parameters name the values they usually take.

Put it in a folder that `commands.paths` lists; `va commands` shows the known values, `va match`
says whether what was heard is one of them.
"""

from __future__ import annotations

import webbrowser
from typing import Annotated

from va.command import Values

SITES = {"wikipedia": "https://wikipedia.org", "github": "https://github.com", "youtube": "https://youtube.com"}


def _artists() -> list[str]:
    """The artists in the library (a real module would read them from the music folder)."""
    return ["miles davis", "nina simone", "the beatles", "bob marley"]


def turn_on(device: Annotated[str, Values("kitchen lights", "bedroom fan", "living room lamp")]) -> str:
    """Switch a device on (any other device name is still passed on as heard)."""
    return f"turning on the {device}"


def play_music(artist: Annotated[str, Values(_artists)]) -> str:
    """Play an artist from the library."""
    return f"playing {artist}"


def open_browser(site: Annotated[str, Values(*SITES)]) -> str:
    """Open a site by name."""
    webbrowser.open(SITES.get(site.lower(), f"https://duckduckgo.com/?q={site}"))
    return f"opening {site}"
