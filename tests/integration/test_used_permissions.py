"""The least-privilege policies a run reports are enough and no more: with each role reduced to its
generated policy alone, the same task runs again without a denial (and reports the same policies);
without one of the statements, that call is denied at its phase. Real Docker, embedded moto, gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from doc_examples import REPO

from simulator.api import Simulator
from simulator.diagnosis import PHASE_EXECUTION
from simulator.world import load_world

pytestmark = pytest.mark.docker

SAMPLE = REPO / "sample_tasks" / "hello-both-roles"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(load_world(SAMPLE / "world.yaml")) as simulator:
        yield simulator


def _reduce_to(sim: Simulator, policies: dict[str, dict[str, Any]]) -> None:
    """Each role keeps only ``policies[its ARN]``, as an inline policy."""
    iam = sim.client("iam")
    for role_arn, policy in policies.items():
        role = role_arn.rsplit("/", 1)[-1]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
        iam.put_role_policy(RoleName=role, PolicyName="least-privilege", PolicyDocument=json.dumps(policy))
    assert sim.policies is not None
    sim.policies.invalidate()  # the admin client wrote past the gateway


def test_the_generated_policies_are_enough_and_no_more(sim: Simulator) -> None:
    first = sim.run_task(SAMPLE / "taskdef.json")
    first.assert_succeeded()
    policies = first.least_privilege_policies()
    execution_role = f"arn:aws:iam::{sim.world.account}:role/ecsTaskExecutionRole"
    assert set(policies) == {execution_role, f"arn:aws:iam::{sim.world.account}:role/app-task-role"}
    assert first.to_json()["leastPrivilegePolicies"] == policies

    _reduce_to(sim, policies)
    second = sim.run_task(SAMPLE / "taskdef.json")
    second.assert_succeeded()
    second.assert_not_denied()
    assert second.least_privilege_policies() == policies  # the log stream's task id is generalized

    statements = policies[execution_role]["Statement"]
    via_ssm = next(s for s in statements if s.get("Condition"))
    assert via_ssm["Action"] == "kms:Decrypt"
    _reduce_to(
        sim,
        {
            execution_role: {
                **policies[execution_role],
                "Statement": [s for s in statements if s is not via_ssm],
            }
        },
    )
    third = sim.run_task(SAMPLE / "taskdef.json")
    third.assert_stopped_with("TaskFailedToStart")
    third.assert_denied("kms:Decrypt", phase=PHASE_EXECUTION)
