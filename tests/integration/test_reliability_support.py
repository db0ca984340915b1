"""Helpers shared by the cleanup, reliability, security and load tests (no tests here): Docker objects
and NAT rules a simulator left, task folders, the CLI as a child process, RSS, a registry that hangs."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import docker
import yaml

from simulator.docker import iptables
from simulator.docker.labels import MANAGED, OWNER, PID
from simulator.docker.network import NETWORK_PREFIX

IMAGE = "ecs-sim/busybox:latest"
ACCOUNT = "111122223333"
REGION = "us-east-1"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-task-role"

# Both roles, the execution role with the managed policy; a task role that may read one bucket.
WORLD: dict[str, Any] = {
    "account": ACCOUNT,
    "region": REGION,
    "roles": {
        "ecsTaskExecutionRole": {"managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "app-task-role": {
            "inline": {
                "read": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                }
            }
        },
    },
}


def container(name: str = "app", command: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A busybox container definition; ``stopTimeout`` 2 s, so a stop of ``sleep`` (PID 1 ignores
    SIGTERM) takes 2 s rather than ECS's default 30."""
    return {
        "name": name,
        "image": IMAGE,
        "essential": True,
        "command": command or ["true"],
        "stopTimeout": 2,
        **extra,
    }


def taskdef(*containers: dict[str, Any], family: str = "reliability", **extra: Any) -> dict[str, Any]:
    return {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": EXECUTION_ROLE,
        "taskRoleArn": TASK_ROLE,
        "containerDefinitions": list(containers) or [container()],
        **extra,
    }


def task_folder(folder: Path, definition: Mapping[str, Any], world: Mapping[str, Any] = WORLD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "taskdef.json").write_text(json.dumps(definition))
    (folder / "world.yaml").write_text(yaml.safe_dump(dict(world)))
    return folder


def spawn_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """``ecs-sim ARGS`` as its own process (the pid is the simulator's, as its labels record)."""
    return subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def managed(client: docker.DockerClient, **labels: str) -> dict[str, list[str]]:
    """Names of the managed containers, networks and volumes carrying every label in ``labels``
    (keys are label names: use the constants, e.g. ``{PID: "123"}``)."""
    filters = {"label": [f"{MANAGED}=true", *(f"{k}={v}" for k, v in labels.items())]}
    return {
        "containers": [
            c.name for c in client.containers.list(all=True, filters=filters, ignore_removed=True)
        ],
        "networks": [n.name for n in client.networks.list(filters=filters)],
        "volumes": [v.name for v in client.volumes.list(filters=filters)],
    }


def of_process(client: docker.DockerClient, pid: int) -> dict[str, list[str]]:
    return managed(client, **{PID: str(pid)})


def of_owner(client: docker.DockerClient, owner_id: str) -> dict[str, list[str]]:
    return managed(client, **{OWNER: owner_id})


def nothing(objects: Mapping[str, list[str]]) -> bool:
    return not any(objects.values())


def rules_of(network_name: str) -> list[iptables.Rule]:
    return [rule for rule in iptables.list_owned() if rule.network_name == network_name]


def network_of_process(client: docker.DockerClient, pid: int) -> str:
    """The task network name of the simulator running as ``pid`` (once it has created it)."""
    names = wait_for(lambda: of_process(client, pid)["networks"], 60, f"the task network of pid {pid}")
    assert names[0].startswith(NETWORK_PREFIX)
    return str(names[0])


def running_containers(client: docker.DockerClient, pid: int) -> list[Any]:
    """The running containers of ``pid``'s tasks (not the network namespaces kept for tasks)."""
    task_container = "com.amazonaws.ecs.task-arn"
    filters = {"label": [f"{MANAGED}=true", f"{PID}={pid}", task_container], "status": "running"}
    return list(client.containers.list(filters=filters, ignore_removed=True))


def rss_kib(pid: int | None = None) -> int:
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class HangingRegistry:
    """A TCP listener on loopback that accepts and never answers: Docker's pull of
    ``127.0.0.1:PORT/...`` hangs in it (about 25 s before Docker gives up), keeping a task in phase 1."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def image(self) -> str:
        return f"127.0.0.1:{self.port}/app:latest"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)
            self.connected.set()

    def close(self) -> None:
        """Refuse from now on: wake the accept (shutdown does, close alone does not), drop the backlog
        and every held connection, so Docker's pull fails at once."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        for connection in self._held:
            connection.close()
