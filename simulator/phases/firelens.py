"""FireLens as the ECS agent sets it up: the log-router container and the ``awsfirelens`` log driver.

The agent gives every container whose ``logDriver`` is ``awsfirelens`` Docker's ``fluentd`` log driver,
pointed at a Unix socket in a per-task host directory, with the tag ``<container>-firelens-<task id>``
(``agent/engine/docker_task_engine.go``); the router container (the one with ``firelensConfiguration``)
gets that directory mounted at ``/var/run`` and is started before them (an implicit START dependency).

Fluent Bit is not available offline, so the router runs ``firelens_router.py`` on the ``ecs-sim/python``
image: it implements Fluent Bit's ``cloudwatch``/``cloudwatch_logs`` and ``s3`` outputs with the
container's credentials, i.e. the task role, as in production.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import Mount

from .task_start.ecr import parse_ecr_image

ROUTER_IMAGE = "ecs-sim/python:latest"
ROUTER_SCRIPT = Path(__file__).with_name("firelens_router.py")
_SCRIPT_IN_CONTAINER = "/ecs-sim/firelens_router.py"
_SOCKET_DIR_IN_CONTAINER = "/var/run"
FIRELENS_DRIVER = "awsfirelens"


def router_of(containers: Sequence[Mapping[str, Any]]) -> str | None:
    """The name of the task's log-router container, if it has one."""
    return next((c["name"] for c in containers if c.get("firelensConfiguration")), None)


def uses_firelens(definition: Mapping[str, Any]) -> bool:
    return (definition.get("logConfiguration") or {}).get("logDriver") == FIRELENS_DRIVER


def tag(container: str, task_id: str) -> str:
    # fluentTagDockerFormat = "%s-firelens-%s"
    return f"{container}-firelens-{task_id}"


def pullable_router(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The router as phase 1 pulls it: an image from ECR goes through the real pull (and its permission
    checks); a public Fluent Bit image cannot be pulled offline, so the router image stands in for it."""
    if parse_ecr_image(definition["image"]) is not None:
        return dict(definition)
    return {**definition, "image": ROUTER_IMAGE}


def with_router_dependency(definition: Mapping[str, Any], router: str) -> dict[str, Any]:
    """The agent adds a START dependency on the router to every awsfirelens container."""
    depends_on = list(definition.get("dependsOn") or [])
    if not any(d.get("containerName") == router for d in depends_on):
        depends_on.append({"containerName": router, "condition": "START"})
    return {**definition, "dependsOn": depends_on}


@dataclass
class FireLens:
    """One task's FireLens plumbing: the socket directory and the router's configuration."""

    task_id: str
    router: str
    socket_dir: Path

    @classmethod
    def create(cls, task_id: str, router: str) -> FireLens:
        socket_dir = Path(tempfile.mkdtemp(prefix=f"ecs-sim-firelens-{task_id[:12]}-"))
        os.chmod(socket_dir, 0o777)  # the router may run as any user
        return cls(task_id, router, socket_dir)

    def app_log_options(self, container: str) -> dict[str, str]:
        """Docker log options of an awsfirelens container (fluentd driver)."""
        return {
            "fluentd-address": f"unix://{self.socket_dir}/fluent.sock",
            "fluentd-async-connect": "true",
            "tag": tag(container, self.task_id),
        }

    def app_environment(self) -> dict[str, str]:
        """What the agent adds to every container of an awsvpc task with FireLens, for Fluent clients."""
        return {"FLUENT_HOST": "127.0.0.1", "FLUENT_PORT": "24224"}

    def router_ready(self) -> bool:
        """The router listens: its socket exists in the shared directory."""
        return (self.socket_dir / "fluent.sock").exists()

    def router_mounts(self) -> list[Mount]:
        return [
            Mount(_SOCKET_DIR_IN_CONTAINER, str(self.socket_dir), type="bind"),
            Mount(_SCRIPT_IN_CONTAINER, str(ROUTER_SCRIPT), type="bind", read_only=True),
        ]

    def router_command(self) -> list[str]:
        return ["python3", "-u", _SCRIPT_IN_CONTAINER]

    def router_environment(
        self, containers: Sequence[Mapping[str, Any]], metadata: Mapping[str, str]
    ) -> dict[str, str]:
        """``ECS_SIM_FIRELENS_CONFIG``: one output per awsfirelens container, keyed by its tag."""
        outputs = {
            tag(c["name"], self.task_id): dict((c.get("logConfiguration") or {}).get("options") or {})
            for c in containers
            if uses_firelens(c)
        }
        return {"ECS_SIM_FIRELENS_CONFIG": json.dumps({"outputs": outputs, "metadata": dict(metadata)})}

    def remove(self) -> None:
        shutil.rmtree(self.socket_dir, ignore_errors=True)
