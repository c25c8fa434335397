"""Settings: /etc/va/config.yaml read once into a tree of frozen dataclasses.

- ``settings``: the tree (what can be configured, the defaults, a docstring per key);
- ``checks``: what each value may be;
- ``loader``: reading the YAML, with errors that name file, line and key.

    from va.config import load_settings, Settings, ConfigError
"""

from va.config.loader import DEFAULT_PATH, ENV_VAR, ConfigError, load_settings, parse_settings
from va.config.settings import (
    BrokerSettings,
    ClientSettings,
    CommandSettings,
    MicrophoneSettings,
    RemoteSettings,
    ServerSettings,
    Settings,
    TlsSettings,
    WyomingSettings,
)

__all__ = [
    "BrokerSettings", "DEFAULT_PATH", "ENV_VAR", "ClientSettings", "CommandSettings", "ConfigError", "MicrophoneSettings",
    "RemoteSettings", "ServerSettings", "Settings", "TlsSettings", "WyomingSettings", "load_settings",
    "parse_settings",
]  # fmt: skip
