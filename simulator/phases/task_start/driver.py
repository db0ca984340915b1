"""Runs the task-start units in order; the first failure stops the task (no container starts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...ecs.task_record import TaskRecord
from ...timeline import Timeline
from .units import ContainerInputs, ExecutionClients, StartFailed, StartUnit

StepListener = Callable[[StartUnit, str], None]  # (unit, "started" | "ok" | "failed")


def run_task_start(
    task: TaskRecord,
    units: Sequence[StartUnit],
    clients: ExecutionClients,
    timeline: Timeline,
    *,
    listener: StepListener | None = None,
) -> dict[str, ContainerInputs]:
    """Returns what each container needs to start; raises StartFailed with ECS's wording."""
    inputs = {c.name: ContainerInputs() for c in task.containers}
    notify = listener or (lambda unit, status: None)
    for unit in units:
        if unit.kind == "image-pull":
            task.stamp("pullStartedAt")
        step = f"{unit.kind}" + (f" ({unit.container})" if unit.container else "")
        notify(unit, "started")
        with timeline.step("execution", step) as entry:
            try:
                unit.run(clients, inputs)
            except StartFailed:
                entry.status = "failed"
                notify(unit, "failed")
                raise
        notify(unit, "ok")
    task.stamp("pullStoppedAt")
    return inputs
