"""The HTTP edges of the speech server: token check, JSON responses, TLS context."""

from __future__ import annotations

import hmac
import http
import json
import ssl
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response


def request_path(request: Request) -> str:
    """The path without its query string."""
    return urlsplit(request.path).path


def authorized(request: Request, token: str) -> bool:
    """True when the request carries `Authorization: Bearer <token>`. A token in the URL
    (``?token=``) is not taken: proxies and servers log URLs, so it would leak."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # compare_digest: the time taken must not tell how much of the token was right
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def unauthorized(connection: ServerConnection, request: Request) -> Response:
    if "token" in parse_qs(urlsplit(request.path).query):
        why = "missing token: a token in the URL is not accepted (URLs get logged); send Authorization: Bearer <token>\n"
        return connection.respond(http.HTTPStatus.UNAUTHORIZED, why)
    return connection.respond(http.HTTPStatus.UNAUTHORIZED, "missing or wrong token\n")


def server_full(connection: ServerConnection) -> Response:
    """503 past the connection cap: a client with other server URLs tries the next one."""
    response = connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "server full: too many connections\n")
    response.headers["Retry-After"] = "5"
    return response


def json_response(connection: ServerConnection, status: http.HTTPStatus, body: Any) -> Response:
    response = connection.respond(status, json.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def ssl_context(cert: Optional[str], key: Optional[str]) -> Optional[ssl.SSLContext]:
    """A server context for wss://, or None to serve plain ws://."""
    if not cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
