"""What a run returns: the describe-tasks-shaped task, the denials with their diagnosis, the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnosis import Denial
from .ecs.task_record import TaskRecord
from .errors import EXIT_CONTAINER_FAILED, EXIT_OK, EXIT_TASK_FAILED_TO_START
from .timeline import Timeline


@dataclass
class TaskResult:
    task: TaskRecord
    timeline: Timeline
    denials: list[Denial] = field(default_factory=list)
    container_logs: dict[str, list[str]] = field(default_factory=dict)
    failed_to_start: bool = False
    interrupted: bool = False
    run_task_error: dict[str, str] | None = None  # RunTask refused the task (e.g. a role ECS cannot assume)

    # --- questions tests ask ------------------------------------------------------------------
    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 0 ran and every essential container exited 0, 1 a container failed,
        2 the task failed to start."""
        if self.failed_to_start or self.run_task_error:
            return EXIT_TASK_FAILED_TO_START
        essential = [c for c in self.task.containers if c.essential]
        if self.interrupted or any(c.exit_code != 0 for c in essential):
            return EXIT_CONTAINER_FAILED
        return EXIT_OK

    def container_exit_code(self, name: str) -> int | None:
        return self.task.container(name).exit_code

    def logs(self, container: str) -> str:
        return "\n".join(self.container_logs.get(container, []))

    def denied(self, action: str, *, phase: str | None = None) -> bool:
        return any(
            d.action.lower() == action.lower() and (phase is None or d.phase == phase) for d in self.denials
        )

    def stopped_with(self, stop_code: str) -> bool:
        return self.task.stop_code == stop_code

    # --- documents ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "task": self.task.to_json(),
            "denials": [d.to_json() for d in self.denials],
            "timeline": self.timeline.to_json(),
        }
        if self.run_task_error:
            document["runTaskError"] = self.run_task_error
        return document
