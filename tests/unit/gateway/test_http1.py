"""HTTP/1.1 framing: headers, Content-Length and chunked bodies, limits."""

from __future__ import annotations

import io

import pytest

from simulator.gateway.http1 import (
    BodyTooLarge,
    MalformedMessage,
    header_dict,
    read_body,
    read_header_pairs,
)


def test_headers_keep_case_and_order_and_join_repeats():
    stream = io.BytesIO(b"Host: h\r\nX-Amz-Date: 1\r\nx-amz-date: 2\r\n\r\nBODY")
    pairs = read_header_pairs(stream)
    assert pairs == [("Host", "h"), ("X-Amz-Date", "1"), ("x-amz-date", "2")]
    assert header_dict(pairs) == {"host": "h", "x-amz-date": "1,2"}
    assert stream.read() == b"BODY"


@pytest.mark.parametrize(
    "raw", [b"no colon here\r\n\r\n", b" Host: h\r\n\r\n", b"X: " + b"a" * 70000 + b"\r\n\r\n"]
)
def test_malformed_headers(raw):
    with pytest.raises(MalformedMessage):
        read_header_pairs(io.BytesIO(raw))


def test_bodies():
    assert read_body(io.BytesIO(b"hello"), {"content-length": "5"}, 10) == b"hello"
    assert read_body(io.BytesIO(b""), {}, 10) == b""
    chunked = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    assert read_body(io.BytesIO(chunked), {"transfer-encoding": "chunked"}, 100) == b"hello world"


@pytest.mark.parametrize(
    ("raw", "headers", "error"),
    [
        (b"hello", {"content-length": "9"}, MalformedMessage),
        (b"", {"content-length": "-1"}, MalformedMessage),
        (b"x" * 20, {"content-length": "20"}, BodyTooLarge),
        (b"zz\r\n", {"transfer-encoding": "chunked"}, MalformedMessage),
        (b"20\r\n" + b"x" * 32 + b"\r\n0\r\n\r\n", {"transfer-encoding": "chunked"}, BodyTooLarge),
        (b"5\r\nhe", {"transfer-encoding": "chunked"}, MalformedMessage),
    ],
)
def test_bad_bodies(raw, headers, error):
    with pytest.raises(error):
        read_body(io.BytesIO(raw), headers, 10)
