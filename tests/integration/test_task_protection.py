"""Task scale-in protection from inside a real task container (``ECS_AGENT_URI``, urllib), authorized as
the task role's session: set and read, the agent's refusals, a task role without the permission, and
the permission put on the execution role instead. Needs Docker, root (iptables) and ecs-sim/python."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulator.api import Simulator
from simulator.result import TaskResult

pytestmark = pytest.mark.docker

ACCOUNT = "111122223333"
PROTECTION = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"], "Resource": "*"}
    ],
}
NOTHING_USEFUL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
}
WORLD = {
    "account": ACCOUNT,
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "execution-with-protection": {
            "trust": "ecs-tasks",
            "managed": ["AmazonECSTaskExecutionRolePolicy"],
            "inline": {"protection": PROTECTION},
        },
        "worker-role": {"trust": "ecs-tasks", "inline": {"protection": PROTECTION}},
        "plain-role": {"trust": "ecs-tasks", "inline": {"nothing-useful": NOTHING_USEFUL}},
    },
}
# Runs in the container: each request as (status, parsed body or None), all printed as one JSON document.
CLIENT = r"""
import json, os, urllib.request, urllib.error
state = os.environ["ECS_AGENT_URI"] + "/task-protection/v1/state"
def call(method, body=None, url=state):
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, json.loads(text) if text else None
out = {"uri": os.environ["ECS_AGENT_URI"], "metadata": os.environ["ECS_CONTAINER_METADATA_URI_V4"]}
task = call("GET", url=os.environ["ECS_CONTAINER_METADATA_URI_V4"] + "/task")[1]
out["service"] = [task.get("ServiceName"), task.get("Group")]
out["before"] = call("GET")
out["set"] = call("PUT", b'{"ProtectionEnabled": true, "ExpiresInMinutes": 60}')
out["get"] = call("GET")
out["bad_json"] = call("PUT", b'{"ProtectionEnabled": tru')
out["no_field"] = call("PUT", b'{"ExpiresInMinutes": 5}')
out["too_long"] = call("PUT", b'{"ProtectionEnabled": true, "ExpiresInMinutes": 2881}')
out["post"] = call("POST", b"{}")
out["unknown"] = call("GET", url=state.replace(os.environ["ECS_AGENT_URI"], "http://169.254.170.2/api/not-an-id"))
print(json.dumps(out))
"""


def taskdef(
    family: str, task_role: str | None, execution_role: str = "ecsTaskExecutionRole"
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{execution_role}",
        "containerDefinitions": [
            {"name": "worker", "image": "ecs-sim/python:latest", "command": ["python3", "-c", CLIENT]}
        ],
    }
    if task_role:
        definition["taskRoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/{task_role}"
    return definition


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD) as sim:
        yield sim


def run(
    sim: Simulator, definition: dict[str, Any], service: str | None = "queue-workers"
) -> tuple[dict[str, Any], TaskResult]:
    result = sim.run_task(definition, service=service)
    assert result.exit_code == 0, json.dumps(result.to_json(), indent=2, default=str)
    return json.loads(result.logs("worker")), result


def test_a_task_role_with_the_permission_sets_and_reads_protection(sim: Simulator) -> None:
    started = datetime.now(UTC)
    answers, result = run(sim, taskdef("protected-worker", "worker-role"))
    task_arn = result.task.task_arn
    endpoint_id = answers["metadata"].rsplit("/", 1)[-1]
    assert answers["uri"] == f"http://169.254.170.2/api/{endpoint_id}"
    assert answers["before"] == [
        200,
        {"protection": {"ExpirationDate": None, "ProtectionEnabled": False, "TaskArn": task_arn}},
    ]
    status, body = answers["set"]
    assert status == 200 and body["protection"]["ProtectionEnabled"] is True
    assert body["protection"]["TaskArn"] == task_arn
    expires = datetime.fromisoformat(body["protection"]["ExpirationDate"])
    assert started + timedelta(minutes=60) <= expires <= datetime.now(UTC) + timedelta(minutes=60)
    assert answers["get"] == answers["set"]
    assert answers["service"] == ["queue-workers", "service:queue-workers"]  # task metadata v4
    task = result.to_json()["task"]
    assert task["group"] == "service:queue-workers" and re.fullmatch(r"ecs-svc/\d{19}", task["startedBy"])
    assert answers["bad_json"] == [
        400,
        {
            "error": {
                "Code": "InvalidParameterException",
                "Message": "UpdateTaskProtection: failed to decode request",
            }
        },
    ]
    assert answers["no_field"] == [
        400,
        {
            "error": {
                "Arn": task_arn,
                "Code": "InvalidParameterException",
                "Message": "Invalid request: does not contain 'ProtectionEnabled' field",
            }
        },
    ]
    status, body = answers["too_long"]
    assert status == 400 and body["error"]["Code"] == "InvalidParameterException" and body["requestID"]
    assert answers["post"] == [405, None]
    assert answers["unknown"] == [
        404,
        {"error": {"Code": "ResourceNotFoundException", "Message": "Failed to find a task for the request"}},
    ]
    assert result.denials == []


def test_a_standalone_task_cannot_be_protected(sim: Simulator) -> None:
    answers, result = run(sim, taskdef("standalone-worker", "worker-role"), service=None)
    failure = {"failure": {"Arn": result.task.task_arn, "Detail": None, "Reason": "TASK_NOT_VALID"}}
    assert answers["before"] == [200, failure] and answers["set"] == [200, failure]
    assert answers["service"] == [None, "family:standalone-worker"]
    assert "startedBy" not in result.to_json()["task"]
    assert result.denials == []  # authorized: ECS refuses the task, not the caller


def test_a_task_without_a_task_role_is_refused_by_the_agent(sim: Simulator) -> None:
    answers, result = run(sim, taskdef("roleless-worker", None))
    refusal = {
        "error": {
            "Arn": result.task.task_arn,
            "Code": "AccessDeniedException",
            "Message": "Invalid Request: no task IAM role credentials available for task",
        }
    }
    assert answers["before"] == [403, refusal]
    assert answers["set"] == [403, refusal]
    assert result.denials == []  # no ECS call was made


def denial_message(result: TaskResult, role: str, action: str) -> str:
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{result.task.task_id} is not authorized to perform: "
        f"{action} on resource: {result.task.task_arn} because no identity-based policy allows the {action} action"
    )


def test_a_task_role_without_the_permission_is_denied_by_ecs(sim: Simulator) -> None:
    answers, result = run(sim, taskdef("unprotected-worker", "plain-role"))
    update = denial_message(result, "plain-role", "ecs:UpdateTaskProtection")
    status, body = answers["set"]
    assert status == 400
    assert body["error"] == {"Arn": result.task.task_arn, "Code": "AccessDeniedException", "Message": update}
    assert body["requestID"]
    assert answers["before"][0] == 400
    assert answers["before"][1]["error"]["Message"] == denial_message(
        result, "plain-role", "ecs:GetTaskProtection"
    )
    denials = {d.action: d for d in result.denials}
    assert set(denials) == {"ecs:UpdateTaskProtection", "ecs:GetTaskProtection"}
    denial = denials["ecs:UpdateTaskProtection"]
    assert denial.phase == "runtime"
    assert denial.role_arn == f"arn:aws:iam::{ACCOUNT}:role/plain-role"
    assert denial.resource == result.task.task_arn
    assert (denial.error_code, denial.message) == ("AccessDeniedException", update)
    assert "the ECS agent makes this call itself, with the task role's credentials" in denial.diagnosis
    assert "`plain-role`" in denial.diagnosis
    assert not denial.other_role_allows
    assert denial.fix == {
        "Effect": "Allow",
        "Action": "ecs:UpdateTaskProtection",
        "Resource": result.task.task_arn,
    }


def test_the_permission_on_the_execution_role_is_diagnosed_as_the_wrong_role(sim: Simulator) -> None:
    answers, result = run(sim, taskdef("misplaced-worker", "plain-role", "execution-with-protection"))
    assert answers["set"][0] == 400
    denial = next(d for d in result.denials if d.action == "ecs:UpdateTaskProtection")
    assert denial.role_arn.endswith("role/plain-role")
    assert denial.other_role_allows
    assert "`execution-with-protection` (the task execution role) allows ecs:UpdateTaskProtection" in (
        denial.diagnosis
    )
    assert "add it to `plain-role`" in denial.diagnosis
