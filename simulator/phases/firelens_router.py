"""ecs-sim's FireLens log router: runs *inside* the log-router container in place of Fluent Bit.

The ECS agent points every ``awsfirelens`` container's Docker ``fluentd`` log driver at a Unix socket
shared with the router (``/var/run/fluent.sock`` inside it). This script listens there, decodes the
Fluentd Forward protocol (msgpack) that Docker sends, adds the ECS metadata Fluent Bit adds, and
delivers each container's records to the output its ``logConfiguration.options`` name (``cloudwatch`` /
``cloudwatch_logs`` or ``s3``) with the container's default AWS credentials, i.e. the **task role**.
A denied PutLogEvents / PutObject is printed the way Fluent Bit prints it; the records are lost.

Configuration: env ``ECS_SIM_FIRELENS_CONFIG`` = {"outputs": {tag: options}, "metadata": {...}}.
Standard library + boto3 only (the ``ecs-sim/python`` image).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from typing import Any

SOCKET_PATH = "/var/run/fluent.sock"
TCP_PORT = 24224
FLUSH_SECONDS = 1.0
DRAIN_QUIET_SECONDS = 0.3
DRAIN_MAX_SECONDS = 4.0


class Incomplete(Exception):
    """The buffer ends inside a msgpack object: wait for more bytes."""


def _take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    end = pos + size
    if end > len(data):
        raise Incomplete
    return data[pos:end], end


def _number(data: bytes, pos: int, fmt: str) -> tuple[Any, int]:
    raw, pos = _take(data, pos, struct.calcsize(fmt))
    return struct.unpack(fmt, raw)[0], pos


_FIXED = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q"}
_FIXED.update({0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"})
_SIZED = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}  # bin8-32, str8-32
_EXT = {0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def unpack(data: bytes, pos: int = 0) -> tuple[Any, int]:
    """One msgpack object from ``data`` at ``pos`` -> (object, next position). Ext values (Fluentd's
    EventTime) become floats of seconds."""
    if pos >= len(data):
        raise Incomplete
    head = data[pos]
    pos += 1
    if head <= 0x7F:
        return head, pos
    if head >= 0xE0:
        return head - 0x100, pos
    if 0x80 <= head <= 0x8F:
        return _map(data, pos, head & 0x0F)
    if 0x90 <= head <= 0x9F:
        return _array(data, pos, head & 0x0F)
    if 0xA0 <= head <= 0xBF:
        raw, pos = _take(data, pos, head & 0x1F)
        return raw.decode("utf-8", "replace"), pos
    if head in (0xC0, 0xC2, 0xC3):
        return {0xC0: None, 0xC2: False, 0xC3: True}[head], pos
    if head in _FIXED:
        return _number(data, pos, _FIXED[head])
    if head in _SIZED:
        size, pos = _number(data, pos, _SIZED[head])
        raw, pos = _take(data, pos, size)
        return (raw if head <= 0xC6 else raw.decode("utf-8", "replace")), pos
    if head in _EXT or head in _FIXEXT:
        if head in _EXT:
            size, pos = _number(data, pos, _EXT[head])
        else:
            size = _FIXEXT[head]
        _, pos = _take(data, pos, 1)  # ext type: 0 is EventTime, the only one Fluentd uses
        raw, pos = _take(data, pos, size)
        if size == 8:
            seconds, nanoseconds = struct.unpack(">II", raw)
            return seconds + nanoseconds / 1e9, pos
        return raw, pos
    if head in (0xDC, 0xDD):
        size, pos = _number(data, pos, ">H" if head == 0xDC else ">I")
        return _array(data, pos, size)
    if head in (0xDE, 0xDF):
        size, pos = _number(data, pos, ">H" if head == 0xDE else ">I")
        return _map(data, pos, size)
    raise ValueError(f"not msgpack: byte {head:#x}")


def _array(data: bytes, pos: int, size: int) -> tuple[list[Any], int]:
    items = []
    for _ in range(size):
        item, pos = unpack(data, pos)
        items.append(item)
    return items, pos


def _map(data: bytes, pos: int, size: int) -> tuple[dict[Any, Any], int]:
    items = {}
    for _ in range(size):
        key, pos = unpack(data, pos)
        value, pos = unpack(data, pos)
        items[key.decode() if isinstance(key, bytes) else key] = value
    return items, pos


def events(message: list[Any]) -> list[tuple[str, float, dict[str, Any]]]:
    """(tag, time, record) of a Forward-protocol message in Message, Forward or PackedForward mode."""
    tag, body = message[0], message[1]
    if isinstance(body, list):  # Forward: [tag, [[time, record], ...]]
        return [(tag, float(t), record) for t, record in body]
    if isinstance(body, (bytes, str)):  # PackedForward: [tag, <concatenated msgpack entries>]
        raw = body.encode() if isinstance(body, str) else body
        out, pos = [], 0
        while pos < len(raw):
            (t, record), pos = unpack(raw, pos)
            out.append((tag, float(t), record))
        return out
    return [(tag, float(body), message[2])]  # Message: [tag, time, record, option?]


class Output:
    """One container's destination, as Fluent Bit's cloudwatch / s3 outputs name it."""

    def __init__(self, index: int, tag: str, options: dict[str, str]) -> None:
        import boto3  # only in the router container

        self.tag = tag
        self.options = options
        self.name = options.get("Name", "")
        self.plugin = "s3" if self.name == "s3" else "cloudwatch_logs"
        self.label = f"[output:{self.plugin}:{self.plugin}.{index}]"
        service = "s3" if self.plugin == "s3" else "logs"
        self.client = boto3.client(service, region_name=options.get("region") or None)
        self.pending: list[tuple[float, str]] = []
        self.created = False

    def add(self, when: float, record: dict[str, Any]) -> None:
        key = self.options.get("log_key")
        message = str(record.get(key, "")) if key else json.dumps(record, separators=(",", ":"))
        self.pending.append((when, message))

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            if self.plugin == "s3":
                self._put_object(batch)
            else:
                self._put_log_events(batch)
        except Exception as err:  # what Fluent Bit does: log the error, drop the chunk
            code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
            message = getattr(err, "response", {}).get("Error", {}).get("Message", str(err))
            api = "PutObject" if self.plugin == "s3" else "PutLogEvents"
            print(
                f"[error] {self.label} {api} API responded with error='{code}', message='{message}'",
                flush=True,
            )

    def _put_log_events(self, batch: list[tuple[float, str]]) -> None:
        group = self.options["log_group_name"]
        stream = self.options.get("log_stream_name") or self.options.get("log_stream_prefix", "") + self.tag
        if not self.created:
            if self.options.get("auto_create_group", "false").lower() == "true":
                with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
                    self.client.create_log_group(logGroupName=group)
            with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
                self.client.create_log_stream(logGroupName=group, logStreamName=stream)
            self.created = True
        events = [{"timestamp": int(when * 1000), "message": message} for when, message in batch]
        self.client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        print(f"[ info] {self.label} sent {len(events)} events to CloudWatch {group}/{stream}", flush=True)

    def _put_object(self, batch: list[tuple[float, str]]) -> None:
        key_format = self.options.get("s3_key_format", "/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S")
        key = time.strftime(key_format.replace("$TAG", self.tag).replace("$UUID", uuid.uuid4().hex[:8]))
        body = "\n".join(message for _, message in batch).encode()
        self.client.put_object(Bucket=self.options["bucket"], Key=key.lstrip("/"), Body=body)
        print(
            f"[ info] {self.label} uploaded {len(batch)} records to s3://{self.options['bucket']}/{key}",
            flush=True,
        )


class Router:
    def __init__(self, config: dict[str, Any], stopping: threading.Event) -> None:
        self.metadata = config.get("metadata", {})
        self.outputs = {
            tag: Output(i, tag, options) for i, (tag, options) in enumerate(config.get("outputs", {}).items())
        }
        self.lock = threading.Lock()
        self.stopping = stopping

    def receive(self, connection: socket.socket) -> None:
        buffer = b""
        with connection:
            while chunk := connection.recv(65536):
                buffer += chunk
                while buffer:
                    try:
                        message, used = unpack(buffer)
                    except Incomplete:
                        break
                    buffer = buffer[used:]
                    for tag, when, record in events(message):
                        self.route(tag, when, record)

    def route(self, tag: str, when: float, record: dict[str, Any]) -> None:
        output = self.outputs.get(tag)
        if output is None:
            return
        record = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in record.items()
        }
        with self.lock:
            output.add(when, {**record, **self.metadata})

    def flush(self) -> None:
        with self.lock:
            for output in self.outputs.values():
                output.flush()

    def flush_loop(self) -> None:
        while not self.stopping.wait(FLUSH_SECONDS):
            self.flush()


def _listeners() -> list[socket.socket]:
    """Fluent Bit's forward inputs as FireLens configures them: the Unix socket the log drivers use, and
    TCP 24224 for applications that log with a Fluent client (FLUENT_HOST/FLUENT_PORT)."""
    if os.path.exists(SOCKET_PATH):
        os.unlink(SOCKET_PATH)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(SOCKET_PATH)
    os.chmod(SOCKET_PATH, 0o777)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", TCP_PORT))
    for listener in (unix, tcp):
        listener.listen(64)
    return [unix, tcp]


def main() -> int:
    # Listen first: the task's other containers start once the socket exists (importing boto3 takes a second).
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    listeners = _listeners()
    router = Router(json.loads(os.environ.get("ECS_SIM_FIRELENS_CONFIG", "{}")), stopping)
    threading.Thread(target=router.flush_loop, daemon=True).start()
    print(
        f"[ info] [ecs-sim firelens] listening on {SOCKET_PATH} and :{TCP_PORT} for {sorted(router.outputs)}",
        flush=True,
    )
    readers: list[threading.Thread] = []
    stopped_at = None
    while True:
        ready, _, _ = select.select(listeners, [], [], 0.1)
        for listener in ready:
            connection, _ = listener.accept()
            reader = threading.Thread(target=router.receive, args=(connection,), daemon=True)
            reader.start()
            readers.append(reader)
        if stopping.is_set():
            # SIGTERM comes once the app containers have stopped (they depend on the router): drain what
            # their log drivers still send (they close their connections when done), then flush.
            stopped_at = stopped_at or time.monotonic()
            readers = [r for r in readers if r.is_alive()]
            waited = time.monotonic() - stopped_at
            if (not readers and waited > DRAIN_QUIET_SECONDS) or waited > DRAIN_MAX_SECONDS:
                break
    router.flush()
    print("[ info] [ecs-sim firelens] stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
