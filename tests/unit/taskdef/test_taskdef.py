"""Task definition loading: RegisterTaskDefinition input and describe output, ECS's rules, overrides."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import InputError
from simulator.taskdef import apply_overrides, load_taskdef, resolve_role_arn
from simulator.world import world_from_dict

GOOD: dict[str, Any] = {
    "family": "app",
    "executionRoleArn": "ecsTaskExecutionRole",
    "taskRoleArn": "arn:aws:iam::111122223333:role/app-task-role",
    "containerDefinitions": [
        {
            "name": "app",
            "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:latest",
            "memory": 128,
            "environment": [{"name": "A", "value": "1"}],
            "secrets": [
                {"name": "DB", "valueFrom": "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db"}
            ],
            "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::app-config/prod.env"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/app",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "a",
                },
            },
            "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
        },
        {
            "name": "init",
            "image": "ecs-sim/busybox:latest",
            "memory": 32,
            "essential": False,
            "command": ["true"],
        },
    ],
}


def good() -> dict[str, Any]:
    return copy.deepcopy(GOOD)


def container(data: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return data["containerDefinitions"][i]


def test_register_input_loads(tmp_path: Path) -> None:
    path = tmp_path / "taskdef.json"
    path.write_text(json.dumps(GOOD))
    taskdef = load_taskdef(path)
    assert taskdef.source == str(path)
    assert taskdef.family == "app"
    assert [c.name for c in taskdef.containers] == ["app", "init"]
    app = taskdef.container("app")
    assert app is not None and app.essential and app.environment == {"A": "1"}
    assert not taskdef.containers[1].essential
    assert taskdef.raw == GOOD  # the original camelCase dict


def test_describe_output_drops_read_only_fields() -> None:
    described = {
        "taskDefinition": {
            **good(),
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/app:3",
            "revision": 3,
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
            "compatibilities": ["EC2", "FARGATE"],
            "registeredAt": "2024-05-01T10:00:00.000Z",
            "registeredBy": "arn:aws:sts::111122223333:assumed-role/admin/me",
            "deregisteredAt": "2024-05-02T10:00:00.000Z",
        },
        "tags": [{"key": "team", "value": "payments"}],
    }
    taskdef = load_taskdef(described)
    assert taskdef.raw == {**GOOD, "tags": [{"key": "team", "value": "payments"}]}


def _bad(mutate: Any) -> dict[str, Any]:
    data = good()
    mutate(data)
    return data


BAD = [
    (lambda d: d.update(famly="x"), "famly", "Unknown parameter \"famly\"; did you mean 'family'?"),
    (lambda d: d.pop("family"), "family", 'Missing required parameter "family"'),
    (lambda d: container(d).update(memory="128"), "containerDefinitions[0].memory", "Invalid type"),
    (lambda d: container(d).update(memory=0), "containerDefinitions[0].memory", "at least 6 MiB"),
    (
        lambda d: container(d).pop("image"),
        "containerDefinitions[0].image",
        "Container.image should not be null",
    ),
    (lambda d: container(d).update(image=""), "containerDefinitions[0].image", "should not be null or empty"),
    (lambda d: container(d).update(envirnoment=[]), "containerDefinitions[0].envirnoment", "did you mean"),
    (
        lambda d: d["containerDefinitions"].append(container(d, 1)),
        "containerDefinitions[2].name",
        "Duplicate container name 'init'",
    ),
    (lambda d: container(d).update(name="bad name"), "containerDefinitions[0].name", "up to 255 letters"),
    (
        lambda d: container(d).update(essential=False),
        "containerDefinitions",
        "at least one essential container",
    ),
    (
        lambda d: container(d)["dependsOn"][0].update(containerName="nope"),
        "containerDefinitions[0].dependsOn[0].containerName",
        "'nope', which is not in the task definition",
    ),
    (
        lambda d: container(d)["dependsOn"][0].update(condition="HEALTHY"),
        "containerDefinitions[0].dependsOn[0].condition",
        "has no healthCheck",
    ),
    (
        lambda d: container(d)["dependsOn"][0].update(condition="DONE"),
        "containerDefinitions[0].dependsOn[0].condition",
        "must be one of: START, COMPLETE, SUCCESS, HEALTHY",
    ),
    (
        lambda d: container(d, 1).update(dependsOn=[{"containerName": "app", "condition": "START"}]),
        "containerDefinitions",
        "form a cycle",
    ),
    (
        lambda d: container(d)["secrets"][0].pop("valueFrom"),
        "containerDefinitions[0].secrets[0].valueFrom",
        'Missing required parameter "valueFrom"',
    ),
    (
        lambda d: container(d)["secrets"][0].update(valueFrom="arn:aws:s3:::b/k"),
        "containerDefinitions[0].secrets[0].valueFrom",
        "not the ARN of an SSM parameter",
    ),
    (
        lambda d: d.pop("executionRoleArn"),
        "executionRoleArn",
        "you must also specify a value for 'executionRoleArn'",
    ),
    (
        lambda d: container(d)["environmentFiles"][0].update(type="file"),
        "containerDefinitions[0].environmentFiles[0].type",
        "must be one of: s3",
    ),
    (
        lambda d: container(d)["environmentFiles"][0].update(value="s3://bucket/x.env"),
        "containerDefinitions[0].environmentFiles[0].value",
        "not an S3 object ARN",
    ),
    (
        lambda d: container(d)["environmentFiles"][0].update(value="arn:aws:s3:::b/x.txt"),
        "containerDefinitions[0].environmentFiles[0].value",
        ".env extension",
    ),
    (
        lambda d: container(d)["logConfiguration"]["options"].pop("awslogs-group"),
        "containerDefinitions[0].logConfiguration.options",
        "'awslogs-group'",
    ),
    (
        lambda d: container(d)["logConfiguration"].update(logDriver="cloudwatch"),
        "containerDefinitions[0].logConfiguration.logDriver",
        "must be one of",
    ),
    (
        lambda d: [c.pop("memory") for c in d["containerDefinitions"]],
        "containerDefinitions[0]",
        "At least one of 'memory' or 'memoryReservation' must be specified",
    ),
    (
        lambda d: container(d).update(memoryReservation=256),
        "containerDefinitions[0].memoryReservation",
        "less than or equal to 'memory'",
    ),
    (
        lambda d: d.update(
            requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="4096"
        ),
        "memory",
        "No Fargate configuration exists for given values: 256 CPU, 4096 memory.",
    ),
    (
        lambda d: d.update(requiresCompatibilities=["FARGATE"], cpu="256", memory="512"),
        "networkMode",
        "Fargate only supports network mode 'awsvpc'",
    ),
    (lambda d: d.update(cpu="lots"), "cpu", "Invalid 'cpu' setting"),
    (
        lambda d: container(d).update(healthCheck={"command": ["curl", "x"]}),
        "containerDefinitions[0].healthCheck.command",
        "CMD",
    ),
    (lambda d: d.update(containerDefinitions=[]), "containerDefinitions", "cannot be empty"),
    (
        lambda d: container(d).update(mountPoints=[{"sourceVolume": "data", "containerPath": "/data"}]),
        "containerDefinitions[0].mountPoints[0].sourceVolume",
        "volume 'data' is not defined in 'volumes'",
    ),
    (
        lambda d: container(d).update(volumesFrom=[{"sourceContainer": "nope"}]),
        "containerDefinitions[0].volumesFrom[0].sourceContainer",
        "'nope', which is not in the task definition",
    ),
    (
        lambda d: (d.update(networkMode="awsvpc"), container(d).update(links=["init"])),
        "containerDefinitions[0].links",
        "Links are not supported when networkMode=awsvpc.",
    ),
    (
        lambda d: (d.update(networkMode="host"), container(d).update(links=["init"])),
        "containerDefinitions[0].links",
        "only supported with the bridge network mode",
    ),
    (
        lambda d: (d.update(networkMode="awsvpc"), container(d).update(hostname="db")),
        "containerDefinitions[0].hostname",
        "hostname is not supported on container when networkMode=awsvpc.",
    ),
]


@pytest.mark.parametrize(("mutate", "where", "fragment"), BAD, ids=[f"{b[1]}:{b[2][:30]}" for b in BAD])
def test_bad_taskdef_names_field(mutate: Any, where: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        load_taskdef(_bad(mutate), source="taskdef.json")
    assert info.value.where == f"taskdef.json: {where}"
    assert fragment in info.value.message


def test_volumes_and_mount_points() -> None:
    data = good()
    data["volumes"] = [{"name": "data"}]
    container(data)["mountPoints"] = [{"sourceVolume": "data", "containerPath": "/data"}]
    container(data, 1)["volumesFrom"] = [{"sourceContainer": "app"}]
    assert load_taskdef(data).containers[0].get("mountPoints")[0]["sourceVolume"] == "data"


def test_every_problem_is_listed() -> None:
    data = good()
    data.pop("family")
    container(data)["secrets"][0].pop("name")
    with pytest.raises(InputError) as info:
        load_taskdef(data, source="taskdef.json")
    assert info.value.where == "taskdef.json: family"
    assert "\n  taskdef.json: containerDefinitions[0].secrets[0].name: Missing required parameter" in str(
        info.value
    )


def test_malformed_json_has_position(tmp_path: Path) -> None:
    path = tmp_path / "taskdef.json"
    path.write_text('{\n  "family": "x",\n  "containerDefinitions": [,]\n}')
    with pytest.raises(InputError, match=r"taskdef.json:3:28: invalid JSON: Expecting value"):
        load_taskdef(path)


def test_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "taskdef.json"
    path.write_text("[]")
    with pytest.raises(InputError, match=r"taskdef\.json: a task definition is a JSON object, got list"):
        load_taskdef(path)


def test_overrides() -> None:
    taskdef = load_taskdef(good())
    overridden = apply_overrides(
        taskdef,
        {
            "containerOverrides": [
                {
                    "name": "app",
                    "command": ["echo", "hi"],
                    "environment": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}],
                    "memory": 256,
                    "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::app-config/extra.env"}],
                }
            ],
            "taskRoleArn": "other-role",
            "cpu": "512",
        },
    )
    app = overridden.container("app")
    assert app is not None
    assert app.get("command") == ["echo", "hi"]
    assert app.environment == {"A": "2", "B": "3"}
    assert app.get("memory") == 256
    assert [f["value"] for f in app.environment_files] == [
        "arn:aws:s3:::app-config/prod.env",
        "arn:aws:s3:::app-config/extra.env",
    ]
    assert (overridden.task_role_arn, overridden.cpu) == ("other-role", "512")
    assert taskdef.container("app").environment == {"A": "1"}  # the original is untouched


@pytest.mark.parametrize(
    ("overrides", "where", "fragment"),
    [
        (
            {"containerOverrides": [{"name": "nope"}]},
            "overrides: containerOverrides[0].name",
            "Override for container named nope is not a container in the TaskDefinition.",
        ),
        (
            {"containerOverrides": [{"name": "app", "image": "x"}]},
            "overrides: containerOverrides[0].image",
            'Unknown parameter "image"',
        ),
        ({"taskRoleArn": 5}, "overrides: taskRoleArn", "Invalid type"),
        (
            {"containerOverrides": [{"name": "app", "memory": 1}]},
            "taskdef.json: containerDefinitions[0].memory",
            "at least 6 MiB",
        ),
    ],
)
def test_bad_overrides(overrides: dict[str, Any], where: str, fragment: str) -> None:
    taskdef = load_taskdef(good(), source="taskdef.json")
    with pytest.raises(InputError) as info:
        apply_overrides(taskdef, overrides)
    assert info.value.where == where
    assert fragment in info.value.message


def test_resolve_role_arn() -> None:
    world = world_from_dict({"account": "111122223333", "roles": {"svc": {"path": "/service/"}}})
    assert resolve_role_arn("app", world) == "arn:aws:iam::111122223333:role/app"
    assert resolve_role_arn("svc", world) == "arn:aws:iam::111122223333:role/service/svc"
    arn = "arn:aws:iam::444455556666:role/x"
    assert resolve_role_arn(arn, world) == arn
    assert resolve_role_arn(None, world) is None
    with pytest.raises(InputError, match="not an IAM role ARN"):
        resolve_role_arn("arn:aws:iam::111122223333:user/x", world)
    with pytest.raises(InputError, match="neither a role ARN nor a role name"):
        resolve_role_arn("a/b", world)
