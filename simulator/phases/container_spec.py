"""An ECS container definition turned into the Docker container the agent would create for it.

The environment (ECS precedence: environmentFiles < environment < secrets, then what the agent
injects), labels, volumes, resource limits and log driver all come from here.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docker.types import Mount, Ulimit

from ..aws_hostnames import gateway_environment
from ..docker.containers import ContainerSpec, HealthCheckSpec
from ..docker.network import ENDPOINT_IP
from ..docker.sandboxes import SLEEP_FOREVER
from ..ecs.failures import LaunchType
from .firelens import ROUTER_IMAGE, FireLens, uses_firelens
from .task_start.units import ContainerInputs

if TYPE_CHECKING:
    from ..aws_hostnames.hostnames import AwsHostnames

DEFAULT_STOP_TIMEOUT = 30  # ECS_CONTAINER_STOP_TIMEOUT default
MAX_FARGATE_STOP_TIMEOUT = 120  # Fargate caps stopTimeout at 120 s
MIN_CPU_SHARES = 2  # the kernel's (and the agent's) smallest CPU weight
_NANO_CPUS_PER_UNIT = 1_000_000_000 / 1024  # ECS: 1024 cpu units per vCPU; Docker: 1e9 nano CPUs per CPU
# Health check defaults of the ECS HealthCheck API.
_HEALTH_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


@dataclass(frozen=True)
class TaskContext:
    """What every container of one task shares."""

    task_id: str
    task_arn: str
    family: str
    revision: int
    cluster: str
    region: str
    launch_type: LaunchType
    network: str  # the simulator's Docker network
    owner_labels: Mapping[str, str]
    volumes: Sequence[Mapping[str, Any]] = ()  # the task definition's ``volumes``
    task_cpu: int | None = None  # task-level cpu units
    task_memory: int | None = None  # task-level MiB
    docker_names: Mapping[str, str] | None = None  # container name -> Docker name, for volumesFrom
    network_mode: str = "awsvpc"
    # awsvpc: the Docker name of the task's sandbox (pause container), whose network namespace every
    # container joins (they reach each other on localhost, as on Fargate).
    sandbox_name: str | None = None
    # The task's cgroup, holding task_cpu/task_memory for all its containers (docker.task_cgroup); None:
    # each container is capped at them instead.
    task_cgroup: str | None = None
    # The real AWS host names lead to the gateway (DNS, CA bundle) instead of AWS_ENDPOINT_URL.
    aws_hostnames: AwsHostnames | None = None

    @property
    def dns(self) -> list[str]:
        return self.aws_hostnames.dns_servers if self.aws_hostnames else []


def docker_name(family: str, revision: int, container: str) -> str:
    """The agent's naming: ecs-<family>-<revision>-<container>-<20 hex digits>."""
    return f"ecs-{family}-{revision}-{container}-{secrets.token_hex(10)}"


PAUSE_CONTAINER = "~internal~ecs~pause"  # the agent's name for it
PAUSE_IMAGE = "ecs-sim/busybox:latest"


def pause(ctx: TaskContext, definitions: Sequence[Mapping[str, Any]]) -> ContainerSpec:
    """The container that would hold this awsvpc task's network namespace if it had one of its own: the
    task's published ports and host entries are its. It only sleeps, and is removed after the task's
    containers. (A task with neither borrows a kept sandbox instead, see ``docker.sandboxes``.)"""
    return ContainerSpec(
        name=docker_name(ctx.family, ctx.revision, "internalecspause"),
        image=PAUSE_IMAGE,
        labels={**ctx.owner_labels, **ecs_labels({"name": PAUSE_CONTAINER}, ctx)},
        network=ctx.network,
        command=SLEEP_FOREVER,
        ports={key: port for d in definitions for key, port in _ports(d).items()},
        extra_hosts={h["hostname"]: h["ipAddress"] for d in definitions for h in d.get("extraHosts", [])},
        dns=ctx.dns,
    )


def _ports(definition: Mapping[str, Any]) -> dict[str, int | None]:
    return {
        f"{p['containerPort']}/{p.get('protocol', 'tcp')}": p.get("hostPort") or None
        for p in definition.get("portMappings", [])
        if "containerPort" in p
    }


def task_volume_name(task_id: str, volume: str) -> str:
    """The Docker volume that backs a task-scoped volume (removed with the task)."""
    return f"ecs-sim-{task_id}-{volume}"


def stop_timeout(definition: Mapping[str, Any], launch: LaunchType) -> int:
    """Seconds between SIGTERM and SIGKILL: stopTimeout, else the agent's 30 s default; Fargate caps at 120."""
    value = int(definition.get("stopTimeout") or 0)
    if value <= 0:
        value = DEFAULT_STOP_TIMEOUT
    return min(value, MAX_FARGATE_STOP_TIMEOUT) if launch is LaunchType.FARGATE else value


def environment(
    definition: Mapping[str, Any],
    inputs: ContainerInputs,
    ctx: TaskContext,
    credentials_id: str | None,
    endpoint_id: str,
) -> dict[str, str]:
    env: dict[str, str] = dict(inputs.env_files)
    env.update({e["name"]: e["value"] for e in definition.get("environment", [])})
    env.update(inputs.secrets)
    env.update(
        {
            "AWS_REGION": ctx.region,
            "AWS_DEFAULT_REGION": ctx.region,
            "AWS_EXECUTION_ENV": f"AWS_ECS_{ctx.launch_type.value}",
            "ECS_CONTAINER_METADATA_URI": f"http://{ENDPOINT_IP}/v3/{endpoint_id}",
            "ECS_CONTAINER_METADATA_URI_V4": f"http://{ENDPOINT_IP}/v4/{endpoint_id}",
            "ECS_AGENT_URI": f"http://{ENDPOINT_IP}/api/{endpoint_id}",
        }
    )
    # the definition's own endpoint or CA bundle wins
    for variable, value in gateway_environment(ctx.aws_hostnames is not None).items():
        env.setdefault(variable, value)
    if credentials_id:
        env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = f"/v2/credentials/{credentials_id}"
    return env


def ecs_labels(definition: Mapping[str, Any], ctx: TaskContext) -> dict[str, str]:
    """The agent's com.amazonaws.ecs.* labels (shown by TMDE), then the definition's dockerLabels."""
    return {
        "com.amazonaws.ecs.cluster": ctx.cluster,
        "com.amazonaws.ecs.container-name": definition["name"],
        "com.amazonaws.ecs.task-arn": ctx.task_arn,
        "com.amazonaws.ecs.task-definition-family": ctx.family,
        "com.amazonaws.ecs.task-definition-version": str(ctx.revision),
        **(definition.get("dockerLabels") or {}),
    }


def mounts(definition: Mapping[str, Any], ctx: TaskContext) -> list[Mount]:
    """mountPoints: host volumes are bind mounts; any other volume is a task-scoped Docker volume that
    the task's containers share."""
    volumes = {v["name"]: v for v in ctx.volumes}
    out = []
    for point in definition.get("mountPoints", []):
        volume = volumes.get(point.get("sourceVolume", ""), {})
        host_path = (volume.get("host") or {}).get("sourcePath")
        read_only = bool(point.get("readOnly", False))
        if host_path:
            out.append(Mount(point["containerPath"], host_path, type="bind", read_only=read_only))
        else:
            out.append(
                Mount(
                    point["containerPath"],
                    task_volume_name(ctx.task_id, point["sourceVolume"]),
                    type="volume",
                    read_only=read_only,
                    labels=dict(ctx.owner_labels),
                )
            )
    if ctx.aws_hostnames is not None:
        out.append(ctx.aws_hostnames.mount())
    return out


def volumes_from(definition: Mapping[str, Any], ctx: TaskContext) -> list[str]:
    names = ctx.docker_names or {}
    return [
        f"{names[v['sourceContainer']]}:{'ro' if v.get('readOnly') else 'rw'}"
        for v in definition.get("volumesFrom", [])
        if v.get("sourceContainer") in names
    ]


def links(definition: Mapping[str, Any], ctx: TaskContext) -> dict[str, str]:
    """``links`` ("name" or "name:alias") -> {Docker name: alias}."""
    names = ctx.docker_names or {}
    out = {}
    for link in definition.get("links", []):
        target, _, alias = link.partition(":")
        if target in names:
            out[names[target]] = alias or target
    return out


def health_check(definition: Mapping[str, Any]) -> HealthCheckSpec | None:
    health = definition.get("healthCheck")
    if not health:
        return None
    values = {**_HEALTH_DEFAULTS, **health}
    return HealthCheckSpec(
        command=health["command"],
        interval=values["interval"],
        timeout=values["timeout"],
        retries=values["retries"],
        start_period=values["startPeriod"],
    )


def _limits(definition: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Container cpu is a relative weight (CpuShares); container memory a hard limit, memoryReservation a
    soft one. A task-level cpu/memory (required on Fargate) limits the task's cgroup, shared by its
    containers as the agent's is; without one each container is capped at the task's limits."""
    cpu = int(definition.get("cpu") or 0)
    per_container = ctx.task_cgroup is None
    memory = definition.get("memory") or (ctx.task_memory if per_container else None)
    return {
        "cpu_shares": max(cpu, MIN_CPU_SHARES) if cpu else None,
        "nano_cpus": int(ctx.task_cpu * _NANO_CPUS_PER_UNIT) if ctx.task_cpu and per_container else None,
        "memory_mib": int(memory) if memory else None,
        "memory_reservation_mib": definition.get("memoryReservation"),
        "cgroup_parent": ctx.task_cgroup,
    }


def build(
    definition: Mapping[str, Any],
    inputs: ContainerInputs,
    ctx: TaskContext,
    *,
    credentials_id: str | None,
    endpoint_id: str,
    firelens: FireLens | None = None,
    all_definitions: Sequence[Mapping[str, Any]] = (),
    firelens_metadata: Mapping[str, str] | None = None,
) -> ContainerSpec:
    name = definition["name"]
    linux = definition.get("linuxParameters") or {}
    capabilities = linux.get("capabilities") or {}
    env = environment(definition, inputs, ctx, credentials_id, endpoint_id)
    image, command = inputs.image, definition.get("command")
    entrypoint = definition.get("entryPoint")
    container_mounts = mounts(definition, ctx)
    log_driver, log_options = "json-file", {}
    if firelens is not None and name == firelens.router:
        # The router's declared image (Fluent Bit) went through phase 1's pull; ecs-sim's router runs instead.
        image, command, entrypoint = ROUTER_IMAGE, firelens.router_command(), None
        container_mounts += firelens.router_mounts()
        env.update(firelens.router_environment(all_definitions, firelens_metadata or {}))
    elif firelens is not None:
        if ctx.network_mode == "awsvpc":
            env.update(firelens.app_environment())
        if uses_firelens(definition):
            log_driver, log_options = "fluentd", firelens.app_log_options(name)
    names = ctx.docker_names or {}
    return ContainerSpec(
        name=names.get(name) or docker_name(ctx.family, ctx.revision, name),
        image=image,
        labels={**ctx.owner_labels, **ecs_labels(definition, ctx)},
        network=ctx.network,
        # No container-name DNS (one simulator network serves every task): bridge mode's `links` are
        # per-container aliases, as on an EC2 instance.
        links=links(definition, ctx),
        network_mode=f"container:{ctx.sandbox_name}" if ctx.sandbox_name else None,
        environment=env,
        command=command,
        entrypoint=entrypoint,
        working_dir=definition.get("workingDirectory"),
        user=definition.get("user"),
        hostname=definition.get("hostname"),
        **_limits(definition, ctx),
        ports=_ports(definition),
        mounts=container_mounts,
        volumes_from=volumes_from(definition, ctx),
        ulimits=[
            Ulimit(name=u["name"], soft=u["softLimit"], hard=u["hardLimit"])
            for u in definition.get("ulimits", [])
        ],
        init=linux.get("initProcessEnabled"),
        cap_add=capabilities.get("add", []),
        cap_drop=capabilities.get("drop", []),
        read_only=definition.get("readonlyRootFilesystem"),
        extra_hosts={h["hostname"]: h["ipAddress"] for h in definition.get("extraHosts", [])},
        dns=ctx.dns,
        health_check=health_check(definition),
        stop_timeout=stop_timeout(definition, ctx.launch_type),
        log_driver=log_driver,
        log_options=log_options,
    )
