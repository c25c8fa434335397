"""The one record a phrase leaves, when its story ends.

One INFO (or WARNING) record per phrase, with the journald fields VA_TRANSCRIPT, VA_DECISION
(no-keyword, no-match, ran, failed, dry-run, error, dropped, stood-down (another client that heard
it too answered it), and for another client's command
refused or offline), VA_COMMAND, VA_ARGS (JSON), VA_ORIGIN and VA_TARGET (this client and the one
addressed, when the phrase named another client: va.client.remote) and the latencies from the
phrase's last loud audio (what a person waits after their last word), in ms:
VA_LATENCY_TRANSCRIPT_MS (transcript received), VA_LATENCY_START_MS (command started) and
VA_LATENCY_MS (command done, or the decision when nothing ran). VA_SILENCE_MS ("ending pause" in
the message) is how much of that was quiet heard before the phrase was decided on: about
``microphone.pause_threshold``, or ``early_pause`` for a command run early (va.client.live).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from va.client.listener import Phrase
from va.service.journal import command_fields

WARNINGS = ("failed", "error", "dropped", "refused", "offline")
"""The decisions logged at WARNING."""


@dataclass(frozen=True)
class Story:
    """How a phrase ended: its ``decision`` (a VA_DECISION value) and why, in words."""

    decision: str
    why: str
    text: Optional[str] = None
    """The transcript (None: none came)."""
    command: Any = None
    """The va.commands.registry.Command decided on, if any."""
    args: Mapping[str, Any] = field(default_factory=dict)
    started_at: Optional[float] = None
    """time.monotonic() when the command started (None: nothing ran)."""
    done_at: Optional[float] = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    """More journald fields (VA_ORIGIN, VA_TARGET)."""


def log_story(logger: logging.Logger, phrase: Phrase, story: Story, received_at: float) -> None:
    """Write the phrase's record to ``logger``; ``received_at``: when the transcript came."""
    start = phrase.last_loud
    latency = {"VA_LATENCY_TRANSCRIPT_MS": _ms(received_at - start), "VA_SILENCE_MS": _ms(phrase.silence)}
    timing = f"transcript {latency['VA_LATENCY_TRANSCRIPT_MS']} ms"
    if story.started_at is not None and story.done_at is not None:
        latency["VA_LATENCY_START_MS"] = _ms(story.started_at - start)
        timing += f", command started {latency['VA_LATENCY_START_MS']} ms, done {_ms(story.done_at - start)} ms"
    latency["VA_LATENCY_MS"] = _ms((story.done_at or received_at) - start)
    name = story.command.name if story.command is not None else ""
    fields: Dict[str, Any] = {**story.fields, "VA_TRANSCRIPT": story.text or "", "VA_DECISION": story.decision,
                              **command_fields(name, story.args), **latency}
    level = logging.WARNING if story.decision in WARNINGS else logging.INFO
    logger.log(level, "Heard %r: %s (after end of speech: %s; ending pause %.2f s)", story.text, story.why, timing,
               phrase.silence, extra=fields)


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
