"""`ecs-sim` as a user runs it: exit codes, JSON on stdout, and a clear one-line message for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_tasks"


def ecs_sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def write_task(tmp_path: Path, containers: list[dict], **extra: object) -> Path:
    taskdef = {
        "family": "cli-test",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": containers,
        **extra,
    }
    path = tmp_path / "taskdef.json"
    path.write_text(json.dumps(taskdef))
    return path


def assert_clean_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_run_json_document(tmp_path: Path) -> None:
    done = ecs_sim("run", str(SAMPLES / "hello-both-roles"), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) >= {"task", "denials", "timeline"}
    assert document["task"]["lastStatus"] == "STOPPED"
    assert document["task"]["containers"][0]["exitCode"] == 0
    assert {entry["phase"] for entry in document["timeline"]} == {"execution", "runtime"}


def test_start_failure_exits_2_with_ecs_reason() -> None:
    done = ecs_sim("run", str(SAMPLES / "secret-on-task-role"), "--json")
    assert done.returncode == 2, done.stderr
    task = json.loads(done.stdout)["task"]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth"
    )


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "taskdef.json"
    path.write_text('{"family": "x",\n  "containerDefinitions": [}\n')
    assert_clean_error(ecs_sim("run", str(path)), 64, f"{path}:2:", "invalid JSON")


def test_unknown_field_is_named(tmp_path: Path) -> None:
    path = write_task(tmp_path, [{"name": "app", "image": "ecs-sim/busybox:latest", "memroy": 64}])
    assert_clean_error(ecs_sim("run", str(path)), 64, "containerDefinitions[0]", "memroy")


def test_bad_world_names_file_and_path(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text(
        "roles:\n  app:\n    trust: ecs-tasks\n    inline: {p: {Statement: [{Effect: Maybe, Action: '*', Resource: '*'}]}}\n"
    )
    path = write_task(tmp_path, [{"name": "app", "image": "ecs-sim/busybox:latest"}])
    assert_clean_error(ecs_sim("run", str(path), "--world", str(world)), 64, str(world), "roles.app.inline.p")


def test_missing_image_fails_to_start(tmp_path: Path) -> None:
    path = write_task(tmp_path, [{"name": "app", "image": "ecs-sim/no-such-image:1", "essential": True}])
    done = ecs_sim("run", str(path), "--json")
    assert done.returncode == 2, done.stderr
    task = json.loads(done.stdout)["task"]
    assert task["stopCode"] == "TaskFailedToStart"
    assert "CannotPullContainerError" in task["stoppedReason"]


def test_role_ecs_cannot_assume() -> None:
    done = ecs_sim("run", str(SAMPLES / "execution-role-not-trusted"), "--json")
    assert done.returncode == 2, done.stderr
    document = json.loads(done.stdout)
    assert "ECS was unable to assume the role" in document["runTaskError"]["message"]


def test_unknown_secret_arn(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text(
        "account: '111122223333'\nroles:\n  exec:\n    trust: ecs-tasks\n"
        "    inline: {read: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 'secretsmanager:GetSecretValue', Resource: '*'}]}}\n"
    )
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:nope-AbCdEf"
    path = write_task(
        tmp_path,
        [{"name": "app", "image": "ecs-sim/busybox:latest", "secrets": [{"name": "X", "valueFrom": arn}]}],
        executionRoleArn="exec",
    )
    done = ecs_sim("run", str(path), "--world", str(world), "--json")
    assert done.returncode == 2, done.stderr
    reason = json.loads(done.stdout)["task"]["stoppedReason"]
    assert "ResourceNotFoundException" in reason and arn in reason


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert_clean_error(ecs_sim("run", str(tmp_path / "nope.json")), 64, "nope.json")


def test_check_exit_codes() -> None:
    assert ecs_sim("check", str(SAMPLES / "asm-json-key")).returncode == 0
    done = ecs_sim("check", str(SAMPLES / "secret-on-task-role"), "--json")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    denied = [r for r in document["required"] if not r["allowed"]]
    assert [r["action"] for r in denied] == ["secretsmanager:GetSecretValue"]
    assert "app-task-role" in document["denials"][0]["diagnosis"]


def test_check_runtime_actions() -> None:
    done = ecs_sim(
        "check",
        str(SAMPLES / "app-s3-denied"),
        "--json",
        "--task-role-actions",
        "s3:GetObject=arn:aws:s3:::app-data/hello.txt",
    )
    document = json.loads(done.stdout)
    runtime = [r for r in document["required"] if r["phase"] == "runtime"]
    assert runtime == [{**runtime[0], "action": "s3:GetObject", "allowed": False}]
    assert done.returncode == 0  # task start itself would succeed


def test_explain_prints_trace() -> None:
    done = ecs_sim(
        "explain",
        "--world",
        str(SAMPLES / "secret-on-task-role" / "world.yaml"),
        "--role",
        "app-task-role",
        "--action",
        "secretsmanager:GetSecretValue",
        "--resource",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "Allow"


def test_ecr_image_without_an_execution_role_fails_alike_in_run_and_check(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text(
        "account: '111122223333'\necr_repositories: {app: {images: {latest: 'ecs-sim/busybox:latest'}}}\n"
    )
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:latest"
    path = write_task(tmp_path, [{"name": "app", "image": image, "command": ["true"]}])
    expected = "CannotPullECRContainerError: engine ecr credentials: not found"
    ran = ecs_sim("run", str(path), "--world", str(world), "--json")
    assert ran.returncode == 2, ran.stderr
    assert json.loads(ran.stdout)["task"]["stoppedReason"] == expected
    checked = ecs_sim("check", str(path), "--world", str(world), "--json")
    assert checked.returncode == 2, checked.stderr
    assert json.loads(checked.stdout)["stoppedReason"] == expected


def test_a_host_aws_profile_that_does_not_exist_is_named_not_a_traceback(tmp_path: Path) -> None:
    """moto runs in the process and reads AWS_PROFILE; a missing profile made its answers 500s."""
    done = ecs_sim(
        "check",
        str(SAMPLES / "env-file-kms-no-decrypt"),
        env={"HOME": str(tmp_path), "AWS_PROFILE": "no-such-profile"},
    )
    assert done.returncode == 69, done.stderr
    assert "AWS_PROFILE: The config profile (no-such-profile) could not be found" in done.stderr
    assert "unset AWS_PROFILE" in done.stderr and "Traceback" not in done.stderr
