"""Keep-alive HTTP connections from the gateway to the AWS backend, one per gateway thread."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InputError

# Hop-by-hop headers (RFC 9110 7.6.1) are never relayed; Content-Length is recomputed.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_RETRYABLE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    http.client.CannotSendRequest,
)


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Upstream:
    """Sends requests to ``backend_url``; a stale pooled connection is replaced and the request retried once."""

    def __init__(self, backend_url: str, timeout: float = 120.0) -> None:
        parts = urlsplit(backend_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"backend URL must be http(s)://host[:port], got {backend_url!r}", where="gateway"
            )
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._timeout = timeout
        self._local = threading.local()

    @property
    def netloc(self) -> str:
        return f"{self._host}:{self._port}"

    def send(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Response:
        """Raises ``OSError`` when the backend cannot be reached."""
        reused = getattr(self._local, "connection", None) is not None
        try:
            return self._send_once(method, target, headers, body)
        except _RETRYABLE:
            self._drop()
            if not reused:
                raise
            return self._send_once(method, target, headers, body)
        except OSError:
            self._drop()
            raise

    def close(self) -> None:
        self._drop()

    def _send_once(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Response:
        connection = self._connection()
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        data = response.read()
        if response.will_close:
            self._drop()
        return Response(response.status, response.reason, tuple(response.getheaders()), data)

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = factory(self._host, self._port, timeout=self._timeout)
            connection.connect()
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()
