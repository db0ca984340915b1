"""Failure wording per launch type: Fargate's platform strings, the agent's strings on EC2."""

from __future__ import annotations

import pytest

from simulator.ecs import failures
from simulator.ecs.failures import LaunchType

FARGATE, EC2 = LaunchType.FARGATE, LaunchType.EC2
DENIED = "AccessDeniedException: User: arn:aws:sts::1:assumed-role/r/t is not authorized to perform: x"


def test_ssm() -> None:
    assert failures.ssm_secrets_failed(EC2, "us-east-1", DENIED).stopped_reason == (
        f"Fetching secret data from SSM Parameter Store in us-east-1: {DENIED}"
    )
    assert failures.ssm_secrets_failed(FARGATE, "us-east-1", DENIED).stopped_reason == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
        f"failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): {DENIED}"
    )


def test_registry_auth() -> None:
    ec2 = failures.registry_auth_failed(EC2, "app", DENIED)
    assert ec2.container_reason == f"CannotPullECRContainerError: {DENIED}"
    fargate = failures.registry_auth_failed(FARGATE, "app", DENIED)
    assert fargate.stopped_reason.startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth"
    )
    assert fargate.stopped_reason.endswith(". Please check your task network configuration.")


def test_image_not_found() -> None:
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:v1"
    ec2 = failures.image_not_found(EC2, "app", image).container_reason
    assert ec2 == (
        "CannotPullContainerError: The task can’t pull the image. Check whether the image exists. Error response "
        "from daemon: pull access denied for 111122223333.dkr.ecr.us-east-1.amazonaws.com/app, repository does "
        "not exist or may require 'docker login': denied: requested access to the resource is denied"
    )
    fargate = failures.image_not_found(FARGATE, "app", image).container_reason
    assert fargate == (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
        f"{image}: {image}: not found"
    )


def test_logger() -> None:
    text = "ResourceNotFoundException: The specified log group does not exist."
    ec2 = failures.logger_failed(EC2, "app", "log stream", text).container_reason
    assert ec2 == (
        "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: "
        f"failed to create Cloudwatch log stream: {text}"
    )
    fargate = failures.logger_failed(FARGATE, "app", "log stream", text).container_reason
    assert fargate is not None
    assert fargate.startswith(
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    )


def test_asm_title_cases_the_first_word_on_ec2() -> None:
    reason = failures.asm_registry_auth_failed(EC2, "creds", DENIED).stopped_reason
    assert reason.startswith("Asm resource: asm fetching secret from the service for creds: ")


@pytest.mark.parametrize("launch", [FARGATE, EC2])
def test_runtime_reasons(launch: LaunchType) -> None:
    daemon = 'Error response from daemon: failed to create shim task: exec: "nope": executable file not found'
    start = failures.container_start_failed(launch, daemon)
    if launch is EC2:
        assert start == f"CannotStartContainerError: {daemon}"
    else:
        assert start == (
            "CannotStartContainerError: ResourceInitializationError: failed to create new container runtime "
            'task: failed to create shim task: exec: "nope": executable file not found'
        )
    assert failures.container_create_failed("Error response from daemon: x") == (
        "CannotCreateContainerError: Error response from daemon: x"
    )
    assert failures.OOM_REASON == "OutOfMemoryError: Container killed due to memory usage"
    assert (
        failures.dependency_failed("dependency graph: x") == "CannotStartContainerError: dependency graph: x"
    )


def test_reasons_are_trimmed_to_1024() -> None:
    assert len(failures.truncate("x" * 5000)) == failures.MAX_REASON_LENGTH == 1024
