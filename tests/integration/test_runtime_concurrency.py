"""Many tasks at once, in one simulator and in two: each has its own credentials, metadata ids and log
streams, and no container can read another task's credentials without knowing their unguessable id.

Needs Docker, root (iptables) and the ecs-sim/python image.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from simulator.api import Simulator

pytestmark = pytest.mark.docker

WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "role-a": {"trust": "ecs-tasks"},
        "role-b": {"trust": "ecs-tasks"},
    },
    "log_groups": ["/ecs/concurrency"],
}
PROBE = r"""
import json, os, time, urllib.request, urllib.error
def get(path):
    try:
        with urllib.request.urlopen("http://169.254.170.2" + path, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
uri = os.environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
status, creds = get(uri)
task = get(os.environ["ECS_CONTAINER_METADATA_URI_V4"].removeprefix("http://169.254.170.2") + "/task")[1]
guess = get("/v2/credentials/" + os.environ["GUESS"])
time.sleep(1)  # overlap with the other tasks
print(json.dumps({"uri": uri, "role": creds["RoleArn"], "key": creds["AccessKeyId"], "task": task["TaskARN"], "guess": guess}))
"""


# Embedded moto keeps one state per process: a second simulator in this process gets its own account.
OTHER_ACCOUNT = "444455556666"
OTHER_WORLD = {**WORLD, "account": OTHER_ACCOUNT}


def taskdef(role: str) -> dict[str, Any]:
    return {
        "family": "concurrency",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "ecsTaskExecutionRole",
        "taskRoleArn": role,
        "containerDefinitions": [
            {
                "name": "app",
                "image": "ecs-sim/python:latest",
                "command": ["python3", "-c", PROBE],
                "environment": [{"name": "GUESS", "value": str(uuid.uuid4())}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/concurrency",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }
        ],
    }


def check(sim: Simulator, results: list[Any], roles: list[str]) -> list[dict[str, Any]]:
    account = sim.world.account
    outputs = []
    for result, role in zip(results, roles, strict=True):
        out = json.loads(result.logs("app"))
        assert out["task"] == result.task.task_arn
        assert out["role"] == f"arn:aws:iam::{account}:role/{role}"
        assert out["guess"] == [
            400,
            {
                "code": "InvalidIdInRequest",
                "message": "CredentialsV2Request: Credentials not found",
                "HTTPErrorCode": 400,
            },
        ]
        stream = f"ecs/app/{result.task.task_id}"
        events = sim.client("logs").get_log_events(logGroupName="/ecs/concurrency", logStreamName=stream)[
            "events"
        ]
        assert [json.loads(e["message"])["task"] for e in events] == [result.task.task_arn]
        outputs.append(out)
    assert len({o["uri"] for o in outputs}) == len(outputs)  # one credentials id per task
    assert len({o["key"] for o in outputs}) == len(outputs)  # one role session per task
    for out in outputs:  # ids are random UUIDs: unguessable, as the agent's
        uuid.UUID(out["uri"].rsplit("/", 1)[1])
    return outputs


def test_many_tasks_in_one_simulator() -> None:
    roles = ["role-a", "role-b", "role-a", "role-b"]
    with Simulator(WORLD) as sim:
        runs = [sim.start_task(taskdef(role)) for role in roles]
        results = [run.wait(120) for run in runs]
        check(sim, results, roles)
        assert all(r.exit_code == 0 and not r.denials for r in results)


def test_two_simulators_at_once() -> None:
    with Simulator(WORLD) as first, Simulator(OTHER_WORLD) as second:
        assert first.network is not None and second.network is not None
        assert first.network.subnet != second.network.subnet
        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(
                lambda pair: pair[0].run_task(taskdef(pair[1])), [(first, "role-a"), (second, "role-b")]
            )
        check(first, [a], ["role-a"])
        check(second, [b], ["role-b"])
