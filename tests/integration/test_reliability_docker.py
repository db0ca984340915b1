"""Docker faults end in ECS's words and a clean stop: engine not running (exit 69, a message naming
it), an image that cannot be pulled (CannotPullContainerError), a container killed for memory
(OutOfMemoryError), the daemon refusing to create or start a container. Nothing is left behind."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from test_reliability_support import WORLD, container, nothing, of_owner, task_folder, taskdef

from simulator.api import Simulator
from simulator.docker import docker_client
from simulator.errors import EXIT_ENVIRONMENT

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


@pytest.fixture(scope="module")
def sim(client) -> Iterator[Simulator]:
    with Simulator(WORLD) as simulator:
        yield simulator
    assert nothing(of_owner(client, simulator.owner_id))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "docker_host",
    [f"unix://{Path('/nonexistent/ecs-sim/docker.sock')}", f"tcp://127.0.0.1:{_closed_port()}"],
    ids=["dead-socket", "closed-port"],
)
def test_engine_not_running(tmp_path: Path, docker_host: str) -> None:
    folder = task_folder(tmp_path, taskdef())
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp_path),
            "DOCKER_HOST": docker_host,
            "NO_COLOR": "1",
        },
    )
    assert done.returncode == EXIT_ENVIRONMENT, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "Docker engine is not reachable" in done.stderr, done.stderr
    assert docker_host in done.stderr, done.stderr


def test_image_that_cannot_be_pulled(sim) -> None:
    image = f"127.0.0.1:{_closed_port()}/missing/app:latest"
    result = sim.run_task(taskdef(container(image=image)))
    task = result.to_json()["task"]
    assert result.exit_code == 2, task
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:"), task["stoppedReason"]
    assert image in task["stoppedReason"]


def test_container_killed_for_memory(sim) -> None:
    # dd allocates and fills a 64 MiB buffer in a container limited to 8 MiB. It waits first: on cgroup v1
    # containerd watches for OOM only once the task has started, so Docker (and with it the ECS agent)
    # misses an OOM within the first milliseconds (docs/parity.md).
    hog = container(
        command=["sh", "-c", "sleep 0.5; exec dd if=/dev/zero of=/dev/null bs=64M count=4"], memory=8
    )
    result = sim.run_task(taskdef(hog))
    record = result.to_json()["task"]["containers"][0]
    assert record["reason"] == "OutOfMemoryError: Container killed due to memory usage", json.dumps(record)
    assert record["exitCode"] == 137
    assert result.exit_code == 1


def test_daemon_refusing_to_start_a_container(sim) -> None:
    result = sim.run_task(taskdef(container(command=["/no/such/binary"])))
    document = result.to_json()["task"]
    reasons = [document.get("stoppedReason", "")] + [c.get("reason", "") for c in document["containers"]]
    assert any(r.startswith("CannotStartContainerError:") for r in reasons), json.dumps(document)
    assert result.exit_code != 0


def test_daemon_refusing_to_create_a_container(sim) -> None:
    bad_host = container(extraHosts=[{"hostname": "db", "ipAddress": "not-an-ip"}])
    result = sim.run_task(taskdef(bad_host))
    record = result.to_json()["task"]["containers"][0]
    assert record["reason"].startswith("CannotCreateContainerError: Error response from daemon:"), record
    assert "not-an-ip" in record["reason"]
    assert result.exit_code != 0
