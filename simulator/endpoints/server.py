"""The credentials + task metadata + agent API HTTP server: one registry, any number of listeners.

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

from ..gateway.http1 import read_body
from .agent_api import AgentTask
from .credentials import TaskCredentials
from .handlers import Response, handle
from .metadata import StatsProvider, ViewProvider
from .registry import EndpointRegistry

_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}
MAX_BODY = 1 << 20  # a task protection request is a few dozen bytes
# Go's answer to a request whose body framing it cannot read.
_BAD_FRAMING = Response(400, b"400 Bad Request", "text/plain; charset=utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped, like the agent's 5 s read timeout but kinder
    server: _Listener

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_PUT(self) -> None:  # the agent API; the other routes answer any method as they answer GET
        self._serve(send_body=True)

    do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def _serve(self, *, send_body: bool) -> None:
        # Read even when the route ignores it: the next request on the connection starts after it.
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            body = read_body(self.rfile, headers, MAX_BODY)  # type: ignore[arg-type]
        except ValueError:  # malformed framing, or over MAX_BODY
            self.close_connection = True
            self._reply(_BAD_FRAMING, send_body=send_body)
            return
        self._reply(handle(self.server.registry, self.path, self.command, body), send_body=send_body)

    def _reply(self, response: Response, *, send_body: bool) -> None:
        content_type = f"Content-Type: {response.content_type}\r\n" if response.content_type else ""
        head = (
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}\r\n"
            f"{content_type}"
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
    """Serves ``/v1|v2/credentials``, TMDE ``/v3`` and ``/v4``, the agent API ``/api``, and ``/health``."""

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

    def register_container(
        self, view: ViewProvider, stats: StatsProvider | None = None, agent: AgentTask | None = None
    ) -> str:
        """Serve one container's ``/v3|v4/<returned id>`` endpoints from ``view`` (and ``stats``), and its
        ``/api/<returned id>`` agent API for the task ``agent``."""
        return self.registry.register_container(view, stats, agent)

    def unregister_container(self, endpoint_id: str) -> None:
        self.registry.unregister_container(endpoint_id)

    def __enter__(self) -> EndpointServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
