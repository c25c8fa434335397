"""Reading /etc/va/config.yaml once into the settings tree (va.config.settings).

The YAML is composed into nodes (yaml.SafeLoader, the same values yaml.safe_load gives) so
every error can name the file, the line and the key, and say what is allowed:

    config.yaml:3: commands.threshold must be a number from 0 to 100, got 'lots'

Everything is checked here, before anything starts. Unknown keys are errors ("did you mean").
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import logging
import os
import stat
from pathlib import Path
from typing import Any, Callable

import yaml

from va.config.checks import Invalid
from va.errors import SetupError
from va.config.settings import ClientSettings, Settings, TlsSettings, WyomingSettings

_LOGGER = logging.getLogger(__name__)

DEFAULT_PATH = Path("/etc/va/config.yaml")
"""Read when neither --config nor $VA_CONFIG names a file."""

ENV_VAR = "VA_CONFIG"


class ConfigError(SetupError, ValueError):
    """The configuration cannot be used; the message names file, line and key."""


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
            raise self.error(node, f"{prefix.rstrip('.')} must be a mapping of keys, got {_describe_node(node, self.loader)}")
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
            raise self.error(node, f"keys must be names, got {_describe_node(node, self.loader)}")
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
        except Invalid as invalid:
            where = node
            if invalid.item is not None and isinstance(node, yaml.SequenceNode):
                key, where = f"{key}[{invalid.item}]", node.value[invalid.item]
            shown = invalid.shown or _describe_node(where, self.loader)
            if key.rsplit(".", 1)[-1] in _SECRETS and shown not in ("''", "null", "a mapping", "an empty list"):
                shown = "a secret (not shown)"
            raise self.error(where, f"{key} must be {invalid.allowed}, got {shown}") from None

    def cross_check(self, result: Any, node: yaml.Node, prefix: str) -> None:
        if isinstance(result, TlsSettings) and (result.cert is None) != (result.key is None):
            raise self.error(node, f"{prefix}cert and {prefix}key must be given together (or neither)")
        if isinstance(result, WyomingSettings) and result.zeroconf and _is_loopback(result.host):
            raise self.error(node, f"{prefix}zeroconf announces the endpoint on the network: set {prefix}host to "
                             "an address Home Assistant can reach (or 0.0.0.0), not loopback")
        if isinstance(result, ClientSettings) and result.reconnect_min_delay > result.reconnect_max_delay:
            raise self.error(node, f"{prefix}reconnect_min_delay must not exceed {prefix}reconnect_max_delay")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


_SECRETS = ("token", "password", "clients")
"""Keys whose values an error message never quotes."""


def _describe_node(node: yaml.Node, loader: yaml.SafeLoader) -> str:
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
    if isinstance(value, str) and "@" in value and "://" in value:  # a URL's password is never quoted
        from va.config.checks import masked

        try:
            return repr(masked(value))
        except ValueError:
            return "a URL (not shown: it may hold a password)"
    return repr(value)


def _yaml_message(error: yaml.YAMLError, filename: str) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    reason = f"{context}, {problem}" if context else problem
    if mark is None:
        return f"{filename}: not valid YAML: {reason}"
    return f"{filename}:{mark.line + 1}: not valid YAML: {reason}"
