"""The credentials and task metadata endpoint that task containers reach at 169.254.170.2."""

from .credentials import TaskCredentials
from .docker_inspect import from_docker_inspect
from .metadata import (
    ContainerMetadata,
    ContainerView,
    HealthInfo,
    NetworkInfo,
    PortMapping,
    StatsProvider,
    TaskMetadata,
    ViewProvider,
    VolumeInfo,
)
from .server import EndpointServer
from .stats import docker_stats

__all__ = [
    "ContainerMetadata",
    "ContainerView",
    "EndpointServer",
    "HealthInfo",
    "NetworkInfo",
    "PortMapping",
    "StatsProvider",
    "TaskCredentials",
    "TaskMetadata",
    "ViewProvider",
    "VolumeInfo",
    "docker_stats",
    "from_docker_inspect",
]
