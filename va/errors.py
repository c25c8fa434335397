"""Errors that are the user's to fix, not bugs.

A `SetupError` says what to change (a setting, a missing package, a device that is not there).
The daemon prints it as one line and exits; a traceback is kept for everything else, which is a
bug to report.
"""

from __future__ import annotations


class SetupError(Exception):
    """The configuration or the machine cannot run this; the message says what to change."""
