"""The name server over real UDP sockets on loopback: AWS names answered, others relayed to an upstream
(a fake one here, also on loopback), malformed queries refused."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from simulator.aws_hostnames.dns import AwsNameServer, host_name_servers, read_question

ENDPOINT = "169.254.170.2"
A, AAAA = 1, 28


def query(name: str, qtype: int = A, query_id: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return (
        struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", qtype, 1)
    )


def ask(port: int, message: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(message, ("127.0.0.1", port))
        return sock.recvfrom(4096)[0]


def header(reply: bytes) -> tuple[int, int, int, int]:
    query_id, flags, questions, answers = struct.unpack_from("!HHHH", reply)
    return query_id, flags & 0xF, questions, answers


class Upstream:
    """Answers every query with a fixed marker reply carrying the query's id."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.asked: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                message, client = self.sock.recvfrom(4096)
            except OSError:
                return
            self.asked.append(message)
            self.sock.sendto(message[:2] + b"upstream-reply", client)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.sock.close()


@pytest.fixture
def server(upstream: Upstream) -> Iterator[AwsNameServer]:
    name_server = AwsNameServer("127.0.0.1", ENDPOINT, [upstream.sock.getsockname()])
    name_server.start()
    yield name_server
    name_server.stop()


def test_an_aws_name_is_the_endpoint(server: AwsNameServer, upstream: Upstream) -> None:
    message = query("app-data.s3.us-east-1.amazonaws.com")
    reply = ask(server.port, message)
    assert header(reply) == (0x1234, 0, 1, 1)
    assert reply[12 : len(message)] == message[12:]  # the question, echoed
    assert reply[-4:] == socket.inet_aton(ENDPOINT)
    assert struct.unpack_from("!HHIH", reply, len(message) + 2) == (A, 1, 60, 4)
    assert upstream.asked == []


def test_other_record_types_of_aws_names_are_empty(server: AwsNameServer) -> None:
    assert header(ask(server.port, query("sts.amazonaws.com", AAAA))) == (0x1234, 0, 1, 0)


def test_other_names_are_relayed(server: AwsNameServer, upstream: Upstream) -> None:
    message = query("example.com", query_id=0x4242)
    assert ask(server.port, message) == b"\x42\x42upstream-reply"
    assert upstream.asked == [message]


def test_without_upstreams_other_names_fail() -> None:
    name_server = AwsNameServer("127.0.0.1", ENDPOINT, [])
    name_server.start()
    try:
        assert header(ask(name_server.port, query("example.com"))) == (0x1234, 2, 1, 0)  # SERVFAIL
    finally:
        name_server.stop()


def test_a_malformed_query_is_refused_and_the_server_goes_on(server: AwsNameServer) -> None:
    truncated = query("sts.amazonaws.com")[:-3]
    assert header(ask(server.port, truncated))[1] == 1  # FORMERR
    assert read_question(truncated) is None
    assert header(ask(server.port, query("sts.amazonaws.com")))[3] == 1


def test_host_name_servers_keeps_ipv4_lines(tmp_path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nnameserver 127.0.0.53\nnameserver ::1\nsearch lan\nnameserver 192.0.2.1\n")
    assert host_name_servers(conf) == ["127.0.0.53", "192.0.2.1"]
    assert host_name_servers(tmp_path / "missing") == []
