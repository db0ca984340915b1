"""Both phases on real Docker + embedded moto: secrets injected at task start, task-role credentials at
runtime, and no other credentials anywhere in a task container."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from simulator.api import Simulator
from simulator.ecs.lifecycle import ContainerStatus

pytestmark = pytest.mark.docker

ACCOUNT = "111122223333"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db"
WORLD: dict[str, Any] = {
    "account": ACCOUNT,
    "roles": {
        "exec-role": {
            "trust": "ecs-tasks",
            "inline": {
                "secrets": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["ssm:GetParameters", "secretsmanager:GetSecretValue", "kms:Decrypt"],
                            "Resource": "*",
                        }
                    ],
                }
            },
        },
        "task-role": {"trust": "ecs-tasks"},
    },
    "kms_keys": {"app-key": {"alias": "alias/app"}},
    "ssm_parameters": {"/app/token": {"type": "SecureString", "value": "ssm-secret-value", "key": "app-key"}},
    "secrets": {"app/db": {"value": {"password": "asm-secret-value"}}},
}
PRINT_ENV = "import json, os, time; print(json.dumps(dict(os.environ)), flush=True); time.sleep(60)"


def taskdef() -> dict[str, Any]:
    return {
        "family": "phases",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "exec-role",
        "taskRoleArn": "task-role",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "ecs-sim/python:latest",
                "command": ["python3", "-c", PRINT_ENV],
                "stopTimeout": 2,
                "secrets": [
                    {"name": "FROM_SSM", "valueFrom": "/app/token"},
                    {"name": "FROM_ASM", "valueFrom": f"{SECRET}:password::"},
                ],
                "environment": [{"name": "PLAIN", "value": "plain"}],
            }
        ],
    }


def wait_for(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_secrets_injected_and_no_foreign_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Host credentials (environment and ~/.aws files) must never reach a task container.
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[host-profile]\naws_access_key_id = AKIAHOSTFILE00000000\naws_secret_access_key = file-secret\n"
    )
    (tmp_path / "config").write_text("[profile host-profile]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTKEY000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    monkeypatch.setenv("AWS_PROFILE", "host-profile")
    with Simulator(WORLD) as sim:
        run = sim.start_task(taskdef())
        wait_for(lambda: run.result.logs("app").startswith("{"))
        env = json.loads(run.result.logs("app").splitlines()[0])
        record = run.task.container("app")
        assert record.last_status == ContainerStatus.RUNNING
        inspected = docker.from_env().api.inspect_container(record.docker_id)
        docker_env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
        execution_keys = [
            s.access_key_id for s in [sim.sessions.lookup(k) for k in list(sim.sessions._sessions)] if s
        ]
        run.stop()
        result = run.wait(60)

    for seen in (env, docker_env):
        assert seen["FROM_SSM"] == "ssm-secret-value"  # decrypted SecureString
        assert seen["FROM_ASM"] == "asm-secret-value"  # the JSON key, not the document
        assert seen["PLAIN"] == "plain"
        assert seen["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].startswith("/v2/credentials/")
        assert seen["ECS_CONTAINER_METADATA_URI_V4"].startswith("http://169.254.170.2/v4/")
        for forbidden in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            assert forbidden not in seen
        flat = json.dumps(seen)
        for host_value in ("AKIAHOSTKEY", "host-secret", "AKIAHOSTFILE", "file-secret", "host-profile"):
            assert host_value not in flat
        for key in execution_keys:  # neither the execution role's key nor the task role's is in the env
            assert key not in flat
    assert result.task.stop_code == "UserInitiated"
    assert not result.denials


def test_task_role_credentials_reach_unmodified_boto3() -> None:
    world = {
        "account": ACCOUNT,
        "roles": {
            "task-role": {
                "trust": "ecs-tasks",
                "inline": {
                    "read": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}
                        ],
                    }
                },
            }
        },
        "s3_buckets": {"data": {"objects": {"k.txt": "only-with-task-role"}}},
    }
    script = (
        "import boto3; s = boto3.Session(); c = s.get_credentials(); print('method', c.method); "
        "print(boto3.client('sts').get_caller_identity()['Arn']); "
        "print(boto3.client('s3').get_object(Bucket='data', Key='k.txt')['Body'].read().decode())"
    )
    definition = {
        "family": "s3-reader",
        "cpu": "256",
        "memory": "512",
        "taskRoleArn": "task-role",
        "containerDefinitions": [
            {"name": "app", "image": "ecs-sim/python:latest", "command": ["python3", "-c", script]}
        ],
    }
    with Simulator(world) as sim:
        result = sim.run_task(definition)
    logs = result.logs("app")
    assert result.exit_code == 0, logs
    assert "method container-role" in logs
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/task-role/" in logs
    assert "only-with-task-role" in logs


def test_policy_changed_through_the_admin_client_applies_to_the_next_task() -> None:
    world = {
        "account": ACCOUNT,
        "roles": {"task-role": {"trust": "ecs-tasks"}},
        "s3_buckets": {"data": {"objects": {"k.txt": "granted later"}}},
    }
    script = "import boto3; print(boto3.client('s3').get_object(Bucket='data', Key='k.txt')['Body'].read().decode())"
    definition = {
        "family": "grant-later",
        "cpu": "256",
        "memory": "512",
        "taskRoleArn": "task-role",
        "containerDefinitions": [
            {"name": "app", "image": "ecs-sim/python:latest", "command": ["python3", "-c", script]}
        ],
    }
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    with Simulator(world) as sim:
        before = sim.run_task(definition)
        sim.client("iam").put_role_policy(
            RoleName="task-role", PolicyName="grant", PolicyDocument=json.dumps(grant)
        )
        after = sim.run_task(definition)
    assert before.denied("s3:GetObject", phase="runtime") and before.exit_code == 1
    assert after.exit_code == 0 and "granted later" in after.logs("app"), after.to_json()
