"""What a transcript leads to: nothing (and why), a dry run, or a command to run; and how a run ended.

Pure: the assistant calls these on the event loop and logs the ``Story`` they tell; bench.recognition
calls ``decision`` to judge the server's replies the way the client does.
"""

from __future__ import annotations

from typing import Any, Optional

from va.client.record import Story
from va.commands.runner import Outcome
from va.language.matching import Interpretation, from_reading
from va.language.parameters import format_call


def decision(matched: Interpretation, reading: Any, registry: Any) -> Interpretation:
    """What the client makes of a reply: ``matched`` is its own reading of the transcript
    (va.language.matching); the server's reading (va.protocol.Reading or None) decides instead
    where there is one that fits ``registry`` (accepted: run it; rejected: nothing runs), unless
    the transcript names another client's command (``matched.target``)."""
    if matched.target is None and reading is not None:
        return from_reading(reading, registry) or matched
    return matched


def before_running(text: str, result: Interpretation, dry_run: bool) -> Optional[Story]:
    """The end of the story when nothing runs (no keyword, no match, a dry run); None: run it."""
    if result.command is None:
        return Story("no-match" if result.keyword else "no-keyword", result.reason, text)
    if dry_run:
        where = f" on {result.target}" if result.target else ""
        call = format_call(result.command.name, result.args)
        return Story("dry-run", f"would run {call}{where}", text, result.command, result.args)
    return None


def stood_down(text: str, me: str, answered_by: str) -> Story:
    """The end of the story of a phrase another client heard too and answers (arbitration)."""
    return Story("stood-down", f"also heard by {me}; {answered_by} answered", text)


def answered(text: str, result: Interpretation, record: tuple, done_at: float) -> Story:
    """The end of the story of a command another client ran (``record``: va.client.remote.answer_record)."""
    decision, why, fields = record
    return Story(decision, why, text, result.command, result.args, done_at=done_at, fields=fields)


def after_running(text: str, result: Interpretation, outcome: Outcome, done_at: float) -> Story:
    """The end of the story of a command that ran (``done_at``: time.monotonic() when it returned)."""
    command: Any = result.command
    call = format_call(command.name, result.args)
    if outcome.ok:
        decision, why = "ran", f"ran {call}" + (f" -> {outcome.value!r}" if outcome.value is not None else "")
    else:
        decision, why = "failed", f"{call} failed: {outcome.error}"
    return Story(decision, why, text, command, result.args, done_at - outcome.elapsed, done_at)
