"""RunTask's trust check follows trust policy changes at once (the trust policy is cached between tasks
until a write goes through the admin client or the gateway): a revoked trust refuses the next task with
ECS's text, a restored one lets it run.

Needs Docker, root (iptables) and the ecs-sim/busybox image.
"""

from __future__ import annotations

import json

import pytest

from simulator.api import Simulator
from simulator.ecs.trust import unable_to_assume_message

pytestmark = pytest.mark.docker

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-task-role"
WORLD = {
    "account": ACCOUNT,
    "region": "us-east-1",
    "roles": {"app-task-role": {"trust": "ecs-tasks"}},
}
TASKDEF = {
    "family": "trust",
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "taskRoleArn": ROLE,
    "containerDefinitions": [{"name": "app", "image": "ecs-sim/busybox:latest", "command": ["true"]}],
}


def trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def test_a_trust_policy_change_decides_the_next_runtask() -> None:
    with Simulator(WORLD) as sim:
        assert sim.run_task(TASKDEF).run_task_error is None
        iam = sim.client("iam")
        iam.update_assume_role_policy(RoleName="app-task-role", PolicyDocument=trust("ec2.amazonaws.com"))
        refused = sim.run_task(TASKDEF)
        assert refused.run_task_error == {
            "code": "ClientException",
            "message": unable_to_assume_message(ROLE),
        }
        iam.update_assume_role_policy(
            RoleName="app-task-role", PolicyDocument=trust("ecs-tasks.amazonaws.com")
        )
        assert sim.run_task(TASKDEF).exit_code == 0


def test_a_deleted_role_refuses_the_next_runtask() -> None:
    with Simulator(WORLD) as sim:
        assert sim.run_task(TASKDEF).exit_code == 0
        sim.client("iam").delete_role(RoleName="app-task-role")
        assert sim.run_task(TASKDEF).run_task_error == {
            "code": "ClientException",
            "message": unable_to_assume_message(ROLE),
        }
