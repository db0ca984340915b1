"""The worlds, task definitions and small statistics the task benchmarks share.

Every task is a busybox container running ``true`` with an execution role and a task role, so both
phases run (RunTask trust check, task-role session and credentials registration included).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
IMAGE = "ecs-sim/busybox:latest"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-task-role"
BUCKET = "bench-config"
LOG_GROUP = "/ecs/bench"


def world(parameters: int = 0, secrets: int = 0, env_files: int = 0) -> dict[str, Any]:
    """A world with the two roles and ``parameters`` SSM SecureStrings, ``secrets`` Secrets Manager
    secrets and ``env_files`` S3 objects, all readable by the execution role."""
    return {
        "account": ACCOUNT,
        "region": REGION,
        "roles": {
            "ecsTaskExecutionRole": {
                "managed": ["AmazonECSTaskExecutionRolePolicy"],
                "inline": {
                    "start-inputs": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "ssm:GetParameters",
                                    "secretsmanager:GetSecretValue",
                                    "kms:Decrypt",
                                    "s3:GetObject",
                                    "s3:GetBucketLocation",
                                ],
                                "Resource": "*",
                            }
                        ],
                    }
                },
            },
            "app-task-role": {"inline": {"nothing": _allow("s3:ListAllMyBuckets")}},
        },
        "kms_keys": {"app-key": {"alias": "alias/app"}},
        "ssm_parameters": {
            f"/bench/p{i}": {"type": "SecureString", "value": f"v{i}", "key": "app-key"}
            for i in range(parameters)
        },
        "secrets": {f"bench/s{i}": {"value": f"secret-{i}"} for i in range(secrets)},
        "s3_buckets": {BUCKET: {"objects": {f"f{i}.env": f"FILE_{i}=x\n" for i in range(env_files)}}},
        "log_groups": [LOG_GROUP],
    }


def _allow(action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


def taskdef(
    parameters: int = 0,
    secrets: int = 0,
    env_files: int = 0,
    awslogs_containers: int = 0,
    command: Sequence[str] = ("true",),
    family: str = "bench",
) -> dict[str, Any]:
    """One essential ``true`` container taking the world's inputs, plus ``awslogs_containers`` extra
    non-essential containers logging with awslogs."""
    app: dict[str, Any] = {
        "name": "app",
        "image": IMAGE,
        "essential": True,
        "command": list(command),
        "secrets": [
            {"name": f"P{i}", "valueFrom": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bench/p{i}"}
            for i in range(parameters)
        ]
        + [
            {"name": f"S{i}", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench/s{i}"}
            for i in range(secrets)
        ],
        "environmentFiles": [
            {"type": "s3", "value": f"arn:aws:s3:::{BUCKET}/f{i}.env"} for i in range(env_files)
        ],
    }
    sidecars = [
        {
            "name": f"log{i}",
            "image": IMAGE,
            "essential": False,
            "command": ["true"],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": LOG_GROUP,
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "bench",
                },
            },
        }
        for i in range(awslogs_containers)
    ]
    return {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": EXECUTION_ROLE,
        "taskRoleArn": TASK_ROLE,
        "containerDefinitions": [app, *sidecars],
    }


def median_ms(seconds: Sequence[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def rss_kib(pid: int | None = None) -> int:
    """Resident set size from /proc (no psutil needed)."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/PID/status")
