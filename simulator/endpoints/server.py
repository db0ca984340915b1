"""The credentials + task metadata HTTP server: one registry, any number of listeners.

A simulator listens on its task network's gateway IP (where the DNAT rule for 169.254.170.2:80
lands) and, in serve mode, on loopback too. Plain ``http.server`` with a thread per connection,
HTTP/1.1 keep-alive and one ``sendall`` per response keeps it close to a bare static responder.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from .credentials import TaskCredentials
from .handlers import Response, handle
from .metadata import StatsProvider, ViewProvider
from .registry import EndpointRegistry

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped, like the agent's 5 s read timeout but kinder
    server: _Listener

    def do_GET(self) -> None:
        self._reply(handle(self.server.registry, self.path), send_body=True)

    def do_HEAD(self) -> None:
        self._reply(handle(self.server.registry, self.path), send_body=False)

    def _reply(self, response: Response, *, send_body: bool) -> None:
        head = (
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n"
            f"Content-Length: {len(response.body)}\r\n\r\n"
        ).encode("latin-1")
        self.wfile.write(head + response.body if send_body else head)

    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged: a task polling its credentials would flood the output."""


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold up stop()

    def __init__(self, host: str, port: int, registry: EndpointRegistry) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.registry = registry
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (or a connection closed by stop()) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def close_connections(self) -> None:
        with self._open_lock:
            open_sockets = list(self._open)
        for connection in open_sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class EndpointServer:
    """Serves ``/v1|v2/credentials``, TMDE ``/v3`` and ``/v4``, and ``/health``."""

    def __init__(self) -> None:
        self.registry = EndpointRegistry()
        self._listeners: list[tuple[_Listener, threading.Thread]] = []

    def start(self, host: str, port: int = 0) -> int:
        """Listen on ``host:port`` (0: any free port) and return the port."""
        return self.add_listener(host, port)

    def add_listener(self, host: str, port: int = 0) -> int:
        """Serve the same registry on one more address; returns the bound port."""
        listener = _Listener(host, port, self.registry)
        thread = threading.Thread(
            target=listener.serve_forever, kwargs={"poll_interval": 0.2}, name=f"endpoint {host}", daemon=True
        )
        thread.start()
        self._listeners.append((listener, thread))
        return listener.server_address[1]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [(listener.server_address[0], listener.server_address[1]) for listener, _ in self._listeners]

    def stop(self) -> None:
        """Stop every listener and drop open connections. Idempotent."""
        while self._listeners:
            listener, thread = self._listeners.pop()
            listener.shutdown()
            listener.server_close()
            listener.close_connections()
            thread.join()

    def register_credentials(self, credentials: TaskCredentials) -> str:
        """Serve ``credentials`` at ``/v2/credentials/<returned id>`` until unregistered."""
        return self.registry.register_credentials(credentials)

    def update_credentials(self, credentials_id: str, credentials: TaskCredentials) -> None:
        """Rotate: serve ``credentials`` under an id already handed to a task (before the old ones expire)."""
        self.registry.update_credentials(credentials_id, credentials)

    def unregister_credentials(self, credentials_id: str) -> None:
        self.registry.unregister_credentials(credentials_id)

    def register_container(self, view: ViewProvider, stats: StatsProvider | None = None) -> str:
        """Serve one container's ``/v3|v4/<returned id>`` endpoints from ``view`` (and ``stats``)."""
        return self.registry.register_container(view, stats)

    def unregister_container(self, endpoint_id: str) -> None:
        self.registry.unregister_container(endpoint_id)

    def __enter__(self) -> EndpointServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
