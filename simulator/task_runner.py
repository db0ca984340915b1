"""One task from RunTask to STOPPED: roles, phase 1 with the execution role, phase 2 with the task role."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import boto3

from .aws_session import static_session
from .diagnosis import PHASE_EXECUTION, PHASE_RUNTIME, WHY_TASK_PROTECTION
from .docker.labels import owner_labels
from .docker.task_cgroup import Limits
from .ecs.failures import (
    REASON_ESSENTIAL_EXITED,
    REASON_USER_STOPPED,
    STOP_ESSENTIAL_CONTAINER_EXITED,
    STOP_TASK_FAILED_TO_START,
    STOP_USER_INITIATED,
)
from .ecs.lifecycle import ContainerStatus, TaskStatus
from .ecs.task_protection import TaskProtection
from .ecs.task_record import ContainerRecord, TaskRecord
from .ecs.trust import ecs_can_assume, unable_to_assume_message
from .endpoints.agent_api import AgentTask
from .endpoints.credentials import TaskCredentials
from .endpoints.metadata import ContainerView
from .phases import container_spec, firelens, task_metadata
from .phases.log_shipping import LogShipper
from .phases.runtime import RuntimeContainer, TaskRuntime
from .phases.task_start.driver import run_task_start
from .phases.task_start.plan import missing_execution_role, plan_task_start
from .phases.task_start.units import ContainerInputs, ExecutionClients, StartContext, StartFailed, StartUnit
from .result import TaskResult
from .sessions import Session
from .taskdef import TaskDefinition
from .taskdef.rules import task_cpu_units, task_memory_mib
from .timeline import Timeline
from .used_permissions import used_permissions

if TYPE_CHECKING:
    from .api import Simulator


_PHASE_ONE_STOP_WAIT = 2.0  # seconds
_WAIT_SLICE = 0.2  # seconds


class RunTaskRefused(Exception):
    """RunTask itself fails (ClientException): no task is started."""


def role_arn_for(ref: str | None, account: str) -> str | None:
    if not ref:
        return None
    return ref if ref.startswith("arn:") else f"arn:aws:iam::{account}:role/{ref}"


class TaskRun:
    """A started task. ``wait()`` returns its TaskResult; ``stop()`` stops it as `aws ecs stop-task` does."""

    def __init__(
        self,
        sim: Simulator,
        definition: TaskDefinition,
        *,
        log_sink: Callable[[str, str], None] | None = None,
        on_event: Callable[[str, Any], None] | None = None,
        service: str | None = None,
    ) -> None:
        """``service``: run the task as that service's scheduler would start it (``None``: RunTask)."""
        self._sim = sim
        self.definition = definition
        self._log_sink = log_sink
        self._notify = on_event or (lambda kind, payload: None)
        world = sim.world
        raw = definition.raw
        self.containers: list[dict[str, Any]] = list(raw["containerDefinitions"])
        self.task = TaskRecord(
            cluster_arn=f"arn:aws:ecs:{world.region}:{world.account}:cluster/{sim.cluster}",
            task_definition_arn=f"arn:aws:ecs:{world.region}:{world.account}:task-definition/{raw['family']}:1",
            family=raw["family"],
            revision=1,
            launch_type=sim.launch_type.value,
            region=world.region,
            account=world.account,
            cpu=raw.get("cpu"),
            memory=raw.get("memory"),
            service=service,
            started_by=f"ecs-svc/{secrets.randbelow(10**19):019d}" if service else None,
            containers=[
                ContainerRecord(
                    name=c["name"],
                    image=c["image"],
                    essential=c.get("essential", True),
                    cpu=c.get("cpu"),
                    memory=c.get("memory"),
                    memory_reservation=c.get("memoryReservation"),
                )
                for c in self.containers
            ],
        )
        self.task.subscribe(self._on_task_change)
        router = firelens.router_of(self.containers)
        self.containers = [firelens.pullable_router(c) if c["name"] == router else c for c in self.containers]
        for record in self.task.containers:
            record.container_arn = (
                f"arn:aws:ecs:{world.region}:{world.account}:container/{sim.cluster}/{self.task.task_id}/"
                f"{secrets.token_hex(16)}"
            )
        self.timeline = Timeline()
        self.result = TaskResult(self.task, self.timeline)
        self.execution_role_arn = role_arn_for(raw.get("executionRoleArn"), world.account)
        self.task_role_arn = role_arn_for(raw.get("taskRoleArn"), world.account)
        self._execution_session: Session | None = None
        self._task_session: Session | None = None
        self._runtime: TaskRuntime | None = None
        self._firelens: firelens.FireLens | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"task-{self.task.task_id}")
        self._done = threading.Event()
        self._error: BaseException | None = None

    @property
    def task_id(self) -> str:
        return self.task.task_id

    # --- control ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float | None = None) -> TaskResult:
        """Wait for STOPPED. Ctrl-C while waiting stops the task (UserInitiated) and waits for the cleanup."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            # In slices: a signal that lands on another thread reaches the main thread only when it wakes.
            finished = self._done.wait(_WAIT_SLICE)
            while not finished and (deadline is None or time.monotonic() < deadline):
                remaining = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - time.monotonic())
                finished = self._done.wait(max(remaining, 0))
        except KeyboardInterrupt:
            self.stop()
            self.wait_stopped()
            self.result.interrupted = True
            raise
        if not finished:
            raise TimeoutError(f"task {self.task_id} still {self.task.last_status} after {timeout} s")
        if self._error is not None:
            raise self._error
        return self.result

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """After ``stop()``: wait for the containers to stop and go. A task still in task start is not
        waited for beyond a moment: it owns no container yet, and a hung image pull would hold the wait
        until Docker gives up; once the pull returns, the task sees the stop and starts nothing."""
        if self._runtime is None:
            timeout = _PHASE_ONE_STOP_WAIT if timeout is None else min(timeout, _PHASE_ONE_STOP_WAIT)
        return self._done.wait(timeout)

    def stop(self, reason: str = REASON_USER_STOPPED) -> None:
        """StopTask: SIGTERM to every container, SIGKILL after its stopTimeout (stopCode UserInitiated)."""
        if self._runtime is not None:
            self._runtime.request_stop(STOP_USER_INITIATED, reason)
        else:
            self.task.request_stop(STOP_USER_INITIATED, reason)

    def _on_task_change(self, kind: str, payload: Any) -> None:
        if kind == "status":
            self._notify("status", payload)
        else:
            self._notify("containers", self.task)

    # --- the task -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._run_phases()
        except BaseException as err:  # surfaced by wait(); the task is cleaned up below either way
            self._error = err
        finally:
            self._finish()
            self._done.set()

    def _run_phases(self) -> None:
        try:
            with self.timeline.step(PHASE_EXECUTION, "RunTask: roles"):
                self._check_trust()
        except RunTaskRefused as refused:
            self.result.run_task_error = {"code": "ClientException", "message": str(refused)}
            self._fail_to_start(f"ClientException: {refused}", None, None)
            return
        self.task.set_status(TaskStatus.PENDING)
        try:
            inputs = self._phase_one()
        except StartFailed as failed:
            f = failed.failure
            self._fail_to_start(f.stopped_reason, f.container_name, f.container_reason)
            return
        if self.task.desired_status == "STOPPED":  # stopped by the user during task start
            self._stop_unstarted()
            return
        self._phase_two(inputs)

    def _check_trust(self) -> None:
        for role_arn in filter(None, (self.execution_role_arn, self.task_role_arn)):
            assert self._sim.policies is not None
            if not ecs_can_assume(
                self._sim.policies, role_arn, self._sim.world.account, self.task.cluster_arn
            ):
                raise RunTaskRefused(unable_to_assume_message(role_arn))

    # --- phase 1 ------------------------------------------------------------------------------
    def _phase_one(self) -> dict[str, ContainerInputs]:
        sim = self._sim
        assert sim.driver is not None and sim.gateway is not None and sim.seeded is not None
        ctx = StartContext(sim.launch_type, sim.world.region, sim.world.account, self.task_id)
        seeded = sim.seeded
        units = plan_task_start(
            ctx,
            self.containers,
            sim.driver,
            lambda repository, tag: seeded.local_image(f"{sim.world.repository_uri(repository)}:{tag}"),
        )
        missing = missing_execution_role(units, self.execution_role_arn)
        if missing is not None:
            raise StartFailed(missing)
        if self.execution_role_arn and any(unit.calls() for unit in units):
            # ECS hands execution-role credentials only to the task-start steps that call AWS.
            self._execution_session = self._sim.assume_role(
                self.execution_role_arn, self.task_id, f"{self.task_id}/execution"
            )
        session = self._execution_session
        clients = ExecutionClients(lambda: _boto_session(session), sim.gateway.url, sim.world.region)
        self._execution_clients = clients

        def listener(unit: StartUnit, status: str) -> None:
            label = f"{self.task_id}/execution"
            sim.set_current_unit(label, unit if status == "started" else None)
            self._notify("step", (unit, status, self.execution_role_arn))

        return run_task_start(self.task, units, clients, self.timeline, listener=listener)

    def _fail_to_start(self, reason: str, container: str | None, container_reason: str | None) -> None:
        self.result.failed_to_start = True
        self.task.request_stop(STOP_TASK_FAILED_TO_START, reason)
        self.task.move_to_stopping()
        for record in self.task.containers:
            self.task.set_container_status(
                record.name,
                ContainerStatus.STOPPED,
                reason=container_reason if record.name == container else None,
            )

    def _stop_unstarted(self) -> None:
        self.task.move_to_stopping()
        for record in self.task.containers:
            self.task.set_container_status(record.name, ContainerStatus.STOPPED)

    # --- phase 2 ------------------------------------------------------------------------------
    def _phase_two(self, inputs: dict[str, ContainerInputs]) -> None:
        sim = self._sim
        assert sim.endpoints is not None and sim.network is not None and sim.driver is not None
        credentials_id = None
        if self.task_role_arn:
            self._task_session = self._sim.assume_role(
                self.task_role_arn, self.task_id, f"{self.task_id}/task"
            )
            credentials_id = sim.endpoints.register_credentials(
                TaskCredentials.from_session(self._task_session)
            )
            self._credentials_id = credentials_id
        ctx = self._task_context()
        if sim.task_cgroups is not None:  # before any container: they are created in it
            limits = Limits(ctx.task_cpu, ctx.task_memory)
            ctx = replace(ctx, task_cgroup=sim.task_cgroups.create(self.task_id, limits))
        sandbox = None
        if ctx.network_mode == "awsvpc":
            assert sim.sandboxes is not None
            own = container_spec.pause(ctx, self.containers)
            sandbox = sim.sandboxes.lease(own, containers=len(self.containers))
            ctx = replace(ctx, sandbox_name=sandbox.name if sandbox else None)
        try:
            runtime_containers = self._runtime_containers(ctx, inputs, credentials_id)
        except BaseException:
            if sandbox is not None:  # no container of the task was made in it
                sandbox.release((), members_removed=True)
            raise
        self._runtime = TaskRuntime(
            self.task,
            runtime_containers,
            sim.driver,
            launch_type=sim.launch_type,
            log_sink=self._on_log_line,
            # a service's scheduler stops a task whose essential container turns UNHEALTHY
            replace_unhealthy=self.task.service is not None,
            sandbox=sandbox,
        )
        if self.task.desired_status == "STOPPED":
            if sandbox is not None:
                sandbox.release((), members_removed=True)
            self._stop_unstarted()
            return
        with self.timeline.step(PHASE_RUNTIME, "containers"):
            self._runtime.run()

    def _runtime_containers(
        self, ctx: container_spec.TaskContext, inputs: dict[str, ContainerInputs], credentials_id: str | None
    ) -> list[RuntimeContainer]:
        """Each container's Docker spec and runtime record; its endpoints and log shipper registered."""
        sim = self._sim
        assert sim.endpoints is not None
        router = firelens.router_of(self.containers)
        if router is not None:
            self._firelens = firelens.FireLens.create(self.task_id, router)
        runtime_containers: list[RuntimeContainer] = []
        agent = AgentTask(self.task.task_arn, self._task_protection())
        self._endpoint_ids: list[str] = []
        self._shippers: dict[str, LogShipper] = {}
        for definition in self.containers:
            name = definition["name"]
            if router is not None and firelens.uses_firelens(definition):
                definition = firelens.with_router_dependency(definition, router)
            holder: list[RuntimeContainer] = []
            endpoint_id = sim.endpoints.register_container(
                lambda holder=holder: self._view(holder[0]),
                lambda docker_id: sim.driver.stats(docker_id) if sim.driver else None,
                agent,
            )
            self._endpoint_ids.append(endpoint_id)
            spec = container_spec.build(
                definition,
                inputs[name],
                ctx,
                credentials_id=credentials_id,
                endpoint_id=endpoint_id,
                firelens=self._firelens,
                all_definitions=self.containers,
                firelens_metadata=self._firelens_metadata(router),
            )
            container = RuntimeContainer(definition, spec)
            if self._firelens is not None and name == router:
                container.ready = self._firelens.router_ready
            holder.append(container)
            runtime_containers.append(container)
            target = inputs[name]
            if target.log_group and target.log_stream:
                logs = self._execution_clients.client("logs", target.log_region)
                self._shippers[name] = LogShipper(logs, target.log_group, target.log_stream)
        return runtime_containers

    def _task_protection(self) -> TaskProtection | None:
        """ECS's scale-in protection of this task, which the agent reaches with the task role's credentials
        (none without a task role: the agent then refuses on its own)."""
        session = self._task_session
        if session is None:
            return None
        arn = self.task.task_arn
        return TaskProtection(
            arn,
            self.task.cluster_arn,
            lambda action, keys: self._sim.agent_call(session, action, arn, keys, WHY_TASK_PROTECTION),
            in_service=self.task.service is not None,
        )

    def _task_context(self) -> container_spec.TaskContext:
        sim = self._sim
        assert sim.network is not None
        raw = self.definition.raw
        # Fargate runs every task in awsvpc mode; EC2 defaults to bridge.
        network_mode = raw.get("networkMode") or (
            "awsvpc" if sim.launch_type.value == "FARGATE" else "bridge"
        )
        return container_spec.TaskContext(
            task_id=self.task_id,
            task_arn=self.task.task_arn,
            family=self.task.family,
            revision=self.task.revision,
            cluster=sim.cluster,
            region=sim.world.region,
            launch_type=sim.launch_type,
            network=sim.network.name,
            owner_labels=owner_labels(sim.owner_id),
            volumes=tuple(raw.get("volumes", [])),
            task_cpu=task_cpu_units(str(raw["cpu"])) if raw.get("cpu") else None,
            task_memory=task_memory_mib(str(raw["memory"])) if raw.get("memory") else None,
            docker_names={
                c["name"]: container_spec.docker_name(self.task.family, self.task.revision, c["name"])
                for c in self.containers
            },
            network_mode=network_mode,
            aws_hostnames=sim.aws_hostnames,
        )

    def _firelens_metadata(self, router: str | None) -> dict[str, str]:
        """What Fluent Bit adds to each record unless ``enable-ecs-log-metadata`` is "false"."""
        if router is None:
            return {}
        config = next(c for c in self.containers if c["name"] == router)["firelensConfiguration"]
        if str((config.get("options") or {}).get("enable-ecs-log-metadata", "true")).lower() == "false":
            return {}
        return {
            "ecs_cluster": self._sim.cluster,
            "ecs_task_arn": self.task.task_arn,
            "ecs_task_definition": f"{self.task.family}:{self.task.revision}",
        }

    def _on_log_line(self, container: str, line: str) -> None:
        self.result.container_logs.setdefault(container, []).append(line)
        shipper = self._shippers.get(container)
        if shipper:
            shipper.add(line)
        if self._log_sink:
            self._log_sink(container, line)

    # --- task metadata (TMDE v3/v4) -----------------------------------------------------------
    def _view(self, container: RuntimeContainer) -> ContainerView:
        return task_metadata.view(
            self.task, self._runtime, container, cluster=self._sim.cluster, region=self._sim.world.region
        )

    # --- the end ------------------------------------------------------------------------------
    def _finish(self) -> None:
        sim = self._sim
        for shipper in getattr(self, "_shippers", {}).values():
            shipper.close()
        for endpoint_id in getattr(self, "_endpoint_ids", []):
            with contextlib.suppress(Exception):
                sim.endpoints.unregister_container(endpoint_id)  # type: ignore[union-attr]
        if getattr(self, "_credentials_id", None):
            with contextlib.suppress(Exception):
                sim.endpoints.unregister_credentials(self._credentials_id)  # type: ignore[union-attr]
        self._remove_task_volumes()
        if sim.task_cgroups is not None:  # the task's containers are removed by now
            sim.task_cgroups.remove(self.task_id)
        if self._firelens is not None:
            self._firelens.remove()
        labels: dict[str, tuple[str, Session]] = {}
        if self._execution_session:
            labels[self._execution_session.label] = (PHASE_EXECUTION, self._execution_session)
        if self._task_session:
            labels[self._task_session.label] = (PHASE_RUNTIME, self._task_session)
        other = {
            PHASE_EXECUTION: sim.role_principal(self.task_role_arn, self.task_id),
            PHASE_RUNTIME: sim.role_principal(self.execution_role_arn, self.task_id),
        }
        with contextlib.suppress(Exception):
            decisions = sim.decisions_for(labels)
            self.result.denials = sim.denials_among(decisions, other)
            self.result.permissions = used_permissions(
                (
                    (record, phase, session.principal.role_arn or session.principal.arn)
                    for record, _, phase, session in decisions
                ),
                self.task_id,
            )
        for session in (self._execution_session, self._task_session):
            if session:
                sim.sessions.revoke(session.access_key_id)
        # Every container has stopped: an error of the simulator itself also ends the task this way.
        self.task.request_stop(STOP_ESSENTIAL_CONTAINER_EXITED, REASON_ESSENTIAL_EXITED)
        for record in self.task.containers:
            if record.last_status != ContainerStatus.STOPPED:
                self.task.set_container_status(record.name, ContainerStatus.STOPPED)
        self.task.finish()

    def _remove_task_volumes(self) -> None:
        sim = self._sim
        if sim.driver is None:
            return
        for volume in self.definition.raw.get("volumes", []):
            if (volume.get("host") or {}).get("sourcePath"):
                continue
            with contextlib.suppress(Exception):
                sim.driver.remove_volume(container_spec.task_volume_name(self.task_id, volume["name"]))


def _boto_session(session: Session | None) -> boto3.Session:
    if session is None:  # no execution role: calls are refused before any is made
        return static_session("none", "none")
    return static_session(
        session.access_key_id, session.secret_access_key, session_token=session.session_token
    )
