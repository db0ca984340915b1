"""The words ECS uses when a task fails to start, per launch type.

Fargate strings come from the Fargate platform (AWS docs, re:Post, public issue reports); EC2 strings
come from the ECS agent (aws/amazon-ecs-agent). Both are collected in ECS_AGENT_REFERENCE.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import ClientError

# ecs_client.go trims reasons to this length before sending them to the backend.
MAX_REASON_LENGTH = 1024

STOP_TASK_FAILED_TO_START = "TaskFailedToStart"
STOP_ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
STOP_USER_INITIATED = "UserInitiated"
STOP_SERVICE_SCHEDULER = "ServiceSchedulerInitiated"

REASON_ESSENTIAL_EXITED = "Essential container in task exited"
REASON_FAILED_TO_START = "Task failed to start"
REASON_USER_STOPPED = "Task stopped by user"  # StopTask without a reason: console, CLI, Ctrl-C here
# The service scheduler's reason when it replaces a task whose essential container is unhealthy;
# a task started by RunTask keeps running whatever its health (HealthCheck API reference).
REASON_FAILED_HEALTH_CHECKS = "Task failed container health checks"

# Container reasons at run time, the same on both launch types (the agent's named errors).
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
DEPENDENCY_EXIT_CODE = 143  # a container whose dependsOn can never be met is marked stopped with 143


class LaunchType(StrEnum):
    FARGATE = "FARGATE"
    EC2 = "EC2"


def sdk_error_text(error: ClientError) -> str:
    """An SDK error as the Go SDK prints it: `Code: message\\n\\tstatus code: 400, request id: ...`,
    flattened onto one line as ECS shows it."""
    err = error.response.get("Error", {})
    meta = error.response.get("ResponseMetadata", {})
    request_id = meta.get("RequestId") or str(uuid.uuid4())
    status = meta.get("HTTPStatusCode", 400)
    return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')} status code: {status}, request id: {request_id}"


def truncate(reason: str) -> str:
    return reason[:MAX_REASON_LENGTH]


@dataclass(frozen=True)
class StartFailure:
    """Why phase 1 stopped the task: the task's stoppedReason and the failing container's reason."""

    stopped_reason: str
    container_name: str | None = None
    container_reason: str | None = None


_FARGATE_EXEC = "ResourceInitializationError: unable to pull secrets or registry auth: "


def ssm_secrets_failed(launch: LaunchType, region: str, error_text: str) -> StartFailure:
    if launch is LaunchType.EC2:
        # ssmsecret.go: "fetching secret data from SSM Parameter Store in %s: %v", title-cased by SetTerminalReason.
        return StartFailure(f"Fetching secret data from SSM Parameter Store in {region}: {error_text}")
    return StartFailure(
        _FARGATE_EXEC + "execution resource retrieval failed: unable to retrieve secrets from ssm: "
        f"service call has been retried 1 time(s): {error_text}"
    )


def ssm_invalid_parameters(names: list[str]) -> str:
    # ssm.go: GetParameters answers InvalidParameters for names it does not know.
    return f"invalid parameters: {','.join(names)}"


def asm_secret_failed(
    launch: LaunchType, secret_arn: str, error_text: str, *, not_found: bool
) -> StartFailure:
    if launch is LaunchType.EC2:
        if not_found:
            detail = (
                f"ResourceNotFoundException: The task can't retrieve the secret with ARN '{secret_arn}' "
                f"from AWS Secrets Manager. Check whether the secret exists in the specified Region: {error_text}"
            )
        else:
            detail = f"secret {secret_arn}: {error_text}"
        return StartFailure(_title_first_word(f"ASM secret resource: {detail}"))
    return StartFailure(
        _FARGATE_EXEC + "execution resource retrieval failed: unable to retrieve secret from asm: "
        f"service call has been retried 1 time(s): failed to fetch secret {secret_arn} from secrets manager: "
        f"{error_text}"
    )


def asm_json_key_missing(launch: LaunchType, secret_arn: str, key: str) -> StartFailure:
    detail = f"retrieved secret from Secrets Manager did not contain json key {key}"
    if launch is LaunchType.EC2:
        return StartFailure(f"ASM secret resource: secret {secret_arn}: {detail}")
    return StartFailure(
        _FARGATE_EXEC + "execution resource retrieval failed: unable to retrieve secret from asm: "
        f"service call has been retried 1 time(s): {detail}"
    )


def registry_auth_failed(launch: LaunchType, container: str, error_text: str) -> StartFailure:
    if launch is LaunchType.EC2:
        reason = f"CannotPullECRContainerError: {error_text}"
        return StartFailure(reason, container, reason)
    return StartFailure(
        _FARGATE_EXEC + "execution resource retrieval failed: unable to retrieve ecr registry auth: "
        f"service call has been retried 3 time(s): {error_text}. Please check your task network configuration."
    )


def asm_registry_auth_failed(launch: LaunchType, secret_id: str, error_text: str) -> StartFailure:
    detail = f"asm fetching secret from the service for {secret_id}: {error_text}"
    if launch is LaunchType.EC2:
        return StartFailure(_title_first_word(f"asm resource: {detail}"))
    return StartFailure(
        _FARGATE_EXEC + "execution resource retrieval failed: unable to get registry auth from asm: "
        f"service call has been retried 1 time(s): {detail}"
    )


def image_pull_failed(launch: LaunchType, container: str, image: str, detail: str) -> StartFailure:
    """``detail`` is what the registry or daemon said, e.g. the daemon's "pull access denied ..." text."""
    if launch is LaunchType.EC2:
        reason = f"CannotPullContainerError: {_augment_pull_error(detail)}"
    else:
        reason = (
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {image}: {detail}"
        )
    return StartFailure(reason, container, reason)


def image_pull_denied(launch: LaunchType, container: str, image: str, denial: str) -> StartFailure:
    """ECR answered BatchGetImage with AccessDenied (``denial`` is AWS's "User: ... is not authorized" text)."""
    if launch is LaunchType.EC2:
        reason = "CannotPullContainerError: " + _augment_pull_error(
            f"Error response from daemon: pull access denied for {image.rsplit(':', 1)[0]}, repository does not "
            f"exist or may require 'docker login': denied: {denial}"
        )
        return StartFailure(reason, container, reason)
    host = image.split("/", 1)[0]
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    return image_pull_failed(
        launch,
        container,
        image,
        f"pulling from host {host} failed with status code [manifests {tag}]: 403 Forbidden",
    )


def image_not_found(launch: LaunchType, container: str, image: str) -> StartFailure:
    if launch is LaunchType.EC2:
        return image_pull_failed(
            launch,
            container,
            image,
            f"Error response from daemon: pull access denied for {image.rsplit(':', 1)[0]}, repository does not "
            "exist or may require 'docker login': denied: requested access to the resource is denied",
        )
    return image_pull_failed(launch, container, image, f"{image}: not found")


def _augment_pull_error(raw: str) -> str:
    # error_messages.go prefixes known daemon errors with advice (note the curly apostrophe).
    if "is not authorized to perform: ecr:BatchGetImage" in raw:
        advice = "Check that the role has the permissions to pull images from the registry."
    elif "requested access to the resource is denied" in raw:
        advice = "Check whether the image exists."
    else:
        return raw
    return f"The task can’t pull the image. {advice} {raw}"


def env_file_failed(launch: LaunchType, bucket: str, key: str, error_text: str) -> StartFailure:
    if launch is LaunchType.EC2:
        return StartFailure(
            _title_first_word(
                f"unable to download env file with key {key} from bucket {bucket}, error: {error_text}"
            )
        )
    return StartFailure(
        "ResourceInitializationError: failed to download env files: file download command: non empty error "
        f"stream: service call has been retried 5 time(s): {error_text}"
    )


def logger_failed(launch: LaunchType, container: str, what: str, error_text: str) -> StartFailure:
    """``what`` is "log group" or "log stream": the awslogs driver creates them when the container starts."""
    detail = f"failed to create Cloudwatch {what}: {error_text}"
    if launch is LaunchType.EC2:
        reason = f"CannotStartContainerError: Error response from daemon: failed to initialize logging driver: {detail}"
        return StartFailure(reason, container, reason)
    step = "create group" if what == "log group" else "create stream"
    reason = (
        f"ResourceInitializationError: failed to validate logger args: {step} has been retried 1 times: "
        f"{detail} : exit status 1"
    )
    return StartFailure(reason, container, reason)


def container_create_failed(daemon_text: str) -> str:
    """A container reason for Docker refusing to create the container (both launch types)."""
    return f"CannotCreateContainerError: {daemon_text}"


def container_start_failed(launch: LaunchType, daemon_text: str) -> str:
    """A container reason for Docker refusing to start the container. The agent passes the daemon's
    text on; Fargate's runtime reports it from containerd, without the daemon's prefix."""
    if launch is LaunchType.EC2:
        return f"CannotStartContainerError: {daemon_text}"
    detail = daemon_text.removeprefix("Error response from daemon: ")
    return f"CannotStartContainerError: ResourceInitializationError: failed to create new container runtime task: {detail}"


def dependency_failed(graph_error: str) -> str:
    """A container reason for a dependsOn that can never be met (graph.go, marked with exit code 143)."""
    return f"CannotStartContainerError: {graph_error}"


# The agent's words when a task resource needs execution-role credentials the task does not have.
_NO_EXECUTION_ROLE_CREDENTIALS = {
    "ssm-secrets": "ssm secret resource: unable to find execution role credentials",
    "asm-secret": "ASM secret resource: unable to find execution role credentials",
    "env-file": "environment file resource: unable to find execution role credentials",
    "registry-auth": "asm resource: unable to find execution role credentials",
}


def no_execution_role(step_kinds: set[str], container: str | None) -> StartFailure:
    """Task-start steps of ``step_kinds`` need AWS but the task has no execution role."""
    for kind, text in _NO_EXECUTION_ROLE_CREDENTIALS.items():
        if kind in step_kinds:
            return StartFailure(_title_first_word(text))
    reason = "CannotPullECRContainerError: engine ecr credentials: not found"
    return StartFailure(reason, container, reason)


def _title_first_word(text: str) -> str:
    # task.go SetTerminalReason: strings.Fields, strings.Title on the first word, joined by single spaces.
    words = text.split()
    if not words:
        return text
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)
