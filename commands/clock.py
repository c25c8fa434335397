"""Time, date and timers.

Standard library only, so it runs on a headless Raspberry Pi. A timer that is due is announced in
the log and, when `espeak-ng` or `spd-say` is on PATH, out loud. Timers are daemon
`threading.Timer`s: setting one returns at once, and pending timers end with the process.
"""

from __future__ import annotations

import datetime
import logging
import shutil
import subprocess
import threading

from va.command import command

_LOGGER = logging.getLogger(__name__)
_MAX_MINUTES = 24 * 60

# Kept across importlib.reload (what a SIGHUP does) so cancel_timers still reaches earlier timers.
_TIMERS: set = globals().get("_TIMERS", set())
_LOCK = globals().get("_LOCK", threading.Lock())


@command(aliases=["what's the time", "tell me the time"])
def what_time_is_it() -> str:
    """Say the time."""
    now = datetime.datetime.now()
    return f"It is {now.hour % 12 or 12}:{now.minute:02d} {'AM' if now.hour < 12 else 'PM'}."


@command(aliases=["what's the date", "what is the date", "what date is it"])
def what_day_is_it() -> str:
    """Say today's date."""
    today = datetime.date.today()
    return f"Today is {today:%A}, {today.day} {today:%B %Y}."


@command(aliases=["start a timer"], sentences=["set a {minutes} minute timer", "timer for {minutes} minutes"])
def set_timer(minutes: float) -> str:
    """Announce when the given number of minutes has passed."""
    if not 0 < minutes <= _MAX_MINUTES:
        raise ValueError(f"a timer must be between 0 and {_MAX_MINUTES} minutes, not {minutes:g}")
    timer = threading.Timer(minutes * 60, _ring, args=(minutes,))
    timer.daemon = True
    with _LOCK:
        _TIMERS.add(timer)
    timer.start()
    return f"Timer set for {_minutes(minutes)}."


@command(aliases=["cancel the timer", "stop the timer"])
def cancel_timers() -> str:
    """Cancel every timer that has not rung yet."""
    with _LOCK:
        timers = list(_TIMERS)
        _TIMERS.clear()
    for timer in timers:
        timer.cancel()
    if not timers:
        return "No timers were running."
    return f"Cancelled {len(timers)} timer{'s' if len(timers) > 1 else ''}."


def _minutes(minutes: float) -> str:
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


def _ring(minutes: float) -> None:
    with _LOCK:
        _TIMERS.discard(threading.current_thread())
    text = f"Your {_minutes(minutes)} timer is done."
    _LOGGER.warning("%s", text)
    _speak(text)


def _speak(text: str) -> None:
    """Say `text` with espeak-ng or spd-say when one is installed; otherwise the log is all."""
    argv = _speaker()
    if argv is None:
        return
    try:
        subprocess.run(argv + [text], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        _LOGGER.warning("could not say %r with %s: %s", text, argv[0], error)


def _speaker() -> list[str] | None:
    for name in ("espeak-ng", "spd-say"):
        path = shutil.which(name)
        if path:
            return [path]
    return None
