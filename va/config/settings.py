"""Settings: /etc/va/config.yaml read once into a tree of frozen dataclasses.

The YAML is composed into nodes (yaml.SafeLoader, the same values yaml.safe_load gives) so
every error can name the file, the line and the key, and say what is allowed:

    config.yaml:3: commands.threshold must be a number from 0 to 100, got 'lots'

Everything is checked here, before anything starts. Unknown keys are errors ("did you mean").
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

_LOGGER = logging.getLogger(__name__)

DEFAULT_PATH = Path("/etc/va/config.yaml")
"""Read when neither --config nor $VA_CONFIG names a file."""

ENV_VAR = "VA_CONFIG"

ENGINES = ("faster-whisper", "openai-whisper")
DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = (
    "auto", "default", "int8", "int8_float16", "int8_float32", "int8_bfloat16",
    "int16", "float16", "bfloat16", "float32",
)  # fmt: skip


class ConfigError(ValueError):
    """The configuration cannot be used; the message names file, line and key."""


class _Invalid(Exception):
    """A value check failed: `allowed` says what would be accepted (item: list index)."""

    def __init__(self, allowed: str, value: Any, item: int | None = None) -> None:
        super().__init__(allowed)
        self.allowed, self.value, self.item = allowed, value, item


# --- value checks: each takes the safe_load value and returns the typed one or raises _Invalid


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(low: float | None = None, high: float | None = None, positive: bool = False) -> Callable:
    if positive:
        allowed = "a positive number"
    elif high is None:
        allowed = f"a number of at least {low:g}"
    else:
        allowed = f"a number from {low:g} to {high:g}"

    def check(value: Any) -> float:
        ok = _is_number(value) and value == value  # NaN is not a number here
        ok = ok and not (positive and value <= 0) and not (low is not None and value < low)
        if not ok or (high is not None and value > high):
            raise _Invalid(allowed, value)
        return float(value)

    return check


def _whole(low: int, high: int | None = None) -> Callable:
    allowed = f"a whole number from {low} to {high}" if high is not None else f"a whole number of at least {low}"

    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            raise _Invalid(allowed, value)
        return value

    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("true or false", value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("a non-empty string", value)
    return value.strip()


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("null or a non-empty string", value)
    return value.strip()


def _choice(*choices: str) -> Callable:
    def check(value: Any) -> str:
        if value not in choices:
            raise _Invalid("one of: " + ", ".join(choices), value)
        return value

    return check


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid("a list of strings", value)
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _Invalid("a non-empty string", item, index)
    return tuple(item.strip() for item in value)


def _module_names(value: Any) -> tuple[str, ...]:
    names = _texts(value)
    for index, name in enumerate(names):
        if not all(part.isidentifier() for part in name.split(".")):
            raise _Invalid("a Python module name like 'clock' or 'mypackage.lights'", name, index)
    return names


def _server_urls(value: Any) -> tuple[str, ...]:
    allowed = "a ws:// or wss:// URL"
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _Invalid(allowed + " or a non-empty list of them", value)
    for index, url in enumerate(items):
        where = None if isinstance(value, str) else index
        if not isinstance(url, str):
            raise _Invalid(allowed, url, where)
        try:
            parts = urlsplit(url.strip())
            parts.port  # raises ValueError on a bad port
        except ValueError:
            raise _Invalid(allowed, url, where) from None
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise _Invalid(allowed, url, where)
    return tuple(url.strip() for url in items)


def _optional_port(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise _Invalid("null (off) or a TCP port from 0 to 65535", value)
    return value


def _mic_device(value: Any) -> int | str | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _Invalid("null (the default input), a device index (0, 1, ...) or part of a device name", value)


def _energy(value: Any) -> float | None:
    if value is None or value == "auto":
        return None
    if not _is_number(value) or not value > 0:
        raise _Invalid("'auto' or a positive number", value)
    return float(value)


def _allow(value: Any) -> dict[str, tuple[str, ...]]:
    allowed = "a mapping of client names (or \"*\") to lists of command names"
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(key, str) and key.strip() for key in value):
        raise _Invalid(allowed, value)
    result = {}
    for origin, names in value.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and (n == "*" or n.isidentifier()) for n in names):
            raise _Invalid(allowed + f" (under {origin!r}: a list like [turn_on, what_time_is_it])", value)
        result[origin.strip()] = tuple(names)
    return result


def _value(default: Any, check: Callable) -> Any:
    return field(default=default, metadata={"check": check})


def _section(cls: type) -> Any:
    return field(default_factory=cls, metadata={"section": cls})


# --- the settings tree; attribute names are the YAML keys


@dataclass(frozen=True)
class CommandSettings:
    """`commands:` which command modules are loaded and how a transcript is matched to one."""

    modules: tuple[str, ...] = _value(("clock", "system"), _module_names)
    """Modules shipped with va (va_commands.<name>) or importable Python modules."""
    paths: tuple[str, ...] = _value((), _texts)
    """Directories whose *.py files are loaded as command modules too."""
    threshold: float = _value(75.0, _number(0, 100))
    """Fuzzy match score (0-100) a transcript needs to run a command."""
    timeout: float = _value(30.0, _number(positive=True))
    """Seconds a command may run before it is reported as hung."""
    allow_power: bool = _value(False, _flag)
    """Allow system.shutdown / system.reboot."""
    isolation: str = _value("thread", _choice("thread", "process"))
    """Where a command runs: a thread of the client (an os._exit or a crash in it ends the client),
    or a child process forked for each call (contains those, kills one that hangs; a call cannot
    change the client's memory). See va.commands.isolation."""


@dataclass(frozen=True)
class TlsSettings:
    """`server.tls:` serve wss:// with this certificate (both files or neither)."""

    cert: str | None = _value(None, _optional_text)
    """PEM certificate (chain) file."""
    key: str | None = _value(None, _optional_text)
    """PEM private key file."""


@dataclass(frozen=True)
class WyomingSettings:
    """`server.wyoming:` the Wyoming speech-to-text endpoint, for Home Assistant (off by default)."""

    host: str = _value("127.0.0.1", _text)
    """Address to listen on. The protocol has no authentication: keep loopback, or firewall it."""
    port: int | None = _value(None, _optional_port)
    """TCP port (Home Assistant's add-ons use 10300); null: no Wyoming endpoint."""


@dataclass(frozen=True)
class ServerSettings:
    """`server:` the speech-to-text server."""

    host: str = _value("127.0.0.1", _text)
    """Address to listen on (0.0.0.0 for every interface)."""
    port: int = _value(8001, _whole(0, 65535))
    """TCP port (0: any free port)."""
    engine: str = _value("faster-whisper", _choice(*ENGINES))
    """Whisper implementation."""
    model: str = _value("tiny.en", _text)
    """Model name (tiny.en, base.en, small.en, ...) or a path to a model directory."""
    device: str = _value("auto", _choice(*DEVICES))
    """Where the model runs; auto picks cuda when a GPU is usable."""
    language: str = _value("en", _text)
    """Spoken language code."""
    compute_type: str = _value("auto", _choice(*COMPUTE_TYPES))
    """Weights precision (CTranslate2 names); auto picks per device."""
    beam_size: int = _value(1, _whole(1))
    """Beam search width (1: greedy, fastest)."""
    speech_window: bool = _value(True, _flag)
    """Let the encoder window follow the speech length instead of padding to 30 s."""
    warmup: bool = _value(True, _flag)
    """Transcribe a bit of silence before reporting ready."""
    batch_size: int = _value(8, _whole(1))
    """Most utterances transcribed together."""
    queue_size: int = _value(64, _whole(1))
    """Most utterances waiting; beyond that clients get an error."""
    max_audio_seconds: float = _value(30.0, _number(positive=True))
    """Longest utterance accepted."""
    max_message_bytes: int = _value(4194304, _whole(1))
    """Largest websocket message accepted."""
    max_connections: int = _value(512, _whole(1))
    """Most clients connected at once; past it a new one gets HTTP 503 (lowered at start when the
    file-descriptor limit is too small for it)."""
    max_in_flight: int = _value(8, _whole(1))
    """Most requests of one connection waiting for their replies; the server reads no more from
    that connection until one is sent, so one client cannot take the whole queue."""
    use_prompt: bool = _value(False, _flag)
    """Use the vocabulary a client sends in its hello (a Wyoming client: with transcribe) as the
    decoding prompt (off: measured to cost 20-30% decoding time for no gain in command accuracy
    with the shipped modules)."""
    recognition: str = _value("grammar", _choice("grammar", "free"))
    """grammar: for clients that send their command grammar, find the most likely valid command
    judged against the audio and send it as the reply's reading; free: the transcript only."""
    reject_margin: float = _value(11.0, _number(positive=True))
    """How many nats (natural-log units) a guided reading may lie below the free transcript's
    likelihood and still be accepted; larger accepts more, and more false activations."""
    tls: TlsSettings = _section(TlsSettings)
    """TLS certificate and key."""
    wyoming: WyomingSettings = _section(WyomingSettings)
    """Wyoming endpoint for Home Assistant (same model and worker)."""


@dataclass(frozen=True)
class MicrophoneSettings:
    """`microphone:` how the client listens."""

    device: int | str | None = _value(None, _mic_device)
    """Input device: null (default), an index, or part of a name (see `va devices`)."""
    energy_threshold: float | None = _value(None, _energy)
    """Loudness that counts as speech; None ('auto' in YAML) calibrates from ambient noise."""
    pause_threshold: float = _value(0.8, _number(positive=True))
    """Seconds of silence that end a phrase."""
    phrase_time_limit: float = _value(10.0, _number(positive=True))
    """Longest phrase in seconds."""
    calibrate_seconds: float = _value(1.0, _number(low=0))
    """Seconds of ambient noise measured at start."""
    dynamic_energy: bool = _value(True, _flag)
    """Keep adjusting the energy threshold to the ambient noise."""


@dataclass(frozen=True)
class ClientTlsSettings:
    """`client.tls:` which certificates a wss:// server may present."""

    ca: str | None = _value(None, _optional_text)
    """PEM file of the CA(s) to trust instead of the system's (a private CA); null: the system's."""


@dataclass(frozen=True)
class ClientSettings:
    """`client:` the assistant daemon."""

    queue_size: int = _value(32, _whole(1))
    """Most phrases waiting for the server; the oldest are dropped beyond that."""
    reconnect_min_delay: float = _value(0.5, _number(positive=True))
    """First wait before reconnecting to the server, in seconds."""
    reconnect_max_delay: float = _value(30.0, _number(positive=True))
    """Longest wait between reconnects, in seconds."""
    dry_run: bool = _value(False, _flag)
    """Log what would run instead of running commands."""
    name: str | None = _value(None, _optional_text)
    """This client's name for the others ("computer, kitchen, ..."); null: the host name."""
    area: str | None = _value(None, _optional_text)
    """Where it is ("kitchen"): the others may address it by its area too."""
    tls: ClientTlsSettings = _section(ClientTlsSettings)
    """Certificates trusted for wss:// server URLs."""


@dataclass(frozen=True)
class RemoteSettings:
    """`remote:` commands across clients: which of ours others may run, how long a request lives."""

    allow: dict = field(default_factory=dict, metadata={"check": _allow})
    """Client name (or "*": any) -> the names of our commands it may run ("*": all). Empty: none."""
    ttl: float = _value(10.0, _number(low=0.5, high=120))
    """Seconds a request of ours waits for its target to be connected; then it is "offline"."""


@dataclass(frozen=True)
class Settings:
    """The whole configuration."""

    keyword: str = _value("computer", _text)
    """Word that starts a command ("computer, set a timer for five minutes")."""
    server_url: tuple[str, ...] = _value(("ws://127.0.0.1:8001",), _server_urls)
    """Speech-to-text server(s); a YAML string or list, tried in order."""
    token: str | None = _value(None, _optional_text)
    """Shared secret: the server requires it, the client sends it. null: no authentication."""
    commands: CommandSettings = _section(CommandSettings)
    server: ServerSettings = _section(ServerSettings)
    microphone: MicrophoneSettings = _section(MicrophoneSettings)
    client: ClientSettings = _section(ClientSettings)
    remote: RemoteSettings = _section(RemoteSettings)
    source: str | None = None
    """The file these settings came from (None: built-in defaults)."""


# --- reading


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Settings from `path`, else $VA_CONFIG, else /etc/va/config.yaml if present, else defaults."""
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is None:
        if not DEFAULT_PATH.exists():
            _LOGGER.info("No %s and no $%s: using the built-in defaults", DEFAULT_PATH, ENV_VAR)
            return Settings()
        path = DEFAULT_PATH
    try:
        _refuse_special_file(path)
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: cannot read the configuration: not UTF-8 text ({error.reason})") from None
    return dataclasses.replace(parse_settings(text, filename=str(path)), source=str(path))


def _refuse_special_file(path: str | os.PathLike) -> None:
    """A FIFO, a device or a folder is not a configuration file (reading a FIFO would block)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode) else "a device or socket"
        raise ConfigError(f"{path}: cannot read the configuration: not a regular file ({kind})")


def parse_settings(text: str, filename: str = "config.yaml") -> Settings:
    """Settings from YAML text (an empty document gives the defaults; `source` stays None)."""
    try:
        loader = yaml.SafeLoader(text)  # checks every character first: NUL, ESC, ... raise here
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise ConfigError(f"{filename}:{line}: not valid YAML: control character {error.character!r} "
                          "is not allowed (remove it)") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return Settings()
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(f"{filename}:{_line(root)}: the top level must be a mapping of keys such as 'keyword:'")
        return _Reader(loader, filename).section(Settings, root, "")
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_message(error, filename)) from None
    finally:
        loader.dispose()


class _Reader:
    """Walks mapping nodes into dataclasses; knows the file name and how to build values."""

    def __init__(self, loader: yaml.SafeLoader, filename: str) -> None:
        self.loader, self.filename = loader, filename

    def error(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(f"{self.filename}:{_line(node)}: {message}")

    def section(self, cls: type, node: yaml.Node, prefix: str) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return cls()  # `commands:` with nothing under it
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{prefix.rstrip('.')} must be a mapping of keys, got {_describe(node, self.loader)}")
        self.loader.flatten_mapping(node)  # YAML merge keys (<<)
        known = {f.name: f for f in dataclasses.fields(cls) if f.metadata}
        values: dict[str, Any] = {}
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, prefix, known)
            if key in first_lines:
                raise self.error(key_node, f"{prefix}{key} is given twice (first on line {first_lines[key]})")
            first_lines[key] = _line(key_node)
            meta = known[key].metadata
            if "section" in meta:
                values[key] = self.section(meta["section"], value_node, f"{prefix}{key}.")
            else:
                values[key] = self.value(meta["check"], value_node, prefix + key)
        result = cls(**values)
        self.cross_check(result, node, prefix)
        return result

    def key(self, node: yaml.Node, prefix: str, known: dict) -> str:
        key = self.loader.construct_object(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            raise self.error(node, f"keys must be names, got {_describe(node, self.loader)}")
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            allowed = ", ".join(known)
            raise self.error(node, f"unknown key {prefix}{key}{hint}; allowed here: {allowed}")
        return key

    def value(self, check: Callable, node: yaml.Node, key: str) -> Any:
        value = self.loader.construct_object(node, deep=True)
        try:
            return check(value)
        except _Invalid as invalid:
            where = node
            if invalid.item is not None and isinstance(node, yaml.SequenceNode):
                key, where = f"{key}[{invalid.item}]", node.value[invalid.item]
            raise self.error(where, f"{key} must be {invalid.allowed}, got {_describe(where, self.loader)}") from None

    def cross_check(self, result: Any, node: yaml.Node, prefix: str) -> None:
        if isinstance(result, TlsSettings) and (result.cert is None) != (result.key is None):
            raise self.error(node, f"{prefix}cert and {prefix}key must be given together (or neither)")
        if isinstance(result, ClientSettings) and result.reconnect_min_delay > result.reconnect_max_delay:
            raise self.error(node, f"{prefix}reconnect_min_delay must not exceed {prefix}reconnect_max_delay")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _describe(node: yaml.Node, loader: yaml.SafeLoader) -> str:
    """How a YAML value reads in an error message: 'lots', 12, null, a list, a mapping."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list" if node.value else "an empty list"
    value = loader.construct_object(node)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _yaml_message(error: yaml.YAMLError, filename: str) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    reason = f"{context}, {problem}" if context else problem
    if mark is None:
        return f"{filename}: not valid YAML: {reason}"
    return f"{filename}:{mark.line + 1}: not valid YAML: {reason}"
