"""The phase timeline of a run: each step with its phase, start, end and outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ecs.task_record import iso, now


@dataclass
class TimelineEntry:
    phase: str  # "execution" | "runtime"
    step: str
    started_at: datetime = field(default_factory=now)
    stopped_at: datetime | None = None
    status: str = "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "step": self.step,
            "startedAt": iso(self.started_at),
            "stoppedAt": iso(self.stopped_at),
            "status": self.status,
        }


class Timeline:
    def __init__(self) -> None:
        self._entries: list[TimelineEntry] = []
        self._lock = threading.Lock()

    @contextmanager
    def step(self, phase: str, step: str) -> Iterator[TimelineEntry]:
        entry = TimelineEntry(phase, step)
        with self._lock:
            self._entries.append(entry)
        try:
            yield entry
        except BaseException:
            entry.status = "failed" if entry.status == "ok" else entry.status
            raise
        finally:
            entry.stopped_at = now()

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e.to_json() for e in self._entries]
