"""Docker-level faults end the task as ECS reports them, per launch type, and leave nothing behind.

Needs Docker, root (iptables) and the ecs-sim/busybox and ecs-sim/python images.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.api import Simulator
from simulator.docker.client import docker_client

pytestmark = pytest.mark.docker

WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "no-ssm-execution": {"trust": "ecs-tasks"},
    },
    "ecr_repositories": {"app": {"images": {"latest": "ecs-sim/busybox:latest"}}},
    "ssm_parameters": {"/app/token": {"value": "t0ken"}},
}
ECR_IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/app"


@pytest.fixture(scope="module", params=["FARGATE", "EC2"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(WORLD, launch_type=request.param) as simulator:
        yield simulator


def taskdef(*containers: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {
        "family": "faults",
        "requiresCompatibilities": ["FARGATE", "EC2"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "ecsTaskExecutionRole",
        "containerDefinitions": [{"image": "ecs-sim/busybox:latest", **c} for c in containers],
        **task,
    }


def assert_clean(sim: Simulator, result: Any) -> None:
    doc = result.to_json()["task"]
    assert doc["lastStatus"] == "STOPPED" and "stoppedAt" in doc, json.dumps(doc, default=str)
    left = docker_client().api.containers(
        all=True, filters={"label": f"com.amazonaws.ecs.task-arn={doc['taskArn']}"}
    )
    assert not left


def test_out_of_memory(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {
                "name": "hog",
                "image": "ecs-sim/python:latest",
                "memory": 64,
                "command": ["python3", "-c", "x = bytearray(512 * 1024 * 1024); print('survived')"],
            }
        )
    )
    hog = result.task.container("hog")
    assert hog.exit_code == 137 and hog.reason == "OutOfMemoryError: Container killed due to memory usage"
    assert result.task.stop_code == "EssentialContainerExited"
    assert_clean(sim, result)


def test_docker_refuses_to_create(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {"name": "app", "command": ["true"], "linuxParameters": {"capabilities": {"add": ["NOT_A_CAP"]}}}
        )
    )
    app = result.task.container("app")
    assert app.reason is not None and app.reason.startswith(
        "CannotCreateContainerError: Error response from daemon: "
    )
    assert "NOT_A_CAP" in app.reason and app.docker_id is None
    assert_clean(sim, result)


def test_docker_refuses_to_start(sim: Simulator) -> None:
    result = sim.run_task(taskdef({"name": "app", "command": ["/no/such/binary"]}))
    reason = result.task.container("app").reason or ""
    if sim.launch_type.value == "EC2":
        assert reason.startswith("CannotStartContainerError: Error response from daemon: "), reason
    else:
        assert reason.startswith(
            "CannotStartContainerError: ResourceInitializationError: failed to create new container runtime task: "
        ), reason
    assert "/no/such/binary" in reason
    assert_clean(sim, result)


def test_missing_image(sim: Simulator) -> None:
    result = sim.run_task(taskdef({"name": "app", "image": f"{ECR_IMAGE}:v9", "command": ["true"]}))
    reason = result.task.container("app").reason or ""
    assert reason.startswith("CannotPullContainerError: "), reason
    if sim.launch_type.value == "EC2":
        assert "The task can’t pull the image. Check whether the image exists." in reason
    else:
        assert reason.startswith("CannotPullContainerError: pull image manifest has been retried 5 time(s)")
    assert result.task.stop_code == "TaskFailedToStart" and result.failed_to_start
    assert_clean(sim, result)


def test_secret_denied_wording_per_launch_type(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {"name": "app", "command": ["true"], "secrets": [{"name": "TOKEN", "valueFrom": "/app/token"}]},
            executionRoleArn="no-ssm-execution",
        )
    )
    reason = result.task.stopped_reason or ""
    if sim.launch_type.value == "EC2":
        assert reason.startswith(
            "Fetching secret data from SSM Parameter Store in us-east-1: AccessDeniedException"
        ), reason
    else:
        assert reason.startswith(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
            "failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
            "AccessDeniedException"
        ), reason
    assert result.task.stop_code == "TaskFailedToStart"
    assert result.denied("ssm:GetParameters", phase="execution")
    assert_clean(sim, result)
