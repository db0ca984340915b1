"""What a run returns: the describe-tasks-shaped task, the denials with their diagnosis, the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnosis import Denial
from .ecs.task_record import TaskRecord
from .errors import EXIT_CONTAINER_FAILED, EXIT_OK, EXIT_TASK_FAILED_TO_START
from .timeline import Timeline
from .used_permissions import UsedPermission, least_privilege_policies


@dataclass(repr=False)
class TaskResult:
    """One task's outcome. The ``assert_*`` methods raise AssertionError carrying :meth:`explain`."""

    task: TaskRecord
    timeline: Timeline
    denials: list[Denial] = field(default_factory=list)
    # every action on every resource the task's roles were asked for (allowed or not), see used_permissions
    permissions: list[UsedPermission] = field(default_factory=list)
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
        """The exit code of container ``name`` (None when it never ran)."""
        return self.task.container(name).exit_code

    def logs(self, container: str) -> str:
        """Everything container ``container`` wrote to stdout and stderr, one string."""
        return "\n".join(self.container_logs.get(container, []))

    def denied(self, action: str, *, phase: str | None = None) -> bool:
        """Whether ``action`` (e.g. ``secretsmanager:GetSecretValue``) was denied, in ``phase``
        ("execution": task start with the execution role, "runtime": the app with the task role)."""
        return any(
            d.action.lower() == action.lower() and (phase is None or d.phase == phase) for d in self.denials
        )

    def stopped_with(self, stop_code: str) -> bool:
        """Whether the task's stopCode is ``stop_code``."""
        return self.task.stop_code == stop_code

    # --- assertions: the same questions, failing with the diagnosis -------------------------------
    def assert_denied(self, action: str, *, phase: str | None = None) -> Denial:
        """Assert that ``action`` was denied (in ``phase``: "execution" or "runtime", when given) and
        return the denial; otherwise raise AssertionError with what did happen."""
        for denial in self.denials:
            if denial.action.lower() == action.lower() and (phase is None or denial.phase == phase):
                return denial
        where = f" in phase {phase!r}" if phase else ""
        raise AssertionError(f"{action} was not denied{where}\n{self.explain()}")

    def assert_not_denied(self, action: str | None = None, *, phase: str | None = None) -> None:
        """Assert that nothing (or nothing for ``action``, in ``phase``) was denied."""
        unexpected = [
            d
            for d in self.denials
            if (action is None or d.action.lower() == action.lower()) and (phase is None or d.phase == phase)
        ]
        if unexpected:
            what = ", ".join(sorted({d.action for d in unexpected}))
            raise AssertionError(f"denied: {what}\n{self.explain()}")

    def assert_stopped_with(self, stop_code: str) -> None:
        """Assert the task's stopCode (``TaskFailedToStart``, ``EssentialContainerExited``, ...)."""
        if not self.stopped_with(stop_code):
            raise AssertionError(f"stopCode is {self.task.stop_code!r}, not {stop_code!r}\n{self.explain()}")

    def assert_succeeded(self) -> None:
        """Assert the task started and every essential container exited 0."""
        if self.exit_code != EXIT_OK:
            raise AssertionError(f"the task did not succeed (exit code {self.exit_code})\n{self.explain()}")

    def explain(self, log_lines: int = 5) -> str:
        """What happened, as a failed assertion prints it: status, containers, every denial with its
        diagnosis, the last ``log_lines`` lines of each container."""
        task = self.task
        lines = [f"task {task.family} {task.task_id}: {task.last_status.value}, stopCode {task.stop_code}"]
        if self.run_task_error:
            lines.append(f"RunTask failed: {self.run_task_error.get('message', self.run_task_error)}")
        if task.stopped_reason:
            lines.append(f"stoppedReason: {task.stopped_reason}")
        for container in task.containers:
            reason = f" ({container.reason})" if container.reason else ""
            lines.append(f"container {container.name}: exit code {container.exit_code}{reason}")
        for denial in self.denials:
            lines.append(f"denied in phase {denial.phase}: {denial.action} on {denial.resource}")
            lines.append(f"  {denial.diagnosis}")
        for name, logged in self.container_logs.items():
            lines += [f"{name}| {line}" for line in logged[-log_lines:]]
        return "\n".join(lines)

    def __repr__(self) -> str:
        # What pytest shows for a plain `assert result.denied(...)`: the outcome, not every field.
        denied = ", ".join(f"{d.action} ({d.phase})" for d in self.denials) or "none"
        return (
            f"<TaskResult {self.task.family} {self.task.last_status.value} stopCode={self.task.stop_code} "
            f"exit_code={self.exit_code} denied: {denied}>"
        )

    def least_privilege_policies(self) -> dict[str, dict[str, Any]]:
        """Role ARN -> the identity policy allowing exactly what this run asked of that role (the
        execution role at task start, the task role at runtime), denied uses included."""
        return least_privilege_policies(self.permissions)

    # --- documents ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "task": self.task.to_json(),
            "denials": [d.to_json() for d in self.denials],
            "timeline": self.timeline.to_json(),
            "permissions": [p.to_json() for p in self.permissions],
            "leastPrivilegePolicies": self.least_privilege_policies(),
        }
        if self.run_task_error:
            document["runTaskError"] = self.run_task_error
        return document
