"""`ecs-sim compose`: a docker compose project derived from a task definition, to run under `ecs-sim serve`.

Each container becomes a service on the serve network (external, ``${ECS_SIM_NETWORK}``) with what ECS
would give it at runtime: the task role's credentials URI and the gateway as ``AWS_ENDPOINT_URL``.
What compose can express is translated (image, command, entryPoint, environment, workingDirectory, user,
dependsOn, healthCheck, portMappings); the rest is reported, never silently dropped: secrets and
environment files are fetched by ECS with the execution role at task start, which is ``ecs-sim run``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .aws_hostnames import BUNDLE_IN_CONTAINER, gateway_environment
from .docker.network import ENDPOINT_IP
from .taskdef import TaskDefinition

NETWORK_KEY = "ecs-sim"

# dependsOn condition -> compose depends_on condition. Compose has no "exited with any code".
_CONDITIONS = {
    "START": "service_started",
    "HEALTHY": "service_healthy",
    "SUCCESS": "service_completed_successfully",
    "COMPLETE": "service_completed_successfully",
}

# container definition fields with no compose equivalent here, and why
_NOT_TRANSLATED = {
    "secrets": "ECS reads secrets with the execution role at task start: use `ecs-sim run`, or set them yourself",
    "environmentFiles": "ECS reads environment files from S3 at task start: use `ecs-sim run`",
    "repositoryCredentials": "ECS pulls with these credentials: pull or build the image yourself",
    "logConfiguration": "compose keeps the logs in Docker",
    "firelensConfiguration": "FireLens routing is simulated by `ecs-sim run` only",
    "mountPoints": "task volumes are not translated",
    "volumesFrom": "task volumes are not translated",
}


@dataclass
class ComposeProject:
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # what was not translated, container by container

    def to_yaml(self, header: str = "") -> str:
        body = yaml.safe_dump(self.document, sort_keys=False, default_flow_style=False, width=110)
        return header + body


def _literal(value: str) -> str:
    """Compose interpolates ``$VAR`` everywhere; a task definition's ``$`` is for the container's shell."""
    return value.replace("$", "$$")


def _seconds(value: int) -> str:
    return f"{value}s"


def _healthcheck(check: dict[str, Any]) -> dict[str, Any]:
    # ECS's defaults (HealthCheck API reference): interval 30, timeout 5, retries 3, startPeriod 0
    result: dict[str, Any] = {
        "test": [_literal(part) for part in check["command"]],
        "interval": _seconds(check.get("interval", 30)),
        "timeout": _seconds(check.get("timeout", 5)),
        "retries": check.get("retries", 3),
    }
    if check.get("startPeriod"):
        result["start_period"] = _seconds(check["startPeriod"])
    return result


def _service(container: dict[str, Any], runtime_env: dict[str, str], aws_hostnames: bool) -> dict[str, Any]:
    service: dict[str, Any] = {"image": container["image"]}
    if container.get("entryPoint"):
        service["entrypoint"] = [_literal(part) for part in container["entryPoint"]]
    if container.get("command"):
        service["command"] = [_literal(part) for part in container["command"]]
    environment = {item["name"]: _literal(item["value"]) for item in container.get("environment", [])}
    service["environment"] = environment | runtime_env  # ECS's own variables win, as in the agent
    for ecs_key, compose_key in (("workingDirectory", "working_dir"), ("user", "user")):
        if container.get(ecs_key):
            service[compose_key] = container[ecs_key]
    if container.get("dependsOn"):
        service["depends_on"] = {
            dep["containerName"]: {"condition": _CONDITIONS[dep["condition"]]}
            for dep in container["dependsOn"]
        }
    if container.get("healthCheck"):
        service["healthcheck"] = _healthcheck(container["healthCheck"])
    ports = [
        f"{mapping.get('hostPort') or mapping['containerPort']}:{mapping['containerPort']}/"
        f"{mapping.get('protocol', 'tcp')}"
        for mapping in container.get("portMappings", [])
    ]
    if ports:
        service["ports"] = ports
    if aws_hostnames:  # the values `ecs-sim serve --aws-hostnames` hands compose
        service["dns"] = [f"${{ECS_SIM_DNS:-{ENDPOINT_IP}}}"]
        # /dev/null outside serve, so that `down` interpolates (`up` needs serve's network anyway)
        service["volumes"] = [f"${{ECS_SIM_CA_BUNDLE:-/dev/null}}:{BUNDLE_IN_CONTAINER}:ro"]
    service["networks"] = [NETWORK_KEY]
    return service


def compose_project(definition: TaskDefinition, *, aws_hostnames: bool = False) -> ComposeProject:
    """The task's containers as compose services on the serve network, each with the runtime variables a
    task container gets (credentials URI only when the task has a task role); ``aws_hostnames``: the
    name server and CA bundle of `ecs-sim serve --aws-hostnames` instead of ``AWS_ENDPOINT_URL``."""
    raw = definition.raw
    runtime_env = gateway_environment(aws_hostnames)
    runtime_env |= {
        "AWS_REGION": "${ECS_SIM_REGION:-us-east-1}",
        "AWS_DEFAULT_REGION": "${ECS_SIM_REGION:-us-east-1}",
    }
    if raw.get("taskRoleArn"):
        runtime_env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "${ECS_SIM_CREDENTIALS_URI:-}"
    project = ComposeProject(
        {
            "services": {
                c["name"]: _service(c, runtime_env, aws_hostnames) for c in raw["containerDefinitions"]
            },
            "networks": {NETWORK_KEY: {"external": True, "name": "${ECS_SIM_NETWORK:-ecs-sim-serve}"}},
        }
    )
    for container in raw["containerDefinitions"]:
        for key, why in _NOT_TRANSLATED.items():
            if container.get(key):
                project.notes.append(f"{container['name']}: {key} not translated: {why}")
        for dep in container.get("dependsOn", []):
            if dep["condition"] == "COMPLETE":
                project.notes.append(
                    f"{container['name']}: dependsOn {dep['containerName']} COMPLETE became "
                    "service_completed_successfully (compose has no condition for 'exited with any code')"
                )
    return project


def run_hint(definition: TaskDefinition, output: str, *, aws_hostnames: bool = False) -> str:
    """The header of a generated file: where it came from and how to run it."""
    role = (definition.task_role_arn or "ROLE").rsplit("/", 1)[-1]
    compose_file = "" if output == "docker-compose.yml" else f" -f {output}"
    option = " --aws-hostnames" if aws_hostnames else ""
    return (
        f"# Generated by `ecs-sim compose` from {definition.source}. Run it under ecs-sim serve:\n"
        f"#   ecs-sim serve --world WORLD --task-role {role}{option} -- \\\n"
        f"#     docker-compose{compose_file} up --abort-on-container-exit\n"
    )
