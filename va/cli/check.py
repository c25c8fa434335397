"""`va check`: is this configuration usable, and which commands would it enable?

The settings reached us already validated (va.cli exits 2 with the file:line message when they
are not); this loads the command modules the way the client will and reports what it found.
Exit status: 0 all good, 1 a command module or a file the settings name is unusable.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from va.cli.commands import describe_registry
from va.commands.registry import load_registry
from va.config.settings import Settings

_LOGGER = logging.getLogger(__name__)


def cli_check(args: argparse.Namespace, settings: Settings) -> int:
    server = settings.server
    print(f"configuration: {settings.source or 'built-in defaults (no file)'}")
    print(f"keyword: {settings.keyword}")
    print(f"server_url: {', '.join(settings.server_url)}")
    print(f"server: {server.engine} {server.model} on {server.device}, listening on {server.host}:{server.port}")
    if server.wyoming.port is not None:
        exposed = "" if server.wyoming.host in ("127.0.0.1", "::1", "localhost") else " (no authentication: firewall it)"
        print(f"wyoming: listening on {server.wyoming.host}:{server.wyoming.port}{exposed}")
        for line in _wyoming_commands(server.wyoming):
            print(line)
    problems = _file_problems(settings) + _device_problems(server) + _vad_problems(settings.microphone)
    problems += _speech_problems(settings.speech)
    registry = load_registry(settings.commands)
    print(f"commands ({len(registry.commands)}):")
    for line in describe_registry(registry):
        print(f"  {line}" if line else line)
    problems.extend(f"{failure.source}: {failure.error}" for failure in registry.failures)
    _print_remote(settings, registry)
    problems.extend(_identity_problems(settings))
    print("ok" if not problems else f"{len(problems)} problem{'s' if len(problems) > 1 else ''}")
    return 1 if problems else 0


def _print_remote(settings: Any, registry: Any) -> None:
    """Commands across clients: this client's name and who may run what here (va.client.remote)."""
    from va.client.remote import client_name
    from va.client.remote_target import allow_warnings

    name = client_name(settings)
    print(f"client: {name}" + (f" in {settings.client.area}" if settings.client.area else ""))
    allowed = "; ".join(f"{origin}: {', '.join(names) or 'nothing'}" for origin, names in settings.remote.allow.items())
    print(f"remote.allow: {allowed or 'nobody (other clients cannot run commands here)'}")
    for warning in allow_warnings(settings.remote.allow, registry, name):
        print(f"warning: {warning}")


def _device_problems(server: Any) -> list:
    """Where the server's engine would run (va.stt.devices), and what a GPU still lacks."""
    from va.stt.devices import describe_device

    line, problem = describe_device(server)
    if line:
        print(line)
    if problem:
        print(f"error: {problem}")
        return [problem]
    return []


def _speech_problems(speech: Any) -> list:
    """The voice (va.client.speech.tts), found and installed, when the client speaks."""
    if not speech.enabled:
        print("speech: off (speech.enabled: false)")
        return []
    from va.client.speech.tts import voice_path
    from va.errors import SetupError

    try:
        path = voice_path(speech.voice)
        import piper  # noqa: F401 - only whether it is installed
    except (SetupError, ImportError) as error:
        problem = str(error) if isinstance(error, SetupError) else "speech needs piper-tts: pip install 'va[speech]'"
        print(f"error: {problem}")
        return [problem]
    gate = f"gated while playing (+{speech.gate_tail:g} s)" if speech.gate else (
        f"not gated (an echo-cancelled microphone), barge-in: {speech.barge_in_on if speech.barge_in else 'off'}")
    print(f"speech: voice {speech.voice} ({path}), volume {speech.volume:g}, {gate}")
    return []


def _vad_problems(microphone: Any) -> list:
    """The end-of-speech detector (va.client.vad), and whether its package is installed."""
    from va.client.vad import VadUnavailable, make_detector

    detail = {"webrtc": f", vad_level {microphone.vad_level}", "micro": f", vad_threshold {microphone.vad_threshold:g}"}
    print(f"end of speech: {microphone.vad}{detail.get(microphone.vad, '')}")
    try:
        make_detector(microphone, None)
    except VadUnavailable as error:
        print(f"error: {error}")
        return [str(error)]
    return []


def _file_problems(settings: Any) -> list:
    """Files the settings name that the daemons would fail on (printed as they are found)."""
    problems = []
    files = {f"server.tls.{key}": getattr(settings.server.tls, key) for key in ("cert", "key")}
    files["client.tls.ca"] = settings.client.tls.ca
    for key, path in files.items():
        if path and not os.access(path, os.R_OK):
            problems.append(f"{key}: cannot read {path}")
            print(f"error: {problems[-1]}")
    for path in settings.commands.paths:
        if not Path(path).expanduser().exists():  # the client only warns: the folder may come later
            problems.append(f"commands.paths: {path} does not exist")
            print(f"error: {problems[-1]}")
    return problems


def _identity_problems(settings: Any) -> list:
    """Who a name is (va.server.household.identities): keys, and whether names are verified."""
    from va.config.checks import masked
    from va.protocol.keys import read_key

    clients, broker = settings.server.clients, settings.server.broker
    if clients:
        print(f"server.clients: {len(clients)} with keys of their own ({', '.join(clients)}): their names are verified")
    else:
        door = "anyone with the token" if settings.token else "anyone who reaches the server"
        print(f"warning: server.clients is empty: client names are not verified ({door} may use any name; docs/keys.md)")
    problems = []
    for key, path in (("client.key_file", settings.client.key_file), ("server.broker.key_file", broker.key_file)):
        try:
            if read_key(path) is not None:
                print(f"{key}: {path}")
        except OSError as error:
            problems.append(f"{key}: cannot read it: {error}")
            print(f"error: {problems[-1]}")
    if broker.url is not None:
        print(f"server.broker: {masked(broker.url)}" + (f" as {broker.username}" if broker.username else " (anonymous)"))
        if broker.key_file is None:
            print("warning: server.broker.key_file is not set: messages on the broker are not signed (docs/keys.md)")
        if not broker.url.startswith("mqtts:"):
            print("warning: server.broker.url is not mqtts://: the broker password and the messages travel in clear")
    return problems


def _wyoming_commands(wyoming: Any) -> list:
    """Whose commands Home Assistant's text runs (docs/home-assistant.md), and what must allow it."""
    places = [f"{wyoming.commands_client}'s" if wyoming.commands_client else "", "this server's" if wyoming.server_commands else ""]
    if not any(places):
        return []
    return [f"wyoming: Home Assistant's text runs {' and '.join(filter(None, places))} commands, as {wyoming.origin} "
            f"(their remote.allow must list {wyoming.origin})"]
