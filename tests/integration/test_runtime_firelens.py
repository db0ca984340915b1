"""FireLens on real Docker: the app's awsfirelens logs reach the router through Docker's fluentd driver,
and the router ships them to CloudWatch Logs / S3 with the task role, which may be denied.

Needs Docker, root (iptables) and the ecs-sim/busybox and ecs-sim/python images.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.api import Simulator

pytestmark = pytest.mark.docker

ALLOW_LOGS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::firelens-bucket/*"},
    ],
}
NOTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
}
WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "router-ok": {"trust": "ecs-tasks", "inline": {"ship": ALLOW_LOGS}},
        "router-denied": {"trust": "ecs-tasks", "inline": {"nothing": NOTHING}},
    },
    "log_groups": ["/ecs/firelens"],
    "s3_buckets": {"firelens-bucket": {}},
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD) as simulator:
        yield simulator


def firelens_task(task_role: str, output: dict[str, str]) -> dict[str, Any]:
    return {
        "family": "firelens",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "ecsTaskExecutionRole",
        "taskRoleArn": task_role,
        "containerDefinitions": [
            {
                "name": "log_router",
                "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
                "essential": True,
                "firelensConfiguration": {"type": "fluentbit"},
                "stopTimeout": 5,
            },
            {
                "name": "app",
                "image": "ecs-sim/busybox:latest",
                "essential": True,
                "command": ["sh", "-c", "echo first line; echo second line"],
                "logConfiguration": {"logDriver": "awsfirelens", "options": output},
            },
        ],
    }


def test_router_ships_app_logs_to_cloudwatch_with_the_task_role(sim: Simulator) -> None:
    result = sim.run_task(
        firelens_task(
            "router-ok",
            {
                "Name": "cloudwatch",
                "region": "us-east-1",
                "log_group_name": "/ecs/firelens",
                "log_stream_prefix": "app-",
            },
        )
    )
    context = json.dumps(result.to_json(), default=str)
    stream = f"app-app-firelens-{result.task.task_id}"
    events = sim.client("logs").get_log_events(logGroupName="/ecs/firelens", logStreamName=stream)["events"]
    records = [json.loads(e["message"]) for e in events]
    assert [r["log"] for r in records] == ["first line", "second line"], context
    assert records[0]["source"] == "stdout" and records[0]["container_name"].startswith(
        "/ecs-firelens-1-app-"
    )
    assert records[0]["ecs_task_arn"] == result.task.task_arn
    assert records[0]["ecs_task_definition"] == "firelens:1" and records[0]["ecs_cluster"] == "default"
    assert result.logs("app") == "first line\nsecond line"  # Docker keeps a local copy (dual logging)
    assert result.exit_code == 0 and not result.denials, context


def test_task_role_without_put_log_events_fails_in_the_router(sim: Simulator) -> None:
    result = sim.run_task(
        firelens_task(
            "router-denied",
            {
                "Name": "cloudwatch_logs",
                "region": "us-east-1",
                "log_group_name": "/ecs/firelens",
                "log_stream_name": "denied",
            },
        )
    )
    context = json.dumps(result.to_json(), default=str)
    assert "AccessDeniedException" in result.logs("log_router"), context
    assert result.denied("logs:CreateLogStream", phase="runtime") or result.denied(
        "logs:PutLogEvents", phase="runtime"
    )
    denial = next(d for d in result.denials if d.phase == "runtime")
    assert denial.role_arn.endswith("role/router-denied"), context


def test_router_ships_to_s3(sim: Simulator) -> None:
    result = sim.run_task(
        firelens_task(
            "router-ok",
            {
                "Name": "s3",
                "region": "us-east-1",
                "bucket": "firelens-bucket",
                "s3_key_format": "/logs/$TAG/out",
            },
        )
    )
    key = f"logs/app-firelens-{result.task.task_id}/out"
    body = sim.client("s3").get_object(Bucket="firelens-bucket", Key=key)["Body"].read().decode()
    assert [json.loads(line)["log"] for line in body.splitlines()] == ["first line", "second line"]
