"""What the task metadata endpoint (TMDE v3/v4) shows a container: the task's state plus ``docker
inspect``, filled the way the agent fills its responses (``agent/handlers/v4``)."""

from __future__ import annotations

from dataclasses import replace

from ..ecs.task_record import TaskRecord
from ..endpoints.docker_inspect import from_docker_inspect
from ..endpoints.metadata import ContainerMetadata, ContainerView, TaskMetadata
from ..taskdef.rules import task_cpu_units, task_memory_mib
from .runtime import RuntimeContainer, TaskRuntime


def view(
    task: TaskRecord, runtime: TaskRuntime | None, container: RuntimeContainer, *, cluster: str, region: str
) -> ContainerView:
    """The asking container and its task, as they are now."""
    containers = list(runtime.containers.values()) if runtime else [container]
    metadata = TaskMetadata(
        cluster=cluster,
        task_arn=task.task_arn,
        family=task.family,
        revision=str(task.revision),
        known_status=task.last_status.value,
        desired_status=task.desired_status,
        containers=[container_metadata(task, runtime, c) for c in containers if c.docker_id],
        cpu=(task_cpu_units(str(task.cpu)) or 0) / 1024 if task.cpu else 0.0,  # vCPU
        memory=(task_memory_mib(str(task.memory)) or 0) if task.memory else 0,
        pull_started_at=task.timestamps.get("pullStartedAt"),
        pull_stopped_at=task.timestamps.get("pullStoppedAt"),
        execution_stopped_at=task.timestamps.get("executionStoppedAt"),
        availability_zone=f"{region}a",
        launch_type=task.launch_type,
        task_tags={t["key"]: t["value"] for t in task.tags},
        service_name=task.service or "",
        group=task.group,
    )
    return ContainerView(container_metadata(task, runtime, container), metadata)


def container_metadata(
    task: TaskRecord, runtime: TaskRuntime | None, container: RuntimeContainer
) -> ContainerMetadata:
    record = task.container(container.name)
    definition = container.definition
    log = definition.get("logConfiguration") or {}
    created = runtime is not None and container.docker_id is not None
    inspected = runtime.inspected(container.name) if created and runtime else None
    docker = from_docker_inspect(inspected) if inspected else {"docker_id": container.docker_id or ""}
    docker.pop("restart_count", None)
    docker.pop("docker_name", None)
    network = runtime.network_inspected(container.name) if created and runtime else None
    if network is not None and network is not inspected:  # the pause container holds the task's network
        shared = from_docker_inspect(network)
        docker["ports"] = [
            p for p in shared["ports"] if f"{p.container_port}/{p.protocol}" in container.spec.ports
        ]
        docker["networks"] = [replace(n, network_mode="awsvpc") for n in shared["networks"]]
    docker["known_status"] = container.agent_status.value  # the agent reports its own status
    docker["exit_code"] = container.exit_code
    if container.spec.health_check is None:
        docker["health"] = None  # Docker may know an image's HEALTHCHECK; the agent reports only ECS's
    return ContainerMetadata(
        name=container.name,
        docker_name=container.spec.name,
        image=record.image,
        image_id=docker.pop("image_id", "") or record.image_digest or "",
        desired_status=container.desired,
        cpu=int(definition.get("cpu") or 0),
        memory=int(definition.get("memory") or 0),
        log_driver=log.get("logDriver", ""),
        log_options=dict(log.get("options") or {}),
        container_arn=record.container_arn,
        **docker,
    )
