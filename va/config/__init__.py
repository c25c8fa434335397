"""Settings: /etc/va/config.yaml read once into a tree of frozen dataclasses.

    from va.config import load_settings, Settings, ConfigError
"""

from va.config.settings import (
    DEFAULT_PATH,
    ENV_VAR,
    ClientSettings,
    CommandSettings,
    ConfigError,
    MicrophoneSettings,
    RemoteSettings,
    ServerSettings,
    Settings,
    TlsSettings,
    WyomingSettings,
    load_settings,
    parse_settings,
)

__all__ = [
    "DEFAULT_PATH", "ENV_VAR", "ClientSettings", "CommandSettings", "ConfigError", "MicrophoneSettings",
    "RemoteSettings", "ServerSettings", "Settings", "TlsSettings", "WyomingSettings", "load_settings",
    "parse_settings",
]  # fmt: skip
