"""One task from RunTask to STOPPED: roles, phase 1 with the execution role, phase 2 with the task role."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from docker.types import Mount, Ulimit

from .diagnosis import PHASE_EXECUTION, PHASE_RUNTIME
from .docker.containers import ContainerSpec, HealthCheckSpec
from .docker.labels import owner_labels
from .docker.network import ENDPOINT_IP, GATEWAY_PORT
from .ecs.failures import STOP_TASK_FAILED_TO_START, STOP_USER_INITIATED, StartFailure
from .ecs.lifecycle import ContainerStatus, TaskStatus
from .ecs.task_record import ContainerRecord, TaskRecord
from .ecs.trust import ecs_can_assume, unable_to_assume_message
from .endpoints.credentials import TaskCredentials
from .endpoints.metadata import ContainerMetadata, ContainerView, TaskMetadata
from .phases.log_shipping import LogShipper
from .phases.runtime import RuntimeContainer, TaskRuntime
from .phases.task_start.driver import run_task_start
from .phases.task_start.plan import plan_task_start
from .phases.task_start.units import ContainerInputs, ExecutionClients, StartContext, StartFailed, StartUnit
from .result import TaskResult
from .sessions import Session
from .taskdef import TaskDefinition
from .timeline import Timeline

if TYPE_CHECKING:
    from .api import Simulator


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
    ) -> None:
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
            containers=[
                ContainerRecord(name=c["name"], image=c["image"], essential=c.get("essential", True))
                for c in self.containers
            ],
        )
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
        try:
            finished = self._done.wait(timeout)
        except KeyboardInterrupt:
            self.stop()
            self._done.wait()
            self.result.interrupted = True
            raise
        if not finished:
            raise TimeoutError(f"task {self.task_id} still {self.task.last_status} after {timeout} s")
        if self._error is not None:
            raise self._error
        return self.result

    def stop(self, reason: str = "Task stopped by user") -> None:
        if self._runtime is not None:
            self._runtime.request_stop(STOP_USER_INITIATED, reason)
        else:
            self.task.request_stop(STOP_USER_INITIATED, reason)

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
        self._notify("status", self.task.last_status)
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
            if not ecs_can_assume(
                self._sim.client("iam"), role_arn, self._sim.world.account, self.task.cluster_arn
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
        needs_role = any(unit.calls() for unit in units)
        if needs_role and not self.execution_role_arn:
            raise StartFailed(_no_execution_role(units))
        if self.execution_role_arn:
            self._execution_session = self._sim.assume_role(
                self.execution_role_arn, self.task_id, f"{self.task_id}/execution"
            )
        clients = ExecutionClients(_boto_session(self._execution_session), sim.gateway.url, sim.world.region)
        self._execution_clients = clients

        def listener(unit: StartUnit, status: str) -> None:
            label = f"{self.task_id}/execution"
            sim.set_current_unit(label, unit if status == "started" else None)
            self._notify("step", (unit, status))

        return run_task_start(self.task, units, clients, self.timeline, listener=listener)

    def _fail_to_start(self, reason: str, container: str | None, container_reason: str | None) -> None:
        self.result.failed_to_start = True
        self.task.request_stop(STOP_TASK_FAILED_TO_START, reason)
        self.task.stamp("stoppingAt")
        for record in self.task.containers:
            self.task.set_container_status(
                record.name,
                ContainerStatus.STOPPED,
                reason=container_reason if record.name == container else None,
            )
        self.task.stamp("executionStoppedAt")

    def _stop_unstarted(self) -> None:
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
        runtime_containers = []
        self._endpoint_ids: list[str] = []
        self._shippers: dict[str, LogShipper] = {}
        for definition in self.containers:
            name = definition["name"]
            endpoint_id_holder: list[RuntimeContainer] = []
            endpoint_id = sim.endpoints.register_container(
                lambda holder=endpoint_id_holder: self._view(holder[0]),
                lambda docker_id: sim.driver.stats(docker_id) if sim.driver else None,
            )
            self._endpoint_ids.append(endpoint_id)
            spec = self._container_spec(definition, inputs[name], credentials_id, endpoint_id)
            container = RuntimeContainer(definition, spec)
            endpoint_id_holder.append(container)
            runtime_containers.append(container)
            target = inputs[name]
            if target.log_group and target.log_stream:
                logs = self._execution_clients.client("logs", target.log_region)
                self._shippers[name] = LogShipper(logs, target.log_group, target.log_stream)
        self._runtime = TaskRuntime(
            self.task,
            runtime_containers,
            sim.driver,
            log_sink=self._on_log_line,
            on_change=lambda: self._notify("containers", self.task),
        )
        if self.task.desired_status == "STOPPED":
            return
        with self.timeline.step(PHASE_RUNTIME, "containers"):
            self._runtime.run()
        self.task.stamp("executionStoppedAt")

    def _on_log_line(self, container: str, line: str) -> None:
        self.result.container_logs.setdefault(container, []).append(line)
        shipper = self._shippers.get(container)
        if shipper:
            shipper.add(line)
        if self._log_sink:
            self._log_sink(container, line)

    def _container_spec(
        self,
        definition: Mapping[str, Any],
        inputs: ContainerInputs,
        credentials_id: str | None,
        endpoint_id: str,
    ) -> ContainerSpec:
        sim = self._sim
        assert sim.network is not None
        world = sim.world
        name = definition["name"]
        # ECS precedence: environment files < environment < secrets.
        environment: dict[str, str] = dict(inputs.env_files)
        environment.update({e["name"]: e["value"] for e in definition.get("environment", [])})
        environment.update(inputs.secrets)
        environment.update(
            {
                "AWS_REGION": world.region,
                "AWS_DEFAULT_REGION": world.region,
                "AWS_EXECUTION_ENV": f"AWS_ECS_{sim.launch_type.value}",
                "ECS_CONTAINER_METADATA_URI": f"http://{ENDPOINT_IP}/v3/{endpoint_id}",
                "ECS_CONTAINER_METADATA_URI_V4": f"http://{ENDPOINT_IP}/v4/{endpoint_id}",
            }
        )
        environment.setdefault("AWS_ENDPOINT_URL", f"http://{ENDPOINT_IP}:{GATEWAY_PORT}")
        if credentials_id:
            environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = f"/v2/credentials/{credentials_id}"
        labels = {
            **owner_labels(sim.owner_id),
            "com.amazonaws.ecs.cluster": sim.cluster,
            "com.amazonaws.ecs.container-name": name,
            "com.amazonaws.ecs.task-arn": self.task.task_arn,
            "com.amazonaws.ecs.task-definition-family": self.task.family,
            "com.amazonaws.ecs.task-definition-version": str(self.task.revision),
            **(definition.get("dockerLabels") or {}),
        }
        linux = definition.get("linuxParameters") or {}
        capabilities = linux.get("capabilities") or {}
        health = definition.get("healthCheck")
        return ContainerSpec(
            name=f"ecs-{self.task.family}-{self.task.revision}-{name}-{secrets.token_hex(8)}",
            image=inputs.image,
            labels=labels,
            network=sim.network.name,
            aliases=(name,),
            environment=environment,
            command=definition.get("command"),
            entrypoint=definition.get("entryPoint"),
            working_dir=definition.get("workingDirectory"),
            user=definition.get("user"),
            hostname=definition.get("hostname"),
            cpu_units=definition.get("cpu") or None,
            memory_mib=definition.get("memory"),
            memory_reservation_mib=definition.get("memoryReservation"),
            ports={
                f"{p['containerPort']}/{p.get('protocol', 'tcp')}": p.get("hostPort") or None
                for p in definition.get("portMappings", [])
                if "containerPort" in p
            },
            mounts=self._mounts(definition),
            ulimits=[
                Ulimit(name=u["name"], soft=u["softLimit"], hard=u["hardLimit"])
                for u in definition.get("ulimits", [])
            ],
            init=linux.get("initProcessEnabled"),
            cap_add=capabilities.get("add", []),
            cap_drop=capabilities.get("drop", []),
            read_only=definition.get("readonlyRootFilesystem"),
            extra_hosts={h["hostname"]: h["ipAddress"] for h in definition.get("extraHosts", [])},
            health_check=HealthCheckSpec(
                command=health["command"],
                interval=health.get("interval", 30),
                timeout=health.get("timeout", 5),
                retries=health.get("retries", 3),
                start_period=health.get("startPeriod", 0),
            )
            if health
            else None,
            stop_timeout=definition.get("stopTimeout"),
        )

    def _mounts(self, definition: Mapping[str, Any]) -> list[Mount]:
        volumes = {v["name"]: v for v in self.definition.raw.get("volumes", [])}
        mounts = []
        for point in definition.get("mountPoints", []):
            volume = volumes.get(point.get("sourceVolume", ""), {})
            host_path = (volume.get("host") or {}).get("sourcePath")
            read_only = bool(point.get("readOnly", False))
            if host_path:
                mounts.append(Mount(point["containerPath"], host_path, type="bind", read_only=read_only))
            else:
                # A task-scoped volume shared by the task's containers, removed with the task.
                mounts.append(
                    Mount(
                        point["containerPath"],
                        f"ecs-sim-{self.task_id}-{point['sourceVolume']}",
                        type="volume",
                        read_only=read_only,
                        labels=owner_labels(self._sim.owner_id),
                    )
                )
        return mounts

    def _view(self, container: RuntimeContainer) -> ContainerView:
        record = self.task.container(container.name)
        definition = container.definition
        log = definition.get("logConfiguration") or {}
        meta = ContainerMetadata(
            docker_id=container.docker_id or "",
            name=container.name,
            docker_name=container.spec.name,
            image=record.image,
            image_id=record.image_digest or "",
            labels={k: v for k, v in container.spec.labels.items() if k.startswith("com.amazonaws.ecs.")},
            desired_status=self.task.desired_status,
            known_status=record.last_status.value,
            exit_code=record.exit_code,
            cpu=int(definition.get("cpu") or 0),
            memory=int(definition.get("memory") or 0),
            created_at=container.started_at,
            started_at=container.started_at,
            finished_at=container.finished_at,
            log_driver=log.get("logDriver", ""),
            log_options=dict(log.get("options") or {}),
            container_arn=record.container_arn,
        )
        task = TaskMetadata(
            cluster=self._sim.cluster,
            task_arn=self.task.task_arn,
            family=self.task.family,
            revision=str(self.task.revision),
            known_status=self.task.last_status.value,
            desired_status=self.task.desired_status,
            containers=[
                self._view_container_only(c)
                for c in (self._runtime.containers.values() if self._runtime else [])
            ],
            cpu=float(self.task.cpu or 0) / 1024,
            memory=int(self.task.memory or 0),
            pull_started_at=self.task.timestamps.get("pullStartedAt"),
            pull_stopped_at=self.task.timestamps.get("pullStoppedAt"),
            launch_type=self.task.launch_type,
            availability_zone=f"{self._sim.world.region}a",
        )
        return ContainerView(meta, task)

    def _view_container_only(self, container: RuntimeContainer) -> ContainerMetadata:
        record = self.task.container(container.name)
        return ContainerMetadata(
            docker_id=container.docker_id or "",
            name=container.name,
            docker_name=container.spec.name,
            image=record.image,
            known_status=record.last_status.value,
            desired_status=self.task.desired_status,
            exit_code=record.exit_code,
            started_at=container.started_at,
            finished_at=container.finished_at,
            container_arn=record.container_arn,
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
            self.result.denials = sim.denials_for(labels, other)
        for session in (self._execution_session, self._task_session):
            if session:
                sim.sessions.revoke(session.access_key_id)
        if self.task.desired_status != "STOPPED":
            self.task.request_stop("EssentialContainerExited", "Essential container in task exited")
        if self.task.last_status not in (TaskStatus.STOPPED,):
            if self.task.last_status in (TaskStatus.RUNNING, TaskStatus.ACTIVATING):
                self.task.set_status(TaskStatus.DEACTIVATING)
                self.task.set_status(TaskStatus.STOPPING)
            if self.task.last_status != TaskStatus.DEPROVISIONING:
                self.task.set_status(TaskStatus.DEPROVISIONING)
            self.task.set_status(TaskStatus.STOPPED)
        self._notify("status", self.task.last_status)

    def _remove_task_volumes(self) -> None:
        sim = self._sim
        if sim.driver is None:
            return
        for volume in self.definition.raw.get("volumes", []):
            if (volume.get("host") or {}).get("sourcePath"):
                continue
            with contextlib.suppress(Exception):
                sim.driver.remove_volume(f"ecs-sim-{self.task_id}-{volume['name']}")


def _boto_session(session: Session | None) -> boto3.Session:
    if session is None:
        return boto3.Session(aws_access_key_id="none", aws_secret_access_key="none")
    return boto3.Session(
        aws_access_key_id=session.access_key_id,
        aws_secret_access_key=session.secret_access_key,
        aws_session_token=session.session_token,
    )


def _no_execution_role(units: list[StartUnit]) -> StartFailure:
    kinds = {u.kind for u in units if u.calls()}
    # The agent's words when a resource needs execution-role credentials the task does not have.
    if "ssm-secrets" in kinds:
        text = "ssm secret resource: unable to find execution role credentials"
    elif "asm-secret" in kinds:
        text = "ASM secret resource: unable to find execution role credentials"
    elif "env-file" in kinds:
        text = "environment file resource: unable to find execution role credentials"
    elif "registry-auth" in kinds:
        text = "asm resource: unable to find execution role credentials"
    else:
        text = "engine ecr credentials: not found"
        return StartFailure(
            f"CannotPullECRContainerError: {text}", units[0].container, f"CannotPullECRContainerError: {text}"
        )
    return StartFailure(text[:1].upper() + text[1:])
