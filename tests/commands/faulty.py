"""Commands that misbehave, for the runner's tests."""

from __future__ import annotations

import threading

_RELEASE = threading.Event()


def fail_loudly(reason: str = "boom") -> None:
    """Raise an error."""
    raise RuntimeError(reason)


def hang_forever() -> str:
    """Block until the test releases it (a stand-in for a command that never returns)."""
    _RELEASE.wait(300)
    return "released"
