"""AWS managed keys (alias/aws/ssm ...) with the key policy AWS gives them: every principal of the
account may use the key through its service, without any kms permission of its own (so a SecureString
under the default key needs only ssm:GetParameters of the execution role, as ECS documents), and nobody
may use it directly, whatever its identity policy says. moto gives these keys an ordinary policy that
delegates to IAM; the policy store answers with AWS's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator.api import Simulator
from simulator.check import check_task
from simulator.taskdef import load_taskdef

pytestmark = pytest.mark.docker

ACCOUNT = "111122223333"


def _role(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"trust": "ecs-tasks", "inline": {"p": {"Version": "2012-10-17", "Statement": list(statements)}}}


WORLD = {
    "account": ACCOUNT,
    "region": "us-east-1",
    "roles": {
        "exec": _role({"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "*"}),
        "kms-everything": _role({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
    },
    "ssm_parameters": {"/app/token": {"type": "SecureString", "value": "t0k3n"}},  # under alias/aws/ssm
}
TASK = {
    "family": "aws-managed-key",
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": "exec",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "ecs-sim/busybox:latest",
            "command": ["sh", "-c", "echo token=$TOKEN"],
            "secrets": [{"name": "TOKEN", "valueFrom": "/app/token"}],
        }
    ],
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD) as simulator:
        yield simulator


def test_a_securestring_under_the_default_key_needs_no_kms_permission(sim: Simulator) -> None:
    result = sim.run_task(TASK)
    result.assert_succeeded()
    assert "token=t0k3n" in result.logs("app")
    assert any(p.action == "kms:Decrypt" and p.allowed for p in result.permissions)  # SSM asked, allowed
    assert check_task(sim, load_taskdef(TASK)).exit_code == 0


def test_nobody_uses_an_aws_managed_key_directly(sim: Simulator) -> None:
    key_arn = sim.client("kms").describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]["Arn"]
    principal = sim.role_principal(f"arn:aws:iam::{ACCOUNT}:role/kms-everything", "direct")
    assert principal is not None
    assert not sim.authorize(principal, "kms:Decrypt", key_arn).allowed
    through_ssm = {"kms:ViaService": "ssm.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    assert sim.authorize(principal, "kms:Decrypt", key_arn, through_ssm).allowed
    assert not sim.authorize(
        principal, "kms:Decrypt", key_arn, {**through_ssm, "kms:CallerAccount": "444455556666"}
    ).allowed
