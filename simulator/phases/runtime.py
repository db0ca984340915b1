"""Phase 2: the task's containers on Docker, with the agent's ordering, health and stop rules.

One waiter thread per started container reports its exit; the coordinator loop starts containers
whose dependsOn conditions hold (``dependency_graph``), watches health, and stops the rest when an
essential container exits (dependents first, each with its stopTimeout: SIGTERM, then SIGKILL).
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
from ..docker.sandboxes import Sandbox
from ..ecs import failures
from ..ecs.failures import (
    REASON_ESSENTIAL_EXITED,
    REASON_FAILED_HEALTH_CHECKS,
    STOP_ESSENTIAL_CONTAINER_EXITED,
    STOP_SERVICE_SCHEDULER,
    LaunchType,
)
from ..ecs.lifecycle import AgentContainerStatus, ContainerStatus, TaskStatus
from ..ecs.task_record import NetworkBinding, TaskRecord, now
from . import dependency_graph
from .container_spec import DEFAULT_STOP_TIMEOUT
from .dependency_graph import Node

_POLL_SECONDS = 0.05
_HEALTH_POLL_SECONDS = 0.25
READY_TIMEOUT = 15.0
_DOCKER_HEALTH = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}  # "starting": UNKNOWN

LogSink = Callable[[str, str], None]  # (container name, line)


@dataclass
class RuntimeContainer:
    """One container of the running task: its definition, Docker spec and what happened to it."""

    definition: Mapping[str, Any]
    spec: ContainerSpec
    docker_id: str | None = None
    agent_status: AgentContainerStatus = AgentContainerStatus.PULLED  # phase 1 pulled every image
    desired: str = "RUNNING"
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    health: str = "UNKNOWN"
    inspected: dict[str, Any] | None = None  # the last `docker inspect`, for the metadata endpoint
    # Whether the started container serves what its dependents need (the FireLens router's socket);
    # dependents start once it says so, or after READY_TIMEOUT.
    ready: Callable[[], bool] | None = None
    log_lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def essential(self) -> bool:
        return bool(self.definition.get("essential", True))

    @property
    def stop_timeout(self) -> int:
        return int(self.spec.stop_timeout or DEFAULT_STOP_TIMEOUT)

    def node(self) -> Node:
        return Node(
            name=self.name,
            image=str(self.definition.get("image", self.spec.image)),
            known=self.agent_status,
            desired=self.desired,
            exit_code=self.exit_code,
            health=self.health,
            has_health_check=self.spec.health_check is not None,
            started_at=self.started_at,
            start_timeout=self.definition.get("startTimeout"),
            depends_on=tuple(self.definition.get("dependsOn") or ()),
            volumes_from=tuple(v["sourceContainer"] for v in self.definition.get("volumesFrom") or ()),
            links=tuple(link.split(":")[0] for link in self.definition.get("links") or ()),
        )


class TaskRuntime:
    def __init__(
        self,
        task: TaskRecord,
        containers: Sequence[RuntimeContainer],
        driver: ContainerDriver,
        *,
        launch_type: LaunchType = LaunchType.FARGATE,
        log_sink: LogSink | None = None,
        replace_unhealthy: bool = False,
        sandbox: Sandbox | None = None,
    ) -> None:
        """``replace_unhealthy``: the task belongs to a service, whose scheduler stops a task with an
        unhealthy essential container; a task started by RunTask keeps running whatever its health.
        ``sandbox``: the awsvpc namespace the containers join (started first, released last)."""
        self.task = task
        self._sandbox = sandbox
        self.containers = {c.name: c for c in containers}
        self._driver = driver
        self._launch = launch_type
        self._log_sink = log_sink
        self._replace_unhealthy = replace_unhealthy
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stop_requested = threading.Event()

    # --- public -------------------------------------------------------------------------------
    def run(self) -> None:
        """Start, supervise and stop every container; returns when all are STOPPED and removed."""
        try:
            if self._start_sandbox():
                self._supervise()
        finally:
            self._stop_all()
            for thread in self._threads:
                thread.join(timeout=5)
            self._remove_all()

    def _start_sandbox(self) -> bool:
        if self._sandbox is None:
            return True
        try:
            self._sandbox.start()
        except (DockerCreateError, DockerStartError) as err:
            reason = (
                failures.container_create_failed(str(err))
                if isinstance(err, DockerCreateError)
                else failures.container_start_failed(self._launch, str(err))
            )
            for container in self.containers.values():
                self._stopped(container, None, reason)
            return False
        return True

    def network_inspected(self, name: str) -> dict[str, Any] | None:
        """The `docker inspect` that holds a container's network: the sandbox's, or its own."""
        if self._sandbox is None or self._sandbox.docker_id is None:
            return self.inspected(name)
        return self._sandbox.inspected()

    def request_stop(self, stop_code: str, reason: str) -> None:
        self.task.request_stop(stop_code, reason)
        self.task.move_to_stopping()
        for container in self.containers.values():
            container.desired = "STOPPED"
        self._stop_requested.set()
        with self._wake:
            self._wake.notify_all()

    def inspected(self, name: str) -> dict[str, Any] | None:
        """``docker inspect`` of a created container, read once per change (start, health, exit)."""
        container = self.containers[name]
        if container.docker_id and container.inspected is None:
            with contextlib.suppress(Exception):
                container.inspected = self._driver.inspect(container.docker_id)
        return container.inspected

    def status_of(self, name: str) -> ContainerStatus:
        return self.task.container(name).last_status

    # --- supervision --------------------------------------------------------------------------
    def _supervise(self) -> None:
        next_health_poll = 0.0
        while not self._stop_requested.is_set():
            self._start_ready_containers()
            if all(c.agent_status == AgentContainerStatus.STOPPED for c in self.containers.values()):
                return
            if time.monotonic() >= next_health_poll:
                self._poll_health()
                next_health_poll = time.monotonic() + _HEALTH_POLL_SECONDS
            with self._wake:
                self._wake.wait(_POLL_SECONDS)

    def _start_ready_containers(self) -> None:
        nodes = {name: c.node() for name, c in self.containers.items()}
        for container in self.containers.values():
            if container.agent_status != AgentContainerStatus.PULLED:
                continue
            verdict = dependency_graph.verdict(nodes[container.name], nodes, now())
            if verdict == dependency_graph.WAIT:
                continue
            if verdict != dependency_graph.READY:
                self._stopped(container, failures.DEPENDENCY_EXIT_CODE, failures.dependency_failed(verdict))
            else:
                self._start(container)
            nodes[container.name] = container.node()
            if self._stop_requested.is_set():
                return

    def _start(self, container: RuntimeContainer) -> None:
        try:
            container.docker_id = self._driver.create(container.spec)
        except DockerCreateError as err:
            self._stopped(container, None, failures.container_create_failed(str(err)))
            return
        container.agent_status = AgentContainerStatus.CREATED
        container.created_at = now()
        self.task.container(container.name).docker_id = container.docker_id
        try:
            self._driver.start(container.docker_id)
        except DockerStartError as err:
            self._stopped(container, None, failures.container_start_failed(self._launch, str(err)))
            return
        container.started_at = now()
        # Docker replays a container's output from its start, so following after start loses nothing.
        self._spawn(self._follow_logs, container)
        if container.ready is not None:
            self._await_ready(container)
        if container.spec.ports:  # RUNNING comes with its network bindings
            self._record_network_bindings(container)
        container.agent_status = AgentContainerStatus.RUNNING
        self.task.set_container_status(container.name, ContainerStatus.RUNNING)
        self._update_task_status()
        self._spawn(self._wait_for_exit, container)

    def _await_ready(self, container: RuntimeContainer) -> None:
        assert container.ready is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while not container.ready() and time.monotonic() < deadline and not self._stop_requested.is_set():
            time.sleep(0.01)

    def _record_network_bindings(self, container: RuntimeContainer) -> None:
        inspected = self.network_inspected(container.name) or {}
        ports = (inspected.get("NetworkSettings") or {}).get("Ports") or {}
        bindings = [
            NetworkBinding(
                b["HostIp"], int(key.split("/")[0]), int(b["HostPort"]), key.partition("/")[2] or "tcp"
            )
            for key, values in ports.items()
            if key in container.spec.ports
            for b in values or []
        ]
        self.task.container(container.name).network_bindings = bindings

    def _update_task_status(self) -> None:
        """The task is RUNNING once no container is still on its way up (the earliest container status)."""
        statuses = [c.agent_status for c in self.containers.values()]
        if self.task.last_status != TaskStatus.PENDING or self.task.desired_status == "STOPPED":
            return
        if AgentContainerStatus.RUNNING in statuses and all(
            s in (AgentContainerStatus.RUNNING, AgentContainerStatus.STOPPED) for s in statuses
        ):
            self.task.set_status(TaskStatus.ACTIVATING)
            self.task.set_status(TaskStatus.RUNNING)

    def _stopped(self, container: RuntimeContainer, exit_code: int | None, reason: str | None) -> None:
        """The container is STOPPED (exited, or never could start): record it, stop the task if essential."""
        container.exit_code = exit_code
        container.agent_status = AgentContainerStatus.STOPPED
        container.desired = "STOPPED"
        container.finished_at = now()
        self.task.set_container_status(
            container.name, ContainerStatus.STOPPED, exit_code=exit_code, reason=reason
        )
        if container.essential:
            self.request_stop(STOP_ESSENTIAL_CONTAINER_EXITED, REASON_ESSENTIAL_EXITED)
        else:
            self._update_task_status()
        with self._wake:
            self._wake.notify_all()

    def _wait_for_exit(self, container: RuntimeContainer) -> None:
        assert container.docker_id
        try:
            exit_code = self._driver.wait(container.docker_id)
            container.inspected = self._driver.inspect(container.docker_id)
        except Exception:  # the container vanished (removed under us): report it as killed
            exit_code = 137
        state = (container.inspected or {}).get("State", {})
        self._stopped(container, exit_code, failures.OOM_REASON if state.get("OOMKilled") else None)

    def _follow_logs(self, container: RuntimeContainer) -> None:
        assert container.docker_id
        buffer, received = b"", 0
        with contextlib.suppress(Exception):  # the stream ends when the container is removed
            for chunk in self._driver.logs(container.docker_id):
                received += len(chunk)
                buffer = self._emit_lines(container, buffer + chunk)
        # Docker 20.10 may end the stream at a quick container's exit before the output it had (about
        # 1 in 10 under load); once the container has exited, a plain read has all of it.
        with contextlib.suppress(Exception):
            self._driver.wait(container.docker_id)
            missed = self._driver.logs_so_far(container.docker_id)[received:]
            buffer = self._emit_lines(container, buffer + missed)
        if buffer:
            self._emit(container, buffer)

    def _emit_lines(self, container: RuntimeContainer, data: bytes) -> bytes:
        """Emit each whole line of ``data``; returns the unfinished rest."""
        *lines, rest = data.split(b"\n")
        for raw in lines:
            self._emit(container, raw)
        return rest

    def _emit(self, container: RuntimeContainer, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        container.log_lines.append(line)
        if self._log_sink:
            self._log_sink(container.name, line)

    # --- health -------------------------------------------------------------------------------
    def _poll_health(self) -> None:
        changed = False
        for container in self.containers.values():
            if container.spec.health_check is None or container.agent_status != AgentContainerStatus.RUNNING:
                continue
            assert container.docker_id
            with contextlib.suppress(Exception):
                inspected = self._driver.inspect(container.docker_id)
                container.inspected = inspected
                docker_health = ((inspected.get("State") or {}).get("Health") or {}).get("Status", "")
                health = _DOCKER_HEALTH.get(docker_health, "UNKNOWN")
                if health != container.health:
                    container.health = health
                    self.task.set_health(container.name, health)
                    changed = True
        if changed:
            self.task.set_health(None, task_health(list(self.containers.values())))
            if self._replace_unhealthy and self.task.health_status == "UNHEALTHY":
                self.request_stop(STOP_SERVICE_SCHEDULER, REASON_FAILED_HEALTH_CHECKS)

    # --- shutdown -----------------------------------------------------------------------------
    def _stop_all(self) -> None:
        """Dependents stop before what they depend on; containers that never started are STOPPED as is."""
        for container in self.containers.values():
            container.desired = "STOPPED"
            if container.docker_id is None and container.agent_status != AgentContainerStatus.STOPPED:
                container.agent_status = AgentContainerStatus.STOPPED
                self.task.set_container_status(container.name, ContainerStatus.STOPPED)
        running = [n for n, c in self.containers.items() if c.agent_status != AgentContainerStatus.STOPPED]
        nodes = {name: c.node() for name, c in self.containers.items()}
        for stage in dependency_graph.shutdown_stages(running, nodes):
            threads = [self._spawn(self._stop_one, self.containers[n]) for n in stage]
            for thread in threads:
                thread.join()

    def _stop_one(self, container: RuntimeContainer) -> None:
        assert container.docker_id
        with contextlib.suppress(Exception):
            self._driver.stop(container.docker_id, container.stop_timeout)
        deadline = time.monotonic() + 5
        while container.agent_status != AgentContainerStatus.STOPPED and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)

    def _remove_all(self) -> None:
        removed = True
        for container in self.containers.values():
            if container.docker_id:
                try:
                    self._driver.remove(container.docker_id)
                except Exception:
                    removed = False
        if self._sandbox is not None:  # last: it holds the others' network
            specs = [c.spec for c in self.containers.values()]
            self._sandbox.release(specs, members_removed=removed)

    def _spawn(
        self, target: Callable[[RuntimeContainer], None], container: RuntimeContainer
    ) -> threading.Thread:
        thread = threading.Thread(
            target=target, args=(container,), daemon=True, name=f"{target.__name__}-{container.name}"
        )
        thread.start()
        self._threads.append(thread)
        return thread


def task_health(containers: Sequence[RuntimeContainer]) -> str:
    """The task's healthStatus (HealthCheck API reference): from the essential containers' health checks,
    or from the other containers' when no essential container has one; UNHEALTHY > UNKNOWN > HEALTHY."""
    checked = [c for c in containers if c.spec.health_check is not None]
    considered = [c for c in checked if c.essential] or checked
    if not considered:
        return "UNKNOWN"
    statuses = {c.health for c in considered}
    if "UNHEALTHY" in statuses:
        return "UNHEALTHY"
    return "UNKNOWN" if "UNKNOWN" in statuses else "HEALTHY"
