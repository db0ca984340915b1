"""Task containers on the Docker engine: an ECS container definition turned into Docker's create call.

Uses docker-py's low-level API: the high-level one inspects after every create, which costs a round
trip per container on the task-start path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import LogConfig, Mount, Ulimit

_NANOSECONDS = 1_000_000_000


@dataclass(frozen=True)
class HealthCheckSpec:
    command: Sequence[str]
    interval: int = 30
    timeout: int = 5
    retries: int = 3
    start_period: int = 0

    def to_docker(self) -> dict[str, Any]:
        return {
            "test": list(self.command),
            "interval": self.interval * _NANOSECONDS,
            "timeout": self.timeout * _NANOSECONDS,
            "retries": self.retries,
            "start_period": self.start_period * _NANOSECONDS,
        }


@dataclass(frozen=True)
class ContainerSpec:
    """Everything Docker needs to create one task container."""

    name: str  # the Docker name, e.g. ecs-family-3-web-9f8e...
    image: str
    labels: Mapping[str, str]
    network: str
    links: Mapping[str, str] = field(
        default_factory=dict
    )  # Docker name -> alias, seen by this container only
    environment: Mapping[str, str] = field(default_factory=dict)
    command: Sequence[str] | None = None
    entrypoint: Sequence[str] | None = None
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    cpu_shares: int | None = None  # the container's cpu units: a relative weight, as the agent sets it
    nano_cpus: int | None = None  # a hard CPU cap (Fargate's task-level cpu)
    memory_mib: int | None = None
    memory_reservation_mib: int | None = None
    ports: Mapping[str, int | None] = field(default_factory=dict)  # "80/tcp" -> host port (None: any)
    mounts: Sequence[Mount] = ()
    volumes_from: Sequence[str] = ()
    ulimits: Sequence[Ulimit] = ()
    init: bool | None = None
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    read_only: bool | None = None
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    dns: Sequence[str] = ()  # the name servers Docker's resolver forwards other than container names to
    health_check: HealthCheckSpec | None = None
    stop_timeout: int | None = None
    log_driver: str = "json-file"
    log_options: Mapping[str, str] = field(default_factory=dict)
    # "container:<name>": join that container's network namespace (ports and hosts are its).
    network_mode: str | None = None
    cgroup_parent: str | None = None  # the task cgroup (docker.task_cgroup), whose limits it shares


class DockerCreateError(Exception):
    """Docker refused to create the container (becomes CannotCreateContainerError)."""


class DockerStartError(Exception):
    """Docker refused to start the container (becomes CannotStartContainerError)."""


class ContainerDriver:
    def __init__(self, client: docker.DockerClient) -> None:
        self._api = client.api

    def image_present(self, image: str) -> bool:
        try:
            self._api.inspect_image(image)
        except ImageNotFound:
            return False
        return True

    def image_id(self, image: str) -> str:
        return str(self._api.inspect_image(image)["Id"])

    def pull(self, image: str) -> None:
        """Pull ``image``; raises APIError with the daemon's text when it cannot."""
        repository, _, tag = (
            image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
        )
        self._api.pull(repository, tag=tag or "latest")

    def create(self, spec: ContainerSpec) -> str:
        shared = spec.network_mode is not None  # Docker refuses ports, hosts, DNS and links then
        host_config = self._api.create_host_config(
            network_mode=spec.network_mode or spec.network,
            port_bindings=None if shared else {p: ("127.0.0.1", h) for p, h in spec.ports.items()} or None,
            mounts=list(spec.mounts) or None,
            volumes_from=list(spec.volumes_from) or None,
            ulimits=list(spec.ulimits) or None,
            init=spec.init,
            cap_add=list(spec.cap_add) or None,
            cap_drop=list(spec.cap_drop) or None,
            read_only=spec.read_only,
            extra_hosts=None if shared else dict(spec.extra_hosts) or None,
            dns=None if shared else list(spec.dns) or None,
            mem_limit=f"{spec.memory_mib}m" if spec.memory_mib else None,
            mem_reservation=f"{spec.memory_reservation_mib}m" if spec.memory_reservation_mib else None,
            cpu_shares=spec.cpu_shares,
            nano_cpus=spec.nano_cpus,
            cgroup_parent=spec.cgroup_parent,
            log_config=LogConfig(type=spec.log_driver, config=dict(spec.log_options)),
        )
        networking = None
        if not shared:
            endpoint = self._api.create_endpoint_config(links=dict(spec.links) or None)
            networking = self._api.create_networking_config({spec.network: endpoint})
        try:
            created = self._api.create_container(
                image=spec.image,
                name=spec.name,
                command=list(spec.command) if spec.command is not None else None,
                entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
                environment=dict(spec.environment),
                working_dir=spec.working_dir,
                user=spec.user or "",
                hostname=None if shared else spec.hostname,
                labels=dict(spec.labels),
                # docker-py appends "/tcp" to a plain string: give (port, protocol) pairs.
                ports=None
                if shared
                else [(int(p.split("/")[0]), p.split("/")[1]) for p in spec.ports] or None,
                host_config=host_config,
                networking_config=networking,
                healthcheck=spec.health_check.to_docker() if spec.health_check else None,
                stop_timeout=spec.stop_timeout,
            )
        except APIError as err:
            raise DockerCreateError(_daemon_text(err)) from err
        return str(created["Id"])

    def start(self, container_id: str) -> None:
        try:
            self._api.start(container_id)
        except APIError as err:
            raise DockerStartError(_daemon_text(err)) from err

    def wait(self, container_id: str) -> int:
        return int(self._api.wait(container_id)["StatusCode"])

    def inspect(self, container_id: str) -> dict[str, Any]:
        return dict(self._api.inspect_container(container_id))

    def health(self, container_id: str) -> str | None:
        """Docker's health status ("starting", "healthy", "unhealthy") or None without a health check."""
        state = self.inspect(container_id).get("State", {})
        health = state.get("Health")
        return health.get("Status") if health else None

    def stop(self, container_id: str, timeout: int) -> None:
        with contextlib.suppress(NotFound):
            self._api.stop(container_id, timeout=timeout)

    def kill(self, container_id: str) -> None:
        with contextlib.suppress(NotFound, APIError):
            self._api.kill(container_id)

    def remove(self, container_id: str) -> None:
        with contextlib.suppress(NotFound):
            try:
                self._api.remove_container(container_id, v=True, force=True)
            except APIError as err:
                if err.status_code != 409:  # 409: removal already in progress
                    raise

    def remove_volume(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self._api.remove_volume(name, force=True)

    def logs(self, container_id: str) -> Iterator[bytes]:
        """Lines of stdout+stderr as they come, until the container stops."""
        return self._api.logs(container_id, stream=True, follow=True, stdout=True, stderr=True)

    def logs_so_far(self, container_id: str) -> bytes:
        """All of stdout+stderr up to now, in the order :meth:`logs` streams them."""
        return bytes(self._api.logs(container_id, stdout=True, stderr=True))

    def stats(self, container_id: str) -> dict[str, Any]:
        return dict(self._api.stats(container_id, stream=False))


def _daemon_text(err: APIError) -> str:
    explanation = err.explanation.decode() if isinstance(err.explanation, bytes) else err.explanation
    return f"Error response from daemon: {explanation or err}"
