"""The task as `aws ecs describe-tasks` shows it, kept up to date while the simulator runs it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .failures import truncate
from .lifecycle import (
    STOP_PATH,
    TASK_TIMESTAMP_ON_ENTER,
    ContainerStatus,
    TaskStatus,
    check_container_transition,
    check_task_transition,
)


def now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


@dataclass(frozen=True)
class NetworkBinding:
    """A published port (describe-tasks ``networkBindings``)."""

    bind_ip: str
    container_port: int
    host_port: int
    protocol: str = "tcp"

    def to_json(self) -> dict[str, Any]:
        return {
            "bindIP": self.bind_ip,
            "containerPort": self.container_port,
            "hostPort": self.host_port,
            "protocol": self.protocol,
        }


# (what changed, payload): ("status", TaskStatus) or ("container", ContainerRecord)
TaskListener = Callable[[str, Any], None]


@dataclass
class ContainerRecord:
    name: str
    image: str
    essential: bool
    last_status: ContainerStatus = ContainerStatus.PENDING
    exit_code: int | None = None
    reason: str | None = None
    health_status: str = "UNKNOWN"
    docker_id: str | None = None
    image_digest: str | None = None
    container_arn: str = ""
    cpu: int | None = None
    memory: int | None = None
    memory_reservation: int | None = None
    network_bindings: list[NetworkBinding] = field(default_factory=list)

    def to_json(self, task_arn: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "containerArn": self.container_arn,
            "taskArn": task_arn,
            "name": self.name,
            "image": self.image,
            "lastStatus": self.last_status.value,
            "healthStatus": self.health_status,
        }
        if self.image_digest:
            doc["imageDigest"] = self.image_digest
        if self.docker_id:
            doc["runtimeId"] = self.docker_id
        if self.exit_code is not None:
            doc["exitCode"] = self.exit_code
        if self.reason:
            doc["reason"] = self.reason
        if self.network_bindings:
            doc["networkBindings"] = [b.to_json() for b in self.network_bindings]
        # The backend reports these as strings; "0" when the definition leaves cpu out.
        doc["cpu"] = str(self.cpu or 0)
        if self.memory:
            doc["memory"] = str(self.memory)
        if self.memory_reservation:
            doc["memoryReservation"] = str(self.memory_reservation)
        return doc


@dataclass
class TaskRecord:
    """Status changes go through ``set_status``/``set_container_status`` so that only ECS's transitions
    happen and every timestamp is stamped once."""

    cluster_arn: str
    task_definition_arn: str
    family: str
    revision: int
    launch_type: str
    region: str
    account: str
    task_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    last_status: TaskStatus = TaskStatus.PROVISIONING
    desired_status: str = "RUNNING"
    stop_code: str | None = None
    stopped_reason: str | None = None
    containers: list[ContainerRecord] = field(default_factory=list)
    cpu: str | None = None
    memory: str | None = None
    health_status: str = "UNKNOWN"
    timestamps: dict[str, datetime] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    service: str | None = None  # the service whose scheduler started the task; None: RunTask
    started_by: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _listeners: list[TaskListener] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.timestamps.setdefault("createdAt", now())

    @property
    def group(self) -> str:
        return f"service:{self.service}" if self.service else f"family:{self.family}"

    def subscribe(self, listener: TaskListener) -> None:
        """Call ``listener`` after every status change of the task or of one of its containers."""
        self._listeners.append(listener)

    def _emit(self, kind: str, payload: Any) -> None:
        for listener in list(self._listeners):
            listener(kind, payload)

    @property
    def task_arn(self) -> str:
        cluster = self.cluster_arn.rsplit("/", 1)[-1]
        return f"arn:aws:ecs:{self.region}:{self.account}:task/{cluster}/{self.task_id}"

    def container(self, name: str) -> ContainerRecord:
        return next(c for c in self.containers if c.name == name)

    def stamp(self, name: str) -> None:
        with self._lock:
            self.timestamps.setdefault(name, now())

    def set_status(self, status: TaskStatus) -> None:
        with self._lock:
            if status == self.last_status:
                return
            check_task_transition(self.last_status, status)
            self.last_status = status
            if field_name := TASK_TIMESTAMP_ON_ENTER.get(status):
                self.timestamps.setdefault(field_name, now())
        self._emit("status", status)

    def move_to_stopping(self) -> None:
        """The task's desired status is STOPPED: go through ECS's statuses up to STOPPING."""
        with self._lock:
            path = STOP_PATH[self.last_status]
            for status in path:
                self.set_status(status)

    def finish(self) -> None:
        """Every container is stopped: executionStoppedAt, then DEPROVISIONING and STOPPED."""
        with self._lock:
            if self.last_status == TaskStatus.STOPPED:
                return
            self.move_to_stopping()
            self.stamp("executionStoppedAt")
            if self.last_status != TaskStatus.DEPROVISIONING:
                self.set_status(TaskStatus.DEPROVISIONING)
            self.set_status(TaskStatus.STOPPED)

    def request_stop(self, stop_code: str, reason: str) -> bool:
        """First stop request wins, as on ECS; returns whether this one did."""
        with self._lock:
            if self.desired_status == "STOPPED":
                return False
            self.desired_status = "STOPPED"
            self.stop_code = stop_code
            self.stopped_reason = truncate(reason)
            return True

    def set_container_status(
        self, name: str, status: ContainerStatus, *, exit_code: int | None = None, reason: str | None = None
    ) -> None:
        with self._lock:
            record = self.container(name)
            changed = status != record.last_status
            if changed:
                check_container_transition(record.last_status, status)
                record.last_status = status
            if exit_code is not None:
                record.exit_code = exit_code
            if reason and not record.reason:  # the first error wins (task_manager.go ApplyingError)
                record.reason = truncate(reason)
        if changed:
            self._emit("container", record)

    def set_health(self, name: str | None, status: str) -> None:
        """Health of one container (``name``) or of the task (None)."""
        with self._lock:
            target: ContainerRecord | TaskRecord = self if name is None else self.container(name)
            changed = target.health_status != status
            target.health_status = status
        if changed:
            self._emit("health", target)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            doc: dict[str, Any] = {
                "taskArn": self.task_arn,
                "clusterArn": self.cluster_arn,
                "taskDefinitionArn": self.task_definition_arn,
                "group": self.group,
                "launchType": self.launch_type,
                "lastStatus": self.last_status.value,
                "desiredStatus": self.desired_status,
                "healthStatus": self.health_status,
                "containers": [c.to_json(self.task_arn) for c in self.containers],
                "overrides": {
                    "containerOverrides": [],
                    "inferenceAcceleratorOverrides": [],
                    **self.overrides,
                },
                "availabilityZone": f"{self.region}a",
                "version": _VERSION_OF[self.last_status],
                "tags": list(self.tags),
            }
            if self.started_by:
                doc["startedBy"] = self.started_by
            if self.launch_type == "FARGATE":
                doc["platformVersion"] = "1.4.0"
                doc["platformFamily"] = "Linux"
                doc["ephemeralStorage"] = {"sizeInGiB": 20}
            if "connectivityAt" in self.timestamps:  # the task's network attachment, made in PROVISIONING
                doc["connectivity"] = "CONNECTED"
            if self.cpu:
                doc["cpu"] = self.cpu
            if self.memory:
                doc["memory"] = self.memory
            if self.stop_code:
                doc["stopCode"] = self.stop_code
            if self.stopped_reason:
                doc["stoppedReason"] = self.stopped_reason
            for name, ts in sorted(self.timestamps.items()):
                doc[name] = iso(ts)
            return doc


# describe-tasks ``version`` grows by one with each status the task reports.
_VERSION_OF = {status: number for number, status in enumerate(TaskStatus, start=1)}
