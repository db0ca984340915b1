"""Phase 2: the task's containers on Docker, with the agent's ordering, health and stop rules.

One waiter thread per started container reports its exit; the coordinator loop starts containers
whose dependsOn conditions hold, watches health, and stops the rest when an essential container exits
(dependents first, each with its stopTimeout, as the agent's dependency graph does).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..docker.containers import ContainerDriver, ContainerSpec, DockerCreateError, DockerStartError
from ..ecs.failures import REASON_ESSENTIAL_EXITED, STOP_ESSENTIAL_CONTAINER_EXITED, STOP_USER_INITIATED
from ..ecs.lifecycle import ContainerStatus, TaskStatus
from ..ecs.task_record import TaskRecord, now

DEFAULT_STOP_TIMEOUT = 30  # ECS_CONTAINER_STOP_TIMEOUT default
MAX_STOP_TIMEOUT = 120  # the most ECS accepts for stopTimeout
_POLL_SECONDS = 0.05
_HEALTH_POLL_SECONDS = 0.5
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"

LogSink = Callable[[str, str], None]  # (container name, line)


@dataclass
class RuntimeContainer:
    """One container of the running task: its definition, Docker spec and what happened to it."""

    definition: Mapping[str, Any]
    spec: ContainerSpec
    docker_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    health: str = "UNKNOWN"
    log_lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def essential(self) -> bool:
        return bool(self.definition.get("essential", True))

    @property
    def depends_on(self) -> list[Mapping[str, str]]:
        return list(self.definition.get("dependsOn") or [])

    @property
    def stop_timeout(self) -> int:
        value = int(self.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)
        return max(1, min(value, MAX_STOP_TIMEOUT))


def _describe(container: RuntimeContainer, status: ContainerStatus) -> str:
    # graph.go prints a container as name(image) (KNOWN->DESIRED) - Exit: N
    exit_code = "" if container.exit_code is None else f" - Exit: {container.exit_code}"
    return f"{container.name}({container.spec.image}) ({status.value}->RUNNING){exit_code}"


class TaskRuntime:
    def __init__(
        self,
        task: TaskRecord,
        containers: Sequence[RuntimeContainer],
        driver: ContainerDriver,
        *,
        log_sink: LogSink | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.task = task
        self.containers = {c.name: c for c in containers}
        self._driver = driver
        self._log_sink = log_sink
        self._on_change = on_change or (lambda: None)
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stop_requested = threading.Event()

    # --- public -------------------------------------------------------------------------------
    def run(self) -> None:
        """Start, supervise and stop every container; returns when all are STOPPED and removed."""
        try:
            self._supervise()
        except KeyboardInterrupt:
            # Ctrl-C / SIGTERM: a user-initiated stop, with the same grace as any other stop.
            self.request_stop(STOP_USER_INITIATED, "Task stopped by user")
            raise
        finally:
            self._stop_all()
            for thread in self._threads:
                thread.join(timeout=5)
            self._remove_all()

    def request_stop(self, stop_code: str, reason: str) -> None:
        if self.task.request_stop(stop_code, reason):
            self.task.stamp("stoppingAt")
        self._stop_requested.set()
        with self._wake:
            self._wake.notify_all()

    def status_of(self, name: str) -> ContainerStatus:
        return self.task.container(name).last_status

    # --- supervision --------------------------------------------------------------------------
    def _supervise(self) -> None:
        next_health_poll = 0.0
        while not self._stop_requested.is_set():
            self._start_ready_containers()
            if all(self.status_of(n) == ContainerStatus.STOPPED for n in self.containers):
                return
            if time.monotonic() >= next_health_poll:
                self._poll_health()
                next_health_poll = time.monotonic() + _HEALTH_POLL_SECONDS
            with self._wake:
                self._wake.wait(_POLL_SECONDS)

    def _start_ready_containers(self) -> None:
        for container in self.containers.values():
            if self.status_of(container.name) != ContainerStatus.PENDING or container.docker_id:
                continue
            verdict = self._dependencies_verdict(container)
            if verdict == "wait":
                continue
            if verdict != "ok":
                self._fail_container(container, 143, f"CannotStartContainerError: {verdict}")
                continue
            self._start(container)
            if self._stop_requested.is_set():
                return

    def _dependencies_verdict(self, container: RuntimeContainer) -> str:
        """ "ok", "wait", or the agent's terminal dependency-graph error text."""
        for dependency in container.depends_on:
            target = self.containers.get(dependency.get("containerName", ""))
            condition = dependency.get("condition", "START")
            if target is None:
                return (
                    f"dependency graph: container ordering dependency [{dependency.get('containerName')}] "
                    f"for target [{container.name}] does not exist."
                )
            status = self.status_of(target.name)
            pair = f"[{_describe(target, status)}] for target [{_describe(container, self.status_of(container.name))}]"
            if condition == "START":
                if status == ContainerStatus.PENDING:
                    if target.docker_id is None and target.exit_code is not None:
                        return f"dependency graph: failed to resolve container ordering dependency {pair} because dependency will never start"
                    return "wait"
            elif condition in ("COMPLETE", "SUCCESS"):
                if status != ContainerStatus.STOPPED:
                    if self._timed_out(target, container):
                        return f"dependency graph: container ordering dependency {pair} has timed out."
                    return "wait"
                if condition == "SUCCESS" and target.exit_code != 0:
                    return (
                        f"dependency graph: failed to resolve container ordering dependency {pair} as "
                        "dependency did not exit successfully."
                    )
            elif condition == "HEALTHY":
                if target.health == "HEALTHY":
                    continue
                if (
                    status == ContainerStatus.STOPPED
                    or target.health == "UNHEALTHY"
                    or target.spec.health_check is None
                ):
                    return f"dependency graph: failed to resolve container ordering dependency {pair} because dependency will never start"
                if self._timed_out(target, container):
                    return f"dependency graph: container ordering dependency {pair} has timed out."
                return "wait"
        return "ok"

    def _timed_out(self, dependency: RuntimeContainer, container: RuntimeContainer) -> bool:
        timeout = container.definition.get("startTimeout")
        if not timeout or dependency.started_at is None:
            return False
        return (now() - dependency.started_at).total_seconds() > float(timeout)

    def _start(self, container: RuntimeContainer) -> None:
        try:
            container.docker_id = self._driver.create(container.spec)
        except DockerCreateError as err:
            self._fail_container(container, None, f"CannotCreateContainerError: {err}")
            return
        self.task.container(container.name).docker_id = container.docker_id
        try:
            self._driver.start(container.docker_id)
        except DockerStartError as err:
            self._fail_container(container, None, f"CannotStartContainerError: {err}")
            return
        # Docker replays a container's output from its start, so following after start loses nothing.
        self._spawn(self._follow_logs, container)
        container.started_at = now()
        self.task.set_container_status(container.name, ContainerStatus.RUNNING)
        if self.task.last_status != TaskStatus.RUNNING and all(
            self.status_of(n) != ContainerStatus.PENDING or not c.essential
            for n, c in self.containers.items()
        ):
            self.task.set_status(TaskStatus.RUNNING)
        self._spawn(self._wait_for_exit, container)
        self._on_change()

    def _fail_container(self, container: RuntimeContainer, exit_code: int | None, reason: str) -> None:
        container.exit_code = exit_code
        self.task.set_container_status(
            container.name, ContainerStatus.STOPPED, exit_code=exit_code, reason=reason
        )
        self._on_change()
        if container.essential:
            self.request_stop(STOP_ESSENTIAL_CONTAINER_EXITED, REASON_ESSENTIAL_EXITED)

    def _wait_for_exit(self, container: RuntimeContainer) -> None:
        assert container.docker_id
        try:
            exit_code = self._driver.wait(container.docker_id)
            state = self._driver.inspect(container.docker_id).get("State", {})
        except Exception:  # the container vanished (removed under us): report it as killed
            exit_code, state = 137, {}
        container.exit_code = exit_code
        container.finished_at = now()
        reason = OOM_REASON if state.get("OOMKilled") else None
        self.task.set_container_status(
            container.name, ContainerStatus.STOPPED, exit_code=exit_code, reason=reason
        )
        self._on_change()
        if container.essential:
            self.request_stop(STOP_ESSENTIAL_CONTAINER_EXITED, REASON_ESSENTIAL_EXITED)
        with self._wake:
            self._wake.notify_all()

    def _follow_logs(self, container: RuntimeContainer) -> None:
        assert container.docker_id
        buffer = b""
        with contextlib.suppress(Exception):  # the stream ends when the container is removed
            for chunk in self._driver.logs(container.docker_id):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    self._emit(container, raw)
        if buffer:
            self._emit(container, buffer)

    def _emit(self, container: RuntimeContainer, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        container.log_lines.append(line)
        if self._log_sink:
            self._log_sink(container.name, line)

    def _poll_health(self) -> None:
        changed = False
        for container in self.containers.values():
            if container.spec.health_check is None or container.docker_id is None:
                continue
            if self.status_of(container.name) != ContainerStatus.RUNNING:
                continue
            with contextlib.suppress(Exception):
                docker_health = self._driver.health(container.docker_id)
                health = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}.get(docker_health or "", "UNKNOWN")
                if health != container.health:
                    container.health = health
                    self.task.container(container.name).health_status = health
                    changed = True
                    if health == "UNHEALTHY" and container.essential:
                        # ECS replaces a task whose essential container is unhealthy.
                        self.request_stop(
                            STOP_ESSENTIAL_CONTAINER_EXITED,
                            f"Task failed container health checks: container {container.name} is unhealthy",
                        )
        if changed:
            self._update_task_health()
            self._on_change()

    def _update_task_health(self) -> None:
        essential = [c for c in self.containers.values() if c.essential and c.spec.health_check is not None]
        if any(c.health == "UNHEALTHY" for c in essential):
            self.task.health_status = "UNHEALTHY"
        elif essential and all(c.health == "HEALTHY" for c in essential):
            self.task.health_status = "HEALTHY"
        else:
            self.task.health_status = "UNKNOWN"

    # --- shutdown -----------------------------------------------------------------------------
    def _stop_all(self) -> None:
        """Dependents stop before what they depend on; containers that never started are STOPPED as is."""
        for container in self.containers.values():
            if container.docker_id is None and self.status_of(container.name) == ContainerStatus.PENDING:
                self.task.set_container_status(container.name, ContainerStatus.STOPPED)
        remaining = {
            n
            for n, c in self.containers.items()
            if c.docker_id and self.status_of(n) != ContainerStatus.STOPPED
        }
        while remaining:
            needed = {d.get("containerName") for n in remaining for d in self.containers[n].depends_on}
            stage = [n for n in remaining if n not in needed] or list(remaining)
            threads = [self._spawn(self._stop_one, self.containers[n]) for n in stage]
            for thread in threads:
                thread.join()
            remaining -= set(stage)

    def _stop_one(self, container: RuntimeContainer) -> None:
        assert container.docker_id
        with contextlib.suppress(Exception):
            self._driver.stop(container.docker_id, container.stop_timeout)
        deadline = time.monotonic() + 5
        while self.status_of(container.name) != ContainerStatus.STOPPED and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)

    def _remove_all(self) -> None:
        for container in self.containers.values():
            if container.docker_id:
                with contextlib.suppress(Exception):
                    self._driver.remove(container.docker_id)

    def _spawn(
        self, target: Callable[[RuntimeContainer], None], container: RuntimeContainer
    ) -> threading.Thread:
        thread = threading.Thread(
            target=target, args=(container,), daemon=True, name=f"{target.__name__}-{container.name}"
        )
        thread.start()
        self._threads.append(thread)
        return thread
