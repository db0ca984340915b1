"""Task and container status transitions, one table each (ECS task lifecycle documentation:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html)."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    PENDING = "PENDING"
    ACTIVATING = "ACTIVATING"
    RUNNING = "RUNNING"
    DEACTIVATING = "DEACTIVATING"
    STOPPING = "STOPPING"
    DEPROVISIONING = "DEPROVISIONING"
    STOPPED = "STOPPED"


class ContainerStatus(StrEnum):
    # The backend shows every agent state before RUNNING as PENDING (containerstatus.go BackendStatus).
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class AgentContainerStatus(StrEnum):
    """The agent's own container states (containerstatus.go), which its dependency-graph errors print."""

    NONE = "NONE"
    PULLED = "PULLED"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"

    @property
    def backend(self) -> ContainerStatus:
        # BackendStatus: RUNNING -> RUNNING, STOPPED -> STOPPED, everything else PENDING.
        if self is AgentContainerStatus.RUNNING:
            return ContainerStatus.RUNNING
        if self is AgentContainerStatus.STOPPED:
            return ContainerStatus.STOPPED
        return ContainerStatus.PENDING


_TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PROVISIONING: frozenset({TaskStatus.PENDING, TaskStatus.DEPROVISIONING, TaskStatus.STOPPED}),
    TaskStatus.PENDING: frozenset(
        {TaskStatus.ACTIVATING, TaskStatus.RUNNING, TaskStatus.DEPROVISIONING, TaskStatus.STOPPING}
    ),
    TaskStatus.ACTIVATING: frozenset({TaskStatus.RUNNING, TaskStatus.DEACTIVATING, TaskStatus.STOPPING}),
    TaskStatus.RUNNING: frozenset({TaskStatus.DEACTIVATING, TaskStatus.STOPPING}),
    TaskStatus.DEACTIVATING: frozenset({TaskStatus.STOPPING}),
    TaskStatus.STOPPING: frozenset({TaskStatus.DEPROVISIONING}),
    TaskStatus.DEPROVISIONING: frozenset({TaskStatus.STOPPED}),
    TaskStatus.STOPPED: frozenset(),
}

_CONTAINER_TRANSITIONS: dict[ContainerStatus, frozenset[ContainerStatus]] = {
    ContainerStatus.PENDING: frozenset({ContainerStatus.RUNNING, ContainerStatus.STOPPED}),
    ContainerStatus.RUNNING: frozenset({ContainerStatus.STOPPED}),
    ContainerStatus.STOPPED: frozenset(),
}

# Timestamp field of describe-tasks set when the task enters a status.
TASK_TIMESTAMP_ON_ENTER: dict[TaskStatus, str] = {
    TaskStatus.PENDING: "connectivityAt",  # the task's network is attached when it leaves PROVISIONING
    TaskStatus.RUNNING: "startedAt",
    TaskStatus.STOPPING: "stoppingAt",
    TaskStatus.STOPPED: "stoppedAt",
}


class IllegalTransition(RuntimeError):
    """A bug in the simulator: a status change ECS never makes."""


# How a task still on its way up gets to STOPPING once its desired status is STOPPED.
STOP_PATH: dict[TaskStatus, tuple[TaskStatus, ...]] = {
    TaskStatus.PROVISIONING: (),
    TaskStatus.PENDING: (TaskStatus.STOPPING,),
    TaskStatus.ACTIVATING: (TaskStatus.DEACTIVATING, TaskStatus.STOPPING),
    TaskStatus.RUNNING: (TaskStatus.DEACTIVATING, TaskStatus.STOPPING),
    TaskStatus.DEACTIVATING: (TaskStatus.STOPPING,),
    TaskStatus.STOPPING: (),
    TaskStatus.DEPROVISIONING: (),
    TaskStatus.STOPPED: (),
}


def check_task_transition(current: TaskStatus, new: TaskStatus) -> None:
    if new not in _TASK_TRANSITIONS[current]:
        raise IllegalTransition(f"task cannot go from {current} to {new}")


def check_container_transition(current: ContainerStatus, new: ContainerStatus) -> None:
    if new not in _CONTAINER_TRANSITIONS[current]:
        raise IllegalTransition(f"container cannot go from {current} to {new}")
