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
        if _permission_denied(err):  # the engine runs; this user may not use it
            raise EnvironmentProblem(
                f"permission denied on the Docker engine at {where}: add this user to the docker group "
                "(`sudo usermod -aG docker $USER`, then log in again), or run as root"
            ) from err
        raise EnvironmentProblem(
            f"Docker engine is not reachable at {where}: {err}. Start it with scripts/setup-docker.sh"
        ) from err
    return client


def _permission_denied(err: BaseException) -> bool:
    """Whether a PermissionError lies under ``err`` (docker-py and requests wrap the socket's)."""
    causes: list[BaseException] = [err]
    seen: set[int] = set()
    while causes:
        cause = causes.pop()
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, PermissionError):
            return True
        causes += [a for a in cause.args if isinstance(a, BaseException)]
        causes += [c for c in (cause.__cause__, cause.__context__) if c is not None]
    return False
