"""The router's Forward-protocol decoding (msgpack), in the three modes Fluentd clients use."""

from __future__ import annotations

import struct

import pytest

from simulator.phases.firelens_router import Incomplete, events, unpack


def s(text: str) -> bytes:
    raw = text.encode()
    return (bytes([0xA0 | len(raw)]) if len(raw) < 32 else b"\xd9" + bytes([len(raw)])) + raw


def record(log: str) -> bytes:
    return b"\x82" + s("source") + s("stdout") + s("log") + s(log)


def test_message_mode_with_event_time() -> None:
    event_time = b"\xd7\x00" + struct.pack(">II", 1700000000, 500_000_000)
    message = b"\x94" + s("app-firelens-1") + event_time + record("hello") + b"\xc0"
    decoded, used = unpack(message)
    assert used == len(message)
    assert events(decoded) == [("app-firelens-1", 1700000000.5, {"source": "stdout", "log": "hello"})]


def test_forward_and_packed_forward_modes() -> None:
    entry = b"\x92" + b"\xce" + struct.pack(">I", 1700000000) + record("a")
    forward, _ = unpack(b"\x92" + s("t") + b"\x92" + entry + entry)
    assert [e[2]["log"] for e in events(forward)] == ["a", "a"]
    packed = entry * 3
    packed_forward, _ = unpack(b"\x92" + s("t") + b"\xc4" + bytes([len(packed)]) + packed)
    assert len(events(packed_forward)) == 3


def test_incomplete_input_waits_for_more() -> None:
    message = b"\x93" + s("tag") + b"\x01" + record("hello")
    with pytest.raises(Incomplete):
        unpack(message[:-2])
    assert unpack(message)[1] == len(message)


def test_numbers() -> None:
    assert unpack(b"\xff")[0] == -1
    assert unpack(b"\xd1\xff\x00")[0] == -256
    assert unpack(b"\xcb" + struct.pack(">d", 1.5))[0] == 1.5
    assert unpack(b"\xde\x00\x01" + s("k") + b"\xc3")[0] == {"k": True}
