"""A validated task definition: a thin typed view over the original camelCase dict (``.raw``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContainerDefinition:
    raw: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def image(self) -> str:
        return self.raw["image"]

    @property
    def essential(self) -> bool:
        return self.raw.get("essential", True)  # ECS: essential unless it says otherwise

    @property
    def environment(self) -> dict[str, str]:
        """``environment`` as a dict (a later duplicate name wins, as in Docker)."""
        return {e["name"]: e.get("value", "") for e in self.raw.get("environment", []) if "name" in e}

    @property
    def secrets(self) -> Sequence[Mapping[str, str]]:
        return self.raw.get("secrets", [])

    @property
    def environment_files(self) -> Sequence[Mapping[str, str]]:
        return self.raw.get("environmentFiles", [])

    @property
    def depends_on(self) -> Sequence[Mapping[str, str]]:
        return self.raw.get("dependsOn", [])

    @property
    def log_configuration(self) -> Mapping[str, Any] | None:
        return self.raw.get("logConfiguration")

    @property
    def repository_credentials(self) -> str | None:
        return self.raw.get("repositoryCredentials", {}).get("credentialsParameter")

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass(frozen=True)
class TaskDefinition:
    raw: Mapping[str, Any]  # RegisterTaskDefinition input, camelCase, validated
    source: str

    @property
    def family(self) -> str:
        return self.raw["family"]

    @property
    def task_role_arn(self) -> str | None:
        return self.raw.get("taskRoleArn")

    @property
    def execution_role_arn(self) -> str | None:
        return self.raw.get("executionRoleArn")

    @property
    def network_mode(self) -> str:
        return self.raw.get("networkMode", "bridge")

    @property
    def cpu(self) -> str | None:
        return self.raw.get("cpu")

    @property
    def memory(self) -> str | None:
        return self.raw.get("memory")

    @property
    def containers(self) -> tuple[ContainerDefinition, ...]:
        return tuple(ContainerDefinition(c) for c in self.raw["containerDefinitions"])

    def container(self, name: str) -> ContainerDefinition | None:
        return next((c for c in self.containers if c.name == name), None)

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)
