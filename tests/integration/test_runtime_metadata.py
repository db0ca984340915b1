"""TMDE v3/v4 from inside a task container on real Docker, read by the field names real tools use.

The field names asserted are those the OpenTelemetry ``awsecscontainermetrics`` receiver (and its
``ecsutil`` TaskMetadata / ContainerMetadata structs) and Docker-stats readers decode.
Needs Docker, root (iptables) and the ecs-sim/python image.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from simulator.api import Simulator

pytestmark = pytest.mark.docker

WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]}
    },
}
# Runs in the container: GET every metadata path and print one JSON document.
READER = r"""
import json, os, urllib.request, urllib.error
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
v4 = os.environ["ECS_CONTAINER_METADATA_URI_V4"]
v3 = os.environ["ECS_CONTAINER_METADATA_URI"]
out = {p: get(v4 + p) for p in ("", "/task", "/taskWithTags", "/stats", "/task/stats")}
out["v3"] = get(v3)
out["v3/task"] = get(v3 + "/task")
out["unknown"] = get(v4.rsplit("/", 1)[0] + "/not-an-id")
out["unknown/task"] = get(v4.rsplit("/", 1)[0] + "/not-an-id/task")
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def metadata() -> Iterator[tuple[dict[str, Any], Any]]:
    taskdef = {
        "family": "tmde",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [
            {
                "name": "reader",
                "image": "ecs-sim/python:latest",
                "cpu": 256,
                "memory": 256,
                "command": ["python3", "-c", READER],
                "portMappings": [{"containerPort": 8080}],
                "dockerLabels": {"team": "payments"},
                "dependsOn": [{"containerName": "sidecar", "condition": "HEALTHY"}],
            },
            {
                "name": "sidecar",
                "image": "ecs-sim/busybox:latest",
                "essential": False,
                "command": ["sleep", "300"],
                "stopTimeout": 1,
                "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 1},
            },
        ],
    }
    with Simulator(WORLD) as sim:
        result = sim.run_task(taskdef)
        yield json.loads(result.logs("reader")), result


def test_container_v4(metadata) -> None:
    out, result = metadata
    status, container = out[""]
    assert status == 200
    record = result.task.container("reader")
    assert container["DockerId"] == record.docker_id
    assert container["Name"] == "reader" and container["DockerName"].startswith("ecs-tmde-1-reader-")
    assert container["Image"] == "ecs-sim/python:latest" and container["ImageID"].startswith("sha256:")
    assert container["Labels"]["com.amazonaws.ecs.task-arn"] == result.task.task_arn
    assert container["Labels"]["com.amazonaws.ecs.container-name"] == "reader"
    assert container["Labels"]["team"] == "payments"
    assert container["DesiredStatus"] == "RUNNING" and container["KnownStatus"] == "RUNNING"
    assert container["Limits"] == {"CPU": 256, "Memory": 256}
    assert container["Type"] == "NORMAL" and container["ContainerARN"] == record.container_arn
    for stamp in ("CreatedAt", "StartedAt"):
        datetime.fromisoformat(container[stamp].replace("Z", "+00:00"))
    network = container["Networks"][0]
    assert network["NetworkMode"] == "awsvpc" and network["IPv4Addresses"][0].startswith("169.254.")
    port = container["Ports"][0]
    assert port["ContainerPort"] == 8080 and port["HostIp"] == "127.0.0.1" and port["HostPort"] > 0


def test_task_v4_as_the_otel_receiver_reads_it(metadata) -> None:
    out, result = metadata
    status, task = out["/task"]
    assert status == 200
    assert task["Cluster"] == "default" and task["TaskARN"] == result.task.task_arn
    assert task["Family"] == "tmde" and task["Revision"] == "1"
    assert task["KnownStatus"] == "RUNNING" and task["DesiredStatus"] == "RUNNING"
    assert task["LaunchType"] == "FARGATE" and task["AvailabilityZone"] == "us-east-1a"
    assert task["Limits"] == {"CPU": 0.5, "Memory": 1024}
    assert task["PullStartedAt"] <= task["PullStoppedAt"]
    assert task["FaultInjectionEnabled"] is False
    by_name = {c["Name"]: c for c in task["Containers"]}
    assert set(by_name) == {"reader", "sidecar"}
    sidecar = by_name["sidecar"]
    assert sidecar["Health"]["status"] == "HEALTHY" and "statusSince" in sidecar["Health"]
    assert sidecar["Limits"]["CPU"] == 2  # the agent reports at least 2 CPU units
    assert out["/taskWithTags"][0] == 200 and out["/taskWithTags"][1]["TaskARN"] == result.task.task_arn


def test_stats_are_dockers(metadata) -> None:
    out, result = metadata
    status, stats = out["/stats"]
    assert status == 200
    for key in ("read", "preread", "cpu_stats", "precpu_stats", "memory_stats", "networks", "blkio_stats"):
        assert key in stats, key
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and stats["memory_stats"]["usage"] > 0
    status, task_stats = out["/task/stats"]
    assert status == 200
    assert set(task_stats) == {c.docker_id for c in result.task.containers}


def test_v3_and_unknown_ids(metadata) -> None:
    out, _ = metadata
    status, container = out["v3"]
    assert status == 200 and "ContainerARN" not in container and container["Networks"]
    status, task = out["v3/task"]
    assert status == 200 and "LaunchType" not in task and len(task["Containers"]) == 2
    assert out["unknown"] == [
        404,
        "V4 container metadata handler: unable to get container ID from request: unable to get docker ID from "
        "v3 endpoint ID: not-an-id",
    ]
    assert out["unknown/task"] == [
        404,
        "V4 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint "
        "ID: not-an-id",
    ]
