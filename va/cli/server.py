"""`va server`: the speech-to-text server, as a service, until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse

from va.config.settings import Settings
from va.server.app import SpeechServer
from va.service.daemon import run_service


def cli_server(args: argparse.Namespace, settings: Settings) -> int:
    return run_service(SpeechServer(settings), args.config, args.debug)
