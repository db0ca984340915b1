"""Task and container metadata (TMDE v3/v4) in the ECS agent's shape.

The runner fills :class:`TaskMetadata` / :class:`ContainerMetadata` from its task state and
``docker inspect``; the ``*_response`` functions turn them into the agent's JSON objects: the field
order of its Go structs (``ecs-agent/tmds/handlers/v2/response.go``, ``…/v4/state/response.go``),
its ``omitempty`` rules, and the v3/v4 differences of ``agent/handlers/v2/response.go``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .gojson import go_float, go_map, rfc3339nano

MINIMUM_CPU_UNITS = 2  # agent/handlers/v2/response.go minimumCPUUnit


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    protocol: str = "tcp"
    host_port: int = 0
    host_ip: str = ""  # reported by v4 only


@dataclass(frozen=True)
class NetworkInfo:
    """One network of a container: for bridge-mode tasks ``network_mode`` is the Docker network's name
    and the interface properties stay empty (the agent fills them for awsvpc only)."""

    network_mode: str
    ipv4_addresses: Sequence[str] = ()
    ipv6_addresses: Sequence[str] = ()
    attachment_index: int | None = None
    mac_address: str = ""
    ipv4_subnet_cidr_block: str = ""
    ipv6_subnet_cidr_block: str = ""
    domain_name_servers: Sequence[str] = ()
    domain_name_search_list: Sequence[str] = ()
    private_dns_name: str = ""
    subnet_gateway_ipv4_address: str = ""
    subnet_gateway_ipv6_address: str = ""


@dataclass(frozen=True)
class HealthInfo:
    status: str = ""  # HEALTHY | UNHEALTHY | UNKNOWN (UNKNOWN is not reported)
    since: datetime | None = None
    exit_code: int = 0
    output: str = ""


@dataclass(frozen=True)
class VolumeInfo:
    docker_name: str = ""
    source: str = ""
    destination: str = ""


@dataclass(frozen=True)
class ContainerMetadata:
    """One container. ``docker_id`` stays empty until Docker created it (the agent then answers 404)."""

    docker_id: str
    name: str
    docker_name: str
    image: str
    image_id: str = ""
    ports: Sequence[PortMapping] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    desired_status: str = "RUNNING"
    known_status: str = "PENDING"
    exit_code: int | None = None
    cpu: int = 0  # CPU units of the container definition
    memory: int = 0  # MiB
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    type: str = "NORMAL"
    networks: Sequence[NetworkInfo] = ()
    health: HealthInfo | None = None  # None: the container has no health check
    volumes: Sequence[VolumeInfo] = ()
    log_driver: str = ""
    log_options: Mapping[str, str] = field(default_factory=dict)
    container_arn: str = ""
    snapshotter: str = ""
    restart_count: int | None = None  # set only when a restart policy is enabled


@dataclass(frozen=True)
class TaskMetadata:
    cluster: str
    task_arn: str
    family: str
    revision: str
    known_status: str
    desired_status: str = ""
    containers: Sequence[ContainerMetadata] = ()
    cpu: float = 0.0  # vCPU, as the agent reports it: the task definition's CPU units / 1024
    memory: int = 0  # MiB
    pull_started_at: datetime | None = None
    pull_stopped_at: datetime | None = None
    execution_stopped_at: datetime | None = None
    availability_zone: str = ""
    task_tags: Mapping[str, str] = field(default_factory=dict)
    container_instance_tags: Mapping[str, str] = field(default_factory=dict)
    launch_type: str = ""
    vpc_id: str = ""
    service_name: str = ""
    group: str = ""
    fault_injection_enabled: bool = False
    availability_zone_id: str = ""


class ContainerView(NamedTuple):
    """What a metadata request needs: the asking container and its task, as they are now."""

    container: ContainerMetadata
    task: TaskMetadata


ViewProvider = Callable[[], ContainerView]
# docker id -> Docker's stats JSON for that container, or None when it cannot be had.
StatsProvider = Callable[[str], Mapping[str, Any] | None]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Go's ``omitempty``: skip "", 0, False, None and empty collections."""
    if value:
        target[key] = value


def _time(moment: datetime | None) -> str | None:
    return rfc3339nano(moment) if moment is not None else None


def _port(port: PortMapping, v4: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "ContainerPort", port.container_port)
    _put(out, "Protocol", port.protocol)
    _put(out, "HostPort", port.host_port)
    if v4:
        _put(out, "HostIp", port.host_ip)
    return out


def _network(network: NetworkInfo, v4: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "NetworkMode", network.network_mode)
    _put(out, "IPv4Addresses", list(network.ipv4_addresses))
    _put(out, "IPv6Addresses", list(network.ipv6_addresses))
    if v4:
        if network.attachment_index is not None:
            out["AttachmentIndex"] = network.attachment_index
        _put(out, "MACAddress", network.mac_address)
        _put(out, "IPv4SubnetCIDRBlock", network.ipv4_subnet_cidr_block)
        _put(out, "IPv6SubnetCIDRBlock", network.ipv6_subnet_cidr_block)
        _put(out, "DomainNameServers", list(network.domain_name_servers))
        _put(out, "DomainNameSearchList", list(network.domain_name_search_list))
        _put(out, "PrivateDNSName", network.private_dns_name)
        _put(out, "SubnetGatewayIpv4Address", network.subnet_gateway_ipv4_address)
        _put(out, "SubnetGatewayIpv6Address", network.subnet_gateway_ipv6_address)
    return out


def _health(health: HealthInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "status", "" if health.status == "UNKNOWN" else health.status)
    _put(out, "statusSince", _time(health.since))
    _put(out, "exitCode", health.exit_code)
    _put(out, "output", health.output)
    return out


def _volume(volume: VolumeInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "DockerName", volume.docker_name)
    _put(out, "Source", volume.source)
    _put(out, "Destination", volume.destination)
    return out


def container_response(container: ContainerMetadata, *, v4: bool) -> dict[str, Any]:
    """``ContainerResponse``: v3 is the v2 struct; v4 adds log/ARN fields and moves Networks last."""
    out: dict[str, Any] = {
        "DockerId": container.docker_id,
        "Name": container.name,
        "DockerName": container.docker_name,
        "Image": container.image,
        "ImageID": container.image_id,
    }
    _put(out, "Ports", [_port(port, v4) for port in container.ports])
    _put(out, "Labels", go_map(container.labels))
    out["DesiredStatus"] = container.desired_status
    out["KnownStatus"] = container.known_status
    if container.exit_code is not None:
        out["ExitCode"] = container.exit_code
    out["Limits"] = {"CPU": go_float(max(container.cpu, MINIMUM_CPU_UNITS)), "Memory": container.memory}
    _put(out, "CreatedAt", _time(container.created_at))
    _put(out, "StartedAt", _time(container.started_at))
    _put(out, "FinishedAt", _time(container.finished_at))
    out["Type"] = container.type
    networks = [_network(network, v4) for network in container.networks]
    if not v4:
        _put(out, "Networks", networks)
    if container.health is not None:
        out["Health"] = _health(container.health)
    _put(out, "Volumes", [_volume(volume) for volume in container.volumes])
    if v4:
        _put(out, "LogDriver", container.log_driver)
        _put(out, "LogOptions", go_map(container.log_options))
        _put(out, "ContainerARN", container.container_arn)
        # v4's own Networks field shadows the embedded v2 one, so Go writes it after the v2 fields.
        _put(out, "Networks", networks)
        _put(out, "Snapshotter", container.snapshotter)
        if container.restart_count is not None:
            out["RestartCount"] = container.restart_count
    return out


def task_response(task: TaskMetadata, *, v4: bool, with_tags: bool = False) -> dict[str, Any]:
    """``TaskResponse`` of v3 (the v2 struct) or v4 (v2 embedded, then the v4-only fields)."""
    out: dict[str, Any] = {
        "Cluster": task.cluster,
        "TaskARN": task.task_arn,
        "Family": task.family,
        "Revision": task.revision,
    }
    _put(out, "DesiredStatus", task.desired_status)
    out["KnownStatus"] = task.known_status
    containers = [container_response(container, v4=v4) for container in task.containers]
    if not v4:
        _put(out, "Containers", containers)
    if task.cpu or task.memory:
        limits: dict[str, Any] = {}
        _put(limits, "CPU", go_float(task.cpu))
        _put(limits, "Memory", task.memory)
        out["Limits"] = limits
    _put(out, "PullStartedAt", _time(task.pull_started_at))
    _put(out, "PullStoppedAt", _time(task.pull_stopped_at))
    _put(out, "ExecutionStoppedAt", _time(task.execution_stopped_at))
    _put(out, "AvailabilityZone", task.availability_zone)
    if with_tags:
        _put(out, "TaskTags", go_map(task.task_tags))
        _put(out, "ContainerInstanceTags", go_map(task.container_instance_tags))
    if v4:
        _put(out, "LaunchType", task.launch_type)
        _put(out, "Containers", containers)
        _put(out, "VPCID", task.vpc_id)
        _put(out, "ServiceName", task.service_name)
        _put(out, "Group", task.group)
        out["FaultInjectionEnabled"] = task.fault_injection_enabled
        _put(out, "AvailabilityZoneID", task.availability_zone_id)
    return out
