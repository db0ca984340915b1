"""The shape every task-start unit has, and what the units hand to the runtime phase."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config

from ...ecs.failures import LaunchType, StartFailure


@dataclass(frozen=True)
class AwsCall:
    """One AWS API call a unit makes: enough for the gateway's mapping to name action and resource."""

    service: str
    operation: str  # botocore operation name, e.g. "GetParameters"
    params: Mapping[str, Any]


class StartFailed(Exception):
    def __init__(self, failure: StartFailure) -> None:
        super().__init__(failure.stopped_reason)
        self.failure = failure


@dataclass
class ContainerInputs:
    """What task start resolved for one container."""

    image: str = ""  # local Docker image to run
    image_digest: str | None = None
    env_files: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    log_group: str | None = None
    log_stream: str | None = None
    log_region: str | None = None


class ExecutionClients:
    """boto3 clients signed with the execution role's session, pointed at the gateway; the session and
    each client are made on first use (a client costs tens of milliseconds, and a task that reads no
    secret and pulls no ECR image needs none)."""

    def __init__(self, session_factory: Callable[[], boto3.Session], endpoint_url: str, region: str) -> None:
        self._session_factory = session_factory
        self._session: boto3.Session | None = None
        self._endpoint_url = endpoint_url
        self._region = region
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self._region)
        with self._lock:
            if key not in self._clients:
                if self._session is None:
                    self._session = self._session_factory()
                self._clients[key] = self._session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self._endpoint_url,
                    # The agent's own retries are reflected in the reason text; one attempt here.
                    config=Config(retries={"max_attempts": 1, "mode": "standard"}),
                )
            return self._clients[key]


@dataclass(frozen=True)
class StartContext:
    launch: LaunchType
    region: str
    account: str
    task_id: str


class StartUnit(Protocol):
    kind: str
    container: str | None
    why: str  # which role makes these calls, and why that one

    def calls(self) -> list[AwsCall]: ...

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        """Do the work; raise StartFailed with ECS's wording on the first failure."""
        ...
