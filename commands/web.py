"""Open a website or a web search in the desktop's browser.

Uses `webbrowser`, and only when there is a display to show it on: on a headless machine (no
DISPLAY or WAYLAND_DISPLAY) the commands refuse with a clear message instead of starting a text
browser nobody can see. Only http and https addresses are opened: "file://", "javascript:" and any
other scheme are refused, since a remote client may be allowed to call these commands.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from urllib.parse import quote_plus, urlsplit

from va.command import command

SEARCH_URL = "https://duckduckgo.com/?q={}"
SCHEMES = ("http", "https")


@command(aliases=["open", "go to"])
def open_website(site: str) -> str:
    """Open a website: "open website github dot com"."""
    url = _site_url(site)
    _open(url)
    return f"Opened {url}."


@command(aliases=["search", "look up"])
def search_for(query: str) -> str:
    """Search the web."""
    _open(SEARCH_URL.format(quote_plus(query)))
    return f"Searching for {query}."


def _site_url(site: str) -> str:
    """"GitHub dot com" -> "https://github.com"; a bare name gets ".com"."""
    words = site.lower().replace(" dot ", ".").split()
    host = "".join(words).strip("./")
    if "://" in host:
        return host
    if "." not in host.split("/")[0]:
        host = host.replace("/", ".com/", 1) if "/" in host else host + ".com"
    return "https://" + host


def _open(url: str) -> None:
    if urlsplit(url).scheme not in SCHEMES or not urlsplit(url).netloc:
        raise RuntimeError(f"only http and https addresses are opened, not {url[:80]!r}")
    if not _browser_available():
        raise RuntimeError("no browser to open: this machine has no display (DISPLAY / WAYLAND_DISPLAY are not set)")
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        raise RuntimeError("no web browser is installed") from None
    if not browser.open(url):
        raise RuntimeError(f"the browser did not open {url}")


def _browser_available() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
