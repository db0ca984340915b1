"""The loopback listener that publishes a borrowed namespace's TCP ports (real sockets on 127.0.0.1)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from simulator.docker.port_forward import PortForward, PortInUse


class _Upper(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            self.wfile.write(line.upper())


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Upper) as upper:
        upper.daemon_threads = True
        threading.Thread(target=upper.serve_forever, daemon=True).start()
        yield upper.server_address[0], upper.server_address[1]
        upper.shutdown()


def test_bytes_go_both_ways_and_a_half_close_is_passed_on(server: tuple[str, int]) -> None:
    forward = PortForward(server, None)
    try:
        with socket.create_connection(("127.0.0.1", forward.host_port), timeout=5) as client:
            client.sendall(b"hello\nworld\n")
            client.shutdown(socket.SHUT_WR)  # the server's read loop ends, then it closes
            received = b""
            while chunk := client.recv(4096):
                received += chunk
        assert received == b"HELLO\nWORLD\n"
    finally:
        forward.close()


def test_nothing_listening_in_the_task_closes_the_client() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        target = unused.getsockname()  # bound, not listening: connections are refused
        forward = PortForward(target, None)
        try:
            with socket.create_connection(("127.0.0.1", forward.host_port), timeout=5) as client:
                assert client.recv(10) == b""
        finally:
            forward.close()


def test_a_taken_host_port_is_refused_as_docker_words_it(server: tuple[str, int]) -> None:
    first = PortForward(server, None)
    try:
        with pytest.raises(PortInUse) as refused:
            PortForward(server, first.host_port)
        assert (
            refused.value.strerror
            == f"Bind for 127.0.0.1:{first.host_port} failed: port is already allocated"
        )
    finally:
        first.close()
    again = PortForward(server, first.host_port)  # free once the first is closed
    again.close()


def test_close_cuts_open_connections(server: tuple[str, int]) -> None:
    forward = PortForward(server, None)
    client = socket.create_connection(("127.0.0.1", forward.host_port), timeout=5)
    client.sendall(b"x\n")
    assert client.recv(10) == b"X\n"
    forward.close()
    assert client.recv(10) == b""
    client.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", forward.host_port), timeout=1)
