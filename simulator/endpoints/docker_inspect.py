"""The container metadata Docker knows, read from ``docker inspect`` the way the agent reads it.

The runner adds what only the task knows (container name, image as written in the task definition,
cpu/memory, desired status, log configuration, ARN)::

    ContainerMetadata(name=..., image=..., cpu=..., memory=..., **from_docker_inspect(container.attrs))
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .metadata import HealthInfo, NetworkInfo, PortMapping, VolumeInfo

SIMULATOR_LABEL_PREFIX = "io.ecs-sim."  # the simulator's own bookkeeping, not the task's labels
_KNOWN_STATUS = {"created": "CREATED", "running": "RUNNING", "paused": "RUNNING", "restarting": "RUNNING"}
_HEALTH_STATUS = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}  # "starting" is UNKNOWN


def _time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 nano timestamps (to the microsecond); its zero time means never."""
    if not text or text.startswith("0001-01-01"):
        return None
    return datetime.fromisoformat(text)


def _ports(settings: Mapping[str, Any]) -> list[PortMapping]:
    ports = []
    for key, bindings in (settings.get("Ports") or {}).items():
        port, _, protocol = key.partition("/")
        for binding in bindings or []:  # unpublished ports have no binding: the agent lists none
            ports.append(
                PortMapping(int(port), protocol or "tcp", int(binding["HostPort"]), binding["HostIp"])
            )
    return ports


def _networks(settings: Mapping[str, Any]) -> list[NetworkInfo]:
    # v3/helper GetContainerNetworkMetadata: one entry per Docker network, its IPv4 address even if empty.
    return [
        NetworkInfo(
            name,
            [network.get("IPAddress", "")],
            [network["GlobalIPv6Address"]] if network.get("GlobalIPv6Address") else [],
        )
        for name, network in (settings.get("Networks") or {}).items()
    ]


def _health(state: Mapping[str, Any]) -> HealthInfo | None:
    health = state.get("Health")
    if not health:
        return None
    last = (health.get("Log") or [{}])[-1]
    return HealthInfo(
        status=_HEALTH_STATUS.get(health.get("Status", ""), "UNKNOWN"),
        since=_time(last.get("End")),
        exit_code=last.get("ExitCode", 0),
        output=last.get("Output", ""),
    )


def from_docker_inspect(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`ContainerMetadata` taken from a container's inspect document."""
    state = attrs.get("State") or {}
    settings = attrs.get("NetworkSettings") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    stopped = state.get("Status") in ("exited", "dead")
    restart_policy = ((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name", "")
    return {
        "docker_id": attrs["Id"],
        "docker_name": attrs.get("Name", "").lstrip("/"),
        "image_id": attrs.get("Image", ""),
        "labels": {k: v for k, v in labels.items() if not k.startswith(SIMULATOR_LABEL_PREFIX)},
        "known_status": "STOPPED" if stopped else _KNOWN_STATUS.get(state.get("Status", ""), "PENDING"),
        "exit_code": state.get("ExitCode") if stopped else None,
        "created_at": _time(attrs.get("Created")),
        "started_at": _time(state.get("StartedAt")),
        "finished_at": _time(state.get("FinishedAt")),
        "ports": _ports(settings),
        "networks": _networks(settings),
        "health": _health(state),
        "volumes": [
            VolumeInfo(mount.get("Name", ""), mount.get("Source", ""), mount.get("Destination", ""))
            for mount in attrs.get("Mounts") or []
        ],
        "restart_count": attrs.get("RestartCount", 0) if restart_policy not in ("", "no") else None,
    }
