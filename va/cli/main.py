"""The `va` command line: one console script, one subcommand per job.

Each subcommand lives in the module that owns the job, as `cli_<name>(args, settings) -> int`;
this module only parses arguments, loads the settings once and dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from typing import Sequence

from va.config import ConfigError, load_settings

_LOGGER = logging.getLogger(__name__)

# subcommand -> (module, function, help)
_SUBCOMMANDS = {
    "server": ("va.cli.server", "cli_server", "run the speech-to-text server"),
    "client": ("va.cli.client", "cli_client", "run the assistant: microphone -> server -> command"),
    "transcribe": ("va.cli.transcribe", "cli_transcribe", "transcribe audio files locally, without a server"),
    "commands": ("va.cli.commands", "cli_commands", "list the enabled commands"),
    "match": ("va.cli.match", "cli_match", "show what a transcript would run, without running it"),
    "check": ("va.cli.check", "cli_check", "validate the configuration and the command modules"),
    "devices": ("va.client.microphone", "cli_devices", "list the audio input devices"),
    "say": ("va.cli.say", "cli_say", "speak a text with the configured voice (speech:), or write it to a WAV file"),
    "install": ("va.service.install", "cli_install", "install the systemd units, user and /etc/va/config.yaml"),
    "key": ("va.cli.key", "cli_key", "make a client's own key (or the broker key) and print the config lines it needs"),
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $VA_CONFIG, else /etc/va/config.yaml, else built-in defaults)",
    )
    common.add_argument("--debug", action="store_true", help="log debug messages")

    parser = argparse.ArgumentParser(prog="va", description="A voice assistant that runs Python functions when you speak.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    parsers = {name: sub.add_parser(name, parents=[common], help=help_) for name, (_, _, help_) in _SUBCOMMANDS.items()}

    parsers["client"].add_argument(
        "--input", nargs="+", metavar="FILE", help="feed these audio files through the pipeline instead of the microphone"
    )
    parsers["client"].add_argument(
        "--dry-run", action="store_true", help="log what would run instead of running commands"
    )
    parsers["transcribe"].add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, or anything ffmpeg reads)")
    parsers["transcribe"].add_argument("--json", action="store_true", help="print one JSON object per file")
    parsers["match"].add_argument("text", nargs="+", help="a transcript, as the server would return it")
    parsers["match"].add_argument("--json", action="store_true", help="print the decision as JSON")
    parsers["say"].add_argument("text", nargs="+", help="what to say")
    parsers["say"].add_argument("--to", metavar="FILE.wav", help="write the speech to this WAV file instead of playing it")
    parsers["install"].add_argument("--prefix", default="/", help="install under this root (for packaging and tests)")
    parsers["install"].add_argument(
        "--no-start", action="store_true", help="put everything in place but do not enable or start the units"
    )
    parsers["install"].add_argument(
        "--server", action="store_true", help="also enable va-server (the server runs on this machine)"
    )
    parsers["key"].add_argument("name", nargs="?", help="the client's name (client.name)")
    parsers["key"].add_argument("--out", metavar="FILE", help="where to write the key (default: NAME.key here)")
    parsers["key"].add_argument("--broker", action="store_true", help="the household's broker key (server.broker.key_file)")
    parsers["key"].add_argument("--force", action="store_true", help="replace the key in FILE (rotation)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from va.service.journal import setup_logging

    setup_logging(debug=args.debug)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        _LOGGER.error("%s", error)
        return 2
    module_name, function_name, _ = _SUBCOMMANDS[args.subcommand]
    handler = getattr(importlib.import_module(module_name), function_name)
    try:
        return int(handler(args, settings) or 0)
    except KeyboardInterrupt:
        return 130


def _version() -> str:
    from va import __version__

    return f"va {__version__}"
