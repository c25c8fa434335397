"""`va client`: the assistant on the microphone (or on --input files), as a service."""

from __future__ import annotations

import argparse
import logging
import os
import ssl
from typing import Optional

from va.client.assistant import Assistant
from va.client.microphone import AudioUnavailable, FileSource, open_microphone
from va.client.tls import client_ssl_context
from va.config.settings import Settings
from va.service.daemon import run_service

_LOGGER = logging.getLogger(__name__)

PACE_ENV = "VA_INPUT_PACE"
"""Plays ``--input`` files at this speed (1 = real time) instead of as fast as they can be read."""

START_ENV = "VA_INPUT_AT"
"""With VA_INPUT_PACE: the wall-clock time (Unix seconds) at which ``--input`` begins to play, so
that several clients on one machine hear one room at once (bench.household)."""


def _start_at() -> Optional[float]:
    value = os.environ.get(START_ENV)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise AudioUnavailable(f"{START_ENV} must be a Unix time in seconds, not {value!r}") from None


def _pace() -> Optional[float]:
    value = os.environ.get(PACE_ENV)
    if not value:
        return None
    try:
        pace = float(value)
    except ValueError:
        raise AudioUnavailable(f"{PACE_ENV} must be a number (1 = real time), not {value!r}") from None
    if pace <= 0:
        raise AudioUnavailable(f"{PACE_ENV} must be above 0, not {value!r}")
    return pace


def cli_client(args: argparse.Namespace, settings: Settings) -> int:
    """`va client`: listen on the microphone (or play --input files) and run what is said."""
    try:
        if getattr(args, "input", None):
            source = FileSource.for_settings(args.input, settings.microphone, pace=_pace(), start_at=_start_at())
        else:
            source = open_microphone(settings.microphone)
    except AudioUnavailable as error:
        _LOGGER.error("%s", error)
        return 2
    try:
        context = client_ssl_context(settings)
    except (OSError, ssl.SSLError) as error:
        _LOGGER.error("client.tls.ca: cannot use %s: %s", settings.client.tls.ca, error)
        return 2
    dry_run = bool(getattr(args, "dry_run", False)) or settings.client.dry_run
    service = Assistant(settings, source, dry_run=dry_run, ssl_context=context)
    return run_service(service, getattr(args, "config", None), getattr(args, "debug", False))
