"""Backend connections: kept alive, replaced when the backend closed them, every framing understood."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from simulator.gateway.upstream import Upstream


class _Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        _Backend.connections.add(id(self.connection))
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        elif self.path == "/eof":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until close")
            self.close_connection = True
        else:
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1234")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_keep_alive_and_framings(backend):
    upstream = Upstream(f"http://127.0.0.1:{backend.server_address[1]}")
    host = [("Host", "x")]
    _Backend.connections.clear()
    assert upstream.send("GET", "/one", host, b"").body == b"/one"
    assert upstream.send("GET", "/two", host, b"").body == b"/two"
    assert len(_Backend.connections) == 1  # one kept-alive connection served both
    assert upstream.send("GET", "/chunked", host, b"").body == b"abcde"
    head = upstream.send("HEAD", "/obj", host, b"")
    assert head.body == b"" and ("Content-Length", "1234") in head.headers
    assert upstream.send("GET", "/eof", host, b"").body == b"until close"
    assert upstream.send("GET", "/after", host, b"").body == b"/after"  # a new connection
    upstream.close()


def test_a_connection_the_backend_closed_is_replaced(backend):
    upstream = Upstream(f"http://127.0.0.1:{backend.server_address[1]}")
    assert upstream.send("GET", "/a", [("Host", "x")], b"").body == b"/a"
    upstream._local.connection.sock.shutdown(2)  # as if the backend had dropped the idle connection
    assert upstream.send("GET", "/b", [("Host", "x")], b"").body == b"/b"


def test_unreachable_backend_raises_oserror():
    with pytest.raises(OSError):
        Upstream("http://127.0.0.1:9").send("GET", "/", [("Host", "x")], b"")
