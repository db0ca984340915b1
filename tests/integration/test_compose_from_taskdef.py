"""`ecs-sim compose`: the translation rules on their own, and the documented example end to end (the
derived project under `ecs-sim serve` and docker-compose, the sidecar healthy before the app starts)."""

from __future__ import annotations

import pytest
from test_compose import run_example
from test_serve import leftovers

from simulator.compose import compose_project
from simulator.taskdef import load_taskdef

TASK = {
    "family": "translate",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": "ecsTaskExecutionRole",
    "containerDefinitions": [
        {
            "name": "init",
            "image": "ecs-sim/busybox:latest",
            "essential": False,
            "command": ["sh", "-c", "echo $HOME"],
            "environment": [{"name": "PRICE", "value": "$5"}],
        },
        {
            "name": "app",
            "image": "ecs-sim/busybox:latest",
            "entryPoint": ["sh", "-c"],
            "command": ["sleep 1"],
            "workingDirectory": "/srv",
            "portMappings": [{"containerPort": 8080}],
            "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}],
            "healthCheck": {"command": ["CMD-SHELL", "true"], "startPeriod": 10},
            "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:111122223333:parameter/db"}],
        },
    ],
}


def test_translation() -> None:
    project = compose_project(load_taskdef(TASK))
    init, app = project.document["services"]["init"], project.document["services"]["app"]
    assert init["command"] == ["sh", "-c", "echo $$HOME"]  # the container's shell expands it, not compose
    assert init["environment"]["PRICE"] == "$$5"
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in init["environment"]  # no task role, no credentials
    assert init["environment"]["AWS_ENDPOINT_URL"] == "http://169.254.170.2:4566"
    assert app["entrypoint"] == ["sh", "-c"] and app["working_dir"] == "/srv"
    assert app["ports"] == ["8080:8080/tcp"]
    assert app["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    assert app["healthcheck"] == {
        "test": ["CMD-SHELL", "true"],
        "interval": "30s",
        "timeout": "5s",
        "retries": 3,
        "start_period": "10s",
    }
    assert project.document["networks"]["ecs-sim"] == {
        "external": True,
        "name": "${ECS_SIM_NETWORK:-ecs-sim-serve}",
    }
    assert any(note.startswith("app: secrets not translated") for note in project.notes)
    assert any("COMPLETE became service_completed_successfully" in note for note in project.notes)


def test_task_role_gives_the_credentials_uri() -> None:
    project = compose_project(load_taskdef(TASK | {"taskRoleArn": "app-task-role"}))
    for service in project.document["services"].values():
        assert (
            service["environment"]["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == "${ECS_SIM_CREDENTIALS_URI:-}"
        )


@pytest.mark.docker
def test_documented_example_runs_the_derived_project() -> None:
    done, network = run_example("compose-from-taskdef")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "app read hello from S3" in done.stdout
    assert "sidecar on " in done.stdout
    assert leftovers(network) == []


def test_documented_example_with_aws_hostnames() -> None:
    """The services get no AWS_ENDPOINT_URL: their SDK reaches the gateway at the AWS host names (the
    name server and CA bundle that serve hands compose)."""
    done, network = run_example("compose-aws-hostnames")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "app read hello from S3" in done.stdout
    assert leftovers(network) == []


def test_aws_hostnames_give_the_name_server_and_bundle_instead_of_the_endpoint_url() -> None:
    services = compose_project(load_taskdef(TASK), aws_hostnames=True).document["services"]
    for service in services.values():
        assert "AWS_ENDPOINT_URL" not in service["environment"]
        assert service["environment"]["AWS_CA_BUNDLE"] == "/etc/ecs-sim/aws-ca-bundle.pem"
        assert service["dns"] == ["${ECS_SIM_DNS:-169.254.170.2}"]
        assert service["volumes"][0].endswith(":/etc/ecs-sim/aws-ca-bundle.pem:ro")
