"""The awslogs log driver's set-up: CreateLogGroup (awslogs-create-group) and CreateLogStream, made with
the execution role when the container starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ...ecs import failures
from .units import AwsCall, ContainerInputs, ExecutionClients, StartContext, StartFailed

WHY_LOGS = (
    "the awslogs log driver creates the log group/stream and ships container output with the task "
    "execution role; the application's task role is not involved"
)


def log_stream_name(options: dict[str, str], container: str, task_id: str) -> str:
    prefix = options.get("awslogs-stream-prefix")
    # Without a prefix the agent names the stream after the Docker container; the task id stands in.
    return f"{prefix}/{container}/{task_id}" if prefix else task_id


@dataclass
class AwsLogsSetup:
    ctx: StartContext
    container_name: str
    options: dict[str, str]
    kind: str = "awslogs"
    why: str = WHY_LOGS

    @property
    def container(self) -> str | None:
        return self.container_name

    @property
    def group(self) -> str:
        return self.options.get("awslogs-group", "")

    @property
    def region(self) -> str:
        return self.options.get("awslogs-region") or self.ctx.region

    @property
    def stream(self) -> str:
        return log_stream_name(self.options, self.container_name, self.ctx.task_id)

    def _creates_group(self) -> bool:
        return self.options.get("awslogs-create-group", "").lower() == "true"

    def calls(self) -> list[AwsCall]:
        calls = []
        if self._creates_group():
            calls.append(AwsCall("logs", "CreateLogGroup", {"logGroupName": self.group}))
        calls.append(
            AwsCall("logs", "CreateLogStream", {"logGroupName": self.group, "logStreamName": self.stream})
        )
        return calls

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        logs = clients.client("logs", self.region)
        if self._creates_group():
            self._call(logs.create_log_group, "log group", logGroupName=self.group)
        self._call(logs.create_log_stream, "log stream", logGroupName=self.group, logStreamName=self.stream)
        target = inputs[self.container_name]
        target.log_group, target.log_stream, target.log_region = self.group, self.stream, self.region

    def _call(self, operation: Any, what: str, **params: str) -> None:
        try:
            operation(**params)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ResourceAlreadyExistsException":
                return
            error = err.response.get("Error", {})
            text = f"{error.get('Code')}: {error.get('Message', '')}"
            raise StartFailed(
                failures.logger_failed(self.ctx.launch, self.container_name, what, text)
            ) from err
