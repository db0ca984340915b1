"""The parts of HTTP/1.1 message framing the gateway reads on both sides (client requests, backend
responses): header lines and bodies. Hand-rolled because ``http.client``'s email-based header parser
was the largest cost of a proxied call."""

from __future__ import annotations

from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 200


class MalformedMessage(ValueError):
    """The bytes are not an HTTP/1.1 message the gateway can read."""


class BodyTooLarge(ValueError):
    """The declared or received body is over the caller's limit."""


def read_line(stream: BinaryIO) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise MalformedMessage("header line too long")
    return line


def read_header_pairs(stream: BinaryIO) -> list[tuple[str, str]]:
    """Header lines up to the blank line, as (name, value) in their original case and order."""
    pairs: list[tuple[str, str]] = []
    while True:
        line = read_line(stream)
        if line in (b"\r\n", b"\n", b""):
            return pairs
        if len(pairs) >= MAX_HEADERS:
            raise MalformedMessage("too many headers")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise MalformedMessage(f"malformed header line {line[:80]!r}")
        pairs.append((name, value.strip()))


def header_dict(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names; repeated headers joined with commas, as SigV4 canonicalization does."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers


def read_body(stream: BinaryIO, headers: dict[str, str], limit: int) -> bytes:
    """A message body framed by ``Transfer-Encoding: chunked`` or ``Content-Length`` (none: empty)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return read_chunked(stream, limit)
    length_text = headers.get("content-length", "0").strip() or "0"
    if not length_text.isdigit():
        raise MalformedMessage("Content-Length is not a number")
    length = int(length_text)
    if length > limit:
        raise BodyTooLarge(length)
    body = stream.read(length) if length else b""
    if len(body) != length:
        raise MalformedMessage("connection closed inside the body")
    return body


def read_chunked(stream: BinaryIO, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_text = read_line(stream).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise MalformedMessage("malformed chunk size") from None
        if size == 0:
            read_header_pairs(stream)  # trailers, dropped
            return b"".join(chunks)
        total += size
        if total > limit:
            raise BodyTooLarge(total)
        chunk = stream.read(size)
        if len(chunk) != size:
            raise MalformedMessage("connection closed inside a chunk")
        chunks.append(chunk)
        read_line(stream)
