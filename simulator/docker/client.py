"""Connecting to the Docker engine, with a clear message when it is not there."""

from __future__ import annotations

import os

import docker
import requests
from docker.errors import DockerException

from ..errors import EnvironmentProblem

_DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def docker_client() -> docker.DockerClient:
    """``docker.from_env()`` (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), checked with a ping."""
    where = os.environ.get("DOCKER_HOST") or _DEFAULT_SOCKET
    try:
        client = docker.from_env()
        client.ping()
    except (DockerException, requests.RequestException) as err:
        raise EnvironmentProblem(
            f"Docker engine is not reachable at {where}: {err}. Start it with scripts/setup-docker.sh"
        ) from err
    return client
