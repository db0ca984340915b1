"""The awslogs driver's shipping: container output to CloudWatch Logs with PutLogEvents, signed with the
execution role (the agent hands the driver the execution role's credentials endpoint)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

_FLUSH_SECONDS = 1.0
_MAX_BATCH = 10_000  # PutLogEvents accepts at most 10,000 events per call


class LogShipper:
    def __init__(self, logs_client: Any, group: str, stream: str) -> None:
        self._client = logs_client
        self._group = group
        self._stream = stream
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"awslogs-{stream}")
        self._thread.start()

    def add(self, line: str) -> None:
        with self._lock:
            self._pending.append({"timestamp": int(time.time() * 1000), "message": line})

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
        self._flush()

    def _loop(self) -> None:
        while not self._stopped.wait(_FLUSH_SECONDS):
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
        if not batch:
            return
        # A denied PutLogEvents loses the lines, as the real driver does; the gateway records the denial.
        with contextlib.suppress(Exception):
            self._client.put_log_events(logGroupName=self._group, logStreamName=self._stream, logEvents=batch)
