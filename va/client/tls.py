"""The client's side of wss://: which certificates it trusts."""

from __future__ import annotations

import logging
import ssl
from typing import Any

_LOGGER = logging.getLogger(__name__)


def client_ssl_context(settings: Any) -> ssl.SSLContext:
    """The context for wss:// server URLs (made even when there are none: a reload may add one).

    It trusts ``client.tls.ca`` alone when that is set (a private CA), else the system's trust
    store (OpenSSL's default paths, so $SSL_CERT_FILE too). The host name is checked either way.
    Raises OSError or ssl.SSLError when the CA file cannot be read.
    """
    ca = settings.client.tls.ca
    context = ssl.create_default_context(cafile=ca)
    _LOGGER.debug("wss:// trusts %s", ca or "the system's certificates")
    return context
