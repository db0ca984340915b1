"""How the gateway reaches the AWS backend (``Transport``), and ``Upstream``: keep-alive HTTP/1.1
connections to a backend elsewhere (LocalStack, an endpoint URL), one per gateway thread."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from ..errors import InputError
from .http1 import MalformedMessage, header_dict, read_body, read_header_pairs, read_line

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
NO_BODY_STATUSES = frozenset({204, 304})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_UNLIMITED = 1 << 62


class BackendClosed(ConnectionError):
    """The backend closed a connection before answering."""


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Transport(Protocol):
    """Sends one request to the backend and returns its whole answer; safe to call from many threads.

    ``headers`` are the end-to-end headers without Content-Length (the transport declares the body);
    a HEAD answer and a 204 or 304 answer have an empty body.
    """

    @property
    def netloc(self) -> str:
        """``host:port`` of the backend, for a Host header naming it."""
        ...

    def send(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Response:
        """Raises ``OSError`` when the backend cannot be reached or answers with garbage."""
        ...

    def close(self) -> None: ...


def declared_length(method: str, body: bytes) -> int | None:
    """The Content-Length a forwarded request declares: none for a GET, HEAD, DELETE without a body."""
    return len(body) if body or method in _BODY_METHODS else None


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.stream: BinaryIO = sock.makefile("rb")

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


class Upstream:
    """Sends requests to ``backend_url``; a stale pooled connection is replaced and the request retried once."""

    def __init__(self, backend_url: str, timeout: float = 120.0) -> None:
        parts = urlsplit(backend_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"backend URL must be http(s)://host[:port], got {backend_url!r}", where="gateway"
            )
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()  # every thread's connection, for close()

    @property
    def netloc(self) -> str:
        return f"{self._host}:{self._port}"

    def send(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Response:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            try:
                return self._exchange(connection, method, target, headers, body)
            except (BackendClosed, ConnectionResetError, BrokenPipeError):
                self._drop()  # the backend closed the idle connection: once more on a fresh one
        return self._exchange(self._connect(), method, target, headers, body)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            connection.close()

    def _exchange(
        self,
        connection: _Connection,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> Response:
        lines = [f"{method} {target} HTTP/1.1"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        length = declared_length(method, body)
        if length is not None:
            lines.append(f"Content-Length: {length}")
        try:
            connection.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            while True:
                status_line = read_line(connection.stream)
                if not status_line:
                    raise BackendClosed("the backend closed the connection")
                version, status, reason = _status(status_line)
                pairs = read_header_pairs(connection.stream)
                if not 100 <= status < 200:
                    break
            found = header_dict(pairs)
            framed = "chunked" in found.get("transfer-encoding", "").lower() or "content-length" in found
            if method == "HEAD" or status in NO_BODY_STATUSES:
                data = b""
            elif framed:
                data = read_body(connection.stream, found, _UNLIMITED)
            else:
                data = connection.stream.read()  # delimited by the backend closing the connection
        except MalformedMessage as err:
            self._drop()
            raise OSError(f"unreadable answer from the backend: {err}") from None
        except OSError:
            self._drop()
            raise
        if version == "HTTP/1.0" or "close" in found.get("connection", "").lower() or not framed:
            self._drop()
        return Response(status, reason, tuple(pairs), data)

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self._host)
        connection = _Connection(sock)
        self._local.connection = connection
        with self._lock:
            self._open.add(connection)
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._open.discard(connection)
            connection.close()


def _status(line: bytes) -> tuple[str, int, str]:
    version, _, rest = line.decode("latin-1").strip().partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise MalformedMessage(f"malformed status line {line[:80]!r}")
    return version, int(code), reason
