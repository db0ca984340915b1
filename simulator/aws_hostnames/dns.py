"""A DNS server for task containers: AWS service names resolve to the endpoint address, where the
gateway answers them over TLS; every other name is relayed to the host's own name servers, as
Docker's resolver would have done.

Containers name it as their DNS server; Docker's embedded resolver still answers container names and
forwards the rest here (UDP). Only what that needs of RFC 1035 is read and written.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnvironmentProblem
from .names import is_aws_name

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!HHHHHH")  # id, flags, question/answer/authority/additional counts
_QUESTION_TAIL = struct.Struct("!HH")  # type, class
_A, _ANY, _IN = 1, 255, 1
_NOERROR, _FORMERR, _SERVFAIL = 0, 1, 2
_TTL = 60
_MAX_MESSAGE = 4096
_RELAY_TIMEOUT = 3.0
_STOP_POLL = 0.2
_RESOLV_CONF = Path("/etc/resolv.conf")


@dataclass(frozen=True)
class Question:
    name: str
    type: int
    end: int  # offset just past the question in the message


def read_question(message: bytes) -> Question | None:
    """The first question of a standard query, or None when ``message`` is no such query."""
    if len(message) < _HEADER.size:
        return None
    _, flags, questions, *_ = _HEADER.unpack_from(message)
    if flags & 0x8000 or (flags >> 11) & 0xF or questions != 1:  # a response, not QUERY, not 1 question
        return None
    labels, offset = [], _HEADER.size
    while offset < len(message) and (length := message[offset]):
        if length & 0xC0 or offset + 1 + length > len(message):  # no compression in a question
            return None
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    if offset + 1 + _QUESTION_TAIL.size > len(message):
        return None
    qtype, _ = _QUESTION_TAIL.unpack_from(message, offset + 1)
    return Question(".".join(labels), qtype, offset + 1 + _QUESTION_TAIL.size)


def answer(query: bytes, question: Question, address: str) -> bytes:
    """The authoritative reply: ``address`` for an A (or ANY) question, no record for other types
    (so a client asking AAAA first falls back to A)."""
    query_id, flags, *_ = _HEADER.unpack_from(query)
    records = b""
    if question.type in (_A, _ANY):
        records = b"\xc0\x0c" + struct.pack("!HHIH", _A, _IN, _TTL, 4) + ipaddress.IPv4Address(address).packed
    reply_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080  # QR, AA, the query's RD, RA
    header = _HEADER.pack(query_id, reply_flags, 1, 1 if records else 0, 0, 0)
    return header + query[_HEADER.size : question.end] + records


def failure(query: bytes, rcode: int) -> bytes:
    """A reply with no records and ``rcode`` (the question echoed when there is one)."""
    query_id, flags, *_ = _HEADER.unpack_from(query)
    question = read_question(query)
    body = query[_HEADER.size : question.end] if question else b""
    return (
        _HEADER.pack(query_id, 0x8000 | (flags & 0x0100) | 0x0080 | rcode, 1 if question else 0, 0, 0, 0)
        + body
    )


def host_name_servers(resolv_conf: Path = _RESOLV_CONF) -> list[str]:
    """The IPv4 ``nameserver`` lines of the host's resolver configuration."""
    servers = []
    try:
        lines = resolv_conf.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                servers.append(str(ipaddress.IPv4Address(fields[1])))
            except ValueError:
                continue  # IPv6 servers: the relay socket is IPv4
    return servers


class AwsNameServer:
    """UDP on ``bind_ip``:(any free port); :meth:`start`, :meth:`stop`."""

    def __init__(self, bind_ip: str, aws_address: str, upstreams: Sequence[tuple[str, int]] | None = None):
        self._bind_ip = bind_ip
        self._aws_address = aws_address
        self._upstreams = list(upstreams if upstreams is not None else ((s, 53) for s in host_name_servers()))
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        assert self._socket is not None, "not started"
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self._bind_ip, 0))
        except OSError as err:
            sock.close()
            raise EnvironmentProblem(
                f"the AWS name server cannot listen on {self._bind_ip}: {err.strerror}"
            ) from None
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, name=f"aws-dns-{self._bind_ip}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._socket], [], [], _STOP_POLL)
            if not ready:
                continue
            try:
                query, client = self._socket.recvfrom(_MAX_MESSAGE)
            except OSError:
                continue
            self._reply(query, client)

    def _reply(self, query: bytes, client: tuple[str, int]) -> None:
        if len(query) < _HEADER.size:
            return  # not even an id to answer to
        question = read_question(query)
        if question is None:
            self._send(failure(query, _FORMERR), client)
        elif is_aws_name(question.name):
            self._send(answer(query, question, self._aws_address), client)
        else:  # the relay waits on the network: off this thread
            threading.Thread(target=self._relay, args=(query, client), daemon=True).start()

    def _relay(self, query: bytes, client: tuple[str, int]) -> None:
        for upstream in self._upstreams:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as relay:
                relay.settimeout(_RELAY_TIMEOUT)
                try:
                    relay.sendto(query, upstream)
                    reply, _ = relay.recvfrom(_MAX_MESSAGE)
                except OSError as err:
                    log.debug("name server %s did not answer: %s", upstream, err)
                    continue
            self._send(reply, client)
            return
        self._send(failure(query, _SERVFAIL), client)

    def _send(self, message: bytes, client: tuple[str, int]) -> None:
        sock = self._socket
        if sock is not None and not self._stopping.is_set():
            try:
                sock.sendto(message, client)
            except OSError as err:
                log.debug("could not answer %s: %s", client, err)
