"""The value checks of the settings: each takes what yaml.safe_load gave and returns the typed
value, or raises `Invalid` saying what would be accepted.

`setting(default, check)` and `section(cls)` declare a field of the settings tree (va.config.settings)
with its check; the YAML reader (va.config.loader) finds them in the field's metadata.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


class Invalid(Exception):
    """A value check failed: `allowed` says what would be accepted (item: list index; shown: how
    the value reads in the error when it must not be echoed whole, e.g. with a secret in it)."""

    def __init__(self, allowed: str, value: Any, item: int | None = None, shown: str | None = None) -> None:
        super().__init__(allowed)
        self.allowed, self.value, self.item, self.shown = allowed, value, item, shown


# --- value checks: each takes the safe_load value and returns the typed one or raises Invalid


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(low: float | None = None, high: float | None = None, positive: bool = False) -> Callable:
    if positive:
        allowed = "a positive number"
    elif high is None:
        allowed = f"a number of at least {low:g}"
    else:
        allowed = f"a number from {low:g} to {high:g}"

    def check(value: Any) -> float:
        ok = is_number(value) and value == value  # NaN is not a number here
        ok = ok and not (positive and value <= 0) and not (low is not None and value < low)
        if not ok or (high is not None and value > high):
            raise Invalid(allowed, value)
        return float(value)

    return check


def whole(low: int, high: int | None = None) -> Callable:
    allowed = f"a whole number from {low} to {high}" if high is not None else f"a whole number of at least {low}"

    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            raise Invalid(allowed, value)
        return value

    return check


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("true or false", value)
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("a non-empty string", value)
    return value.strip()


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Invalid("null or a non-empty string", value)
    return value.strip()


def choice(*choices: str) -> Callable:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid("one of: " + ", ".join(choices), value)
        return value

    return check


def texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid("a list of strings", value)
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise Invalid("a non-empty string", item, index)
    return tuple(item.strip() for item in value)


def module_names(value: Any) -> tuple[str, ...]:
    names = texts(value)
    for index, name in enumerate(names):
        if not all(part.isidentifier() for part in name.split(".")):
            raise Invalid("a Python module name like 'clock' or 'mypackage.lights'", name, index)
    return names


def server_urls(value: Any) -> tuple[str, ...]:
    allowed = "a ws:// or wss:// URL"
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid(allowed + " or a non-empty list of them", value)
    for index, url in enumerate(items):
        where = None if isinstance(value, str) else index
        if not isinstance(url, str):
            raise Invalid(allowed, url, where)
        try:
            parts = urlsplit(url.strip())
            parts.port  # raises ValueError on a bad port
        except ValueError:
            raise Invalid(allowed, url, where) from None
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise Invalid(allowed, url, where)
        if "token" in parse_qs(parts.query):  # proxies and servers log URLs: the token goes in a header
            raise Invalid(allowed + " without ?token= (set `token:` instead; it is sent as a header)",
                          url, where, repr(parts._replace(query="token=***").geturl()))
    return tuple(url.strip() for url in items)


def masked(url: str) -> str:
    """``url`` fit for a log line or an error: a password in it replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def broker_url(value: Any) -> str | None:
    allowed = "null (off) or an mqtt:// or mqtts:// URL with a host, e.g. mqtt://127.0.0.1:1883"
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(allowed, value)
    try:
        parts = urlsplit(value.strip())
        parts.port  # raises ValueError on a bad port
    except ValueError:
        raise Invalid(allowed, value) from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise Invalid(allowed, value)
    return value.strip()


def optional_port(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise Invalid("null (off) or a TCP port from 0 to 65535", value)
    return value


def mic_device(value: Any) -> int | str | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise Invalid("null (the default input), a device index (0, 1, ...) or part of a device name", value)


def energy(value: Any) -> float | None:
    if value is None or value == "auto":
        return None
    if not is_number(value) or not value > 0:
        raise Invalid("'auto' or a positive number", value)
    return float(value)


def auto_positive(value: Any) -> float | None:
    """'auto' or null (None: chosen at run time) or a positive number."""
    return energy(value)


def allow(value: Any) -> dict[str, tuple[str, ...]]:
    allowed = "a mapping of client names (or \"*\") to lists of command names"
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(key, str) and key.strip() for key in value):
        raise Invalid(allowed, value)
    result = {}
    for origin, names in value.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and (n == "*" or n.isidentifier()) for n in names):
            raise Invalid(allowed + f" (under {origin!r}: a list like [turn_on, what_time_is_it])", value)
        result[origin.strip()] = tuple(names)
    return result


def client_keys(value: Any) -> dict[str, str]:
    """`server.clients`: client name -> "sha256:" and the 64 hex digits of its key's hash (`va key`)."""
    allowed = 'a mapping of client names to key hashes, as `va key NAME` prints them ("sha256:" and 64 hex digits)'
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(allowed, value)
    result = {}
    for name, digest in value.items():
        hexdigits = digest[7:] if isinstance(digest, str) and digest.startswith("sha256:") else ""
        if not isinstance(name, str) or not name.strip() or len(hexdigits) != 64 or hexdigits.strip("0123456789abcdefABCDEF"):
            raise Invalid(allowed + f" (under {name!r})", "a key hash")
        result[name.strip()] = digest.lower()
    if len(set(result.values())) < len(result):
        raise Invalid(allowed + ": each client its own key (two names have the same hash)", "a key hash")
    return result


def setting(default: Any, check: Callable) -> Any:
    return field(default=default, metadata={"check": check})


def section(cls: type) -> Any:
    return field(default_factory=cls, metadata={"section": cls})
