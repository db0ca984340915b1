"""What the endpoint serves: credentials and containers, by unguessable id.

As on ECS, knowing an id is what grants access, so ids carry 128 random bits (the agent's UUID
format). Unregistered ids answer exactly like ids that never existed.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass

from .agent_api import AgentTask
from .credentials import TaskCredentials
from .metadata import StatsProvider, ViewProvider


def new_endpoint_id() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16)))


@dataclass(frozen=True)
class ContainerRegistration:
    view: ViewProvider
    stats: StatsProvider | None
    agent: AgentTask | None = None  # what the agent API (ECS_AGENT_URI) serves for the container's task


class EndpointRegistry:
    """Thread-safe: registered by the runner's threads, read by the server's request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: dict[str, bytes] = {}  # id -> ready-made 200 body
        self._containers: dict[str, ContainerRegistration] = {}

    def register_credentials(self, credentials: TaskCredentials) -> str:
        credentials_id = new_endpoint_id()
        body = credentials.body()
        with self._lock:
            self._credentials[credentials_id] = body
        return credentials_id

    def update_credentials(self, credentials_id: str, credentials: TaskCredentials) -> None:
        """Serve fresh credentials under a registered id (the agent's refresh); unknown ids: KeyError."""
        body = credentials.body()
        with self._lock:
            if credentials_id not in self._credentials:
                raise KeyError(credentials_id)
            self._credentials[credentials_id] = body

    def unregister_credentials(self, credentials_id: str) -> None:
        with self._lock:
            self._credentials.pop(credentials_id, None)

    def credentials_body(self, credentials_id: str) -> bytes | None:
        return self._credentials.get(credentials_id)  # a single dict read is atomic: no lock on the hot path

    def register_container(
        self, view: ViewProvider, stats: StatsProvider | None = None, agent: AgentTask | None = None
    ) -> str:
        endpoint_id = new_endpoint_id()
        with self._lock:
            self._containers[endpoint_id] = ContainerRegistration(view, stats, agent)
        return endpoint_id

    def unregister_container(self, endpoint_id: str) -> None:
        with self._lock:
            self._containers.pop(endpoint_id, None)

    def container(self, endpoint_id: str) -> ContainerRegistration | None:
        return self._containers.get(endpoint_id)
