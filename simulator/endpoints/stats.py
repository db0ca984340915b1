"""Container stats from the Docker engine, in Docker's own JSON (what the agent passes through)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker
from docker.errors import NotFound

from .metadata import StatsProvider


def docker_stats(client: docker.DockerClient) -> StatsProvider:
    """A :data:`StatsProvider` asking ``client``; None for a container Docker no longer knows."""

    def stats(docker_id: str) -> Mapping[str, Any] | None:
        try:
            # Not one-shot: Docker samples twice so that precpu_stats is filled, as the agent's are.
            return client.api.stats(docker_id, stream=False)
        except NotFound:
            return None

    return stats
