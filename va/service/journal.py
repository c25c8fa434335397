"""Logging: journald with structured fields under systemd, a concise stderr format elsewhere.

Structured fields travel as UPPERCASE `extra` attributes:

    _LOGGER.info("Running %s", name, extra={"VA_COMMAND": name, "VA_ARGS": json.dumps(args)})

journald stores them as fields (`journalctl -u va-client VA_COMMAND=set_timer`); the stderr
format leaves them out. Values are sent as str(value), so pass JSON text for structures.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any, Mapping

_LOGGER = logging.getLogger(__name__)

STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
IDENTIFIER = "va"

# syslog priorities, for stderr lines that journald reads (SyslogLevelPrefix=yes is its default)
_PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def command_fields(name: str, args: Mapping[str, Any]) -> dict[str, str]:
    """The journald fields of a command call: VA_COMMAND and VA_ARGS (JSON, keys sorted)."""
    return {"VA_COMMAND": name, "VA_ARGS": json.dumps(dict(args), default=repr, sort_keys=True)}


def under_systemd(environ: Mapping[str, str] = os.environ) -> bool:
    """True when systemd started us (a unit or systemd-run), so stderr already reaches journald."""
    return bool(environ.get("JOURNAL_STREAM") or environ.get("INVOCATION_ID"))


def setup_logging(debug: bool, identifier: str = IDENTIFIER) -> logging.Handler:
    """Send every record to journald under systemd, else to stderr; returns the handler."""
    handler = journal_handler(identifier) if under_systemd() else None
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PriorityFormatter() if under_systemd() else logging.Formatter(STDERR_FORMAT))
    handler.addFilter(HideSecrets())
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler], force=True)
    # websockets logs every connection open/close at INFO: noise in the journal of a busy server
    logging.getLogger("websockets").setLevel(logging.DEBUG if debug else logging.WARNING)
    return handler


_SECRETS = (
    re.compile(r"(?i)(authorization:\s*(?:\w+\s+)?)\S+"),  # websockets' --debug lines show the handshake's headers
    re.compile(r"(?i)([?&;]token=)[^&;#\s'\"]+"),  # a token in a URL's query
)


def hide_secrets(text: str) -> str:
    """``text`` with the token of an Authorization header or a ``?token=`` query replaced by ***."""
    for pattern in _SECRETS:
        text = pattern.sub(r"\1***", text)
    return text


class HideSecrets(logging.Filter):
    """Keeps tokens out of every log line, whichever library wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the formatter's to report
            return True
        hidden = hide_secrets(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


def journal_handler(identifier: str = IDENTIFIER, **fields: Any) -> logging.Handler | None:
    """A systemd.journal.JournalHandler (record attributes become fields), None without systemd-python."""
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    return JournalHandler(SYSLOG_IDENTIFIER=identifier, **fields)


class _PriorityFormatter(logging.Formatter):
    """'<6>va.server.app: message': journald reads the priority, adds the time itself."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITIES.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        # Continuation lines (tracebacks) would otherwise be logged at the default priority.
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())
