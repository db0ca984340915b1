"""What RegisterTaskDefinition rejects beyond the service model's shapes (ECS ``ClientException``s).

Input here has already passed the model check, so types are right; each rule returns
``(path, message)`` pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

Problem = tuple[str, str]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ENV_FILE_ARN = re.compile(r"arn:aws[a-z-]*:s3:::[^/]+/.+")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:.+")
_CREDENTIALS_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+")
_MIN_CONTAINER_MEMORY = 6  # MiB, the Docker minimum ECS enforces

# Fargate task sizes (AWS docs "Task CPU and memory"): cpu units -> allowed memory MiB
_FARGATE_MEMORY: dict[int, range] = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}


def task_cpu_units(value: str) -> int | None:
    """Task ``cpu``: "1024" or "1 vCPU" / "0.25 vcpu" -> CPU units; None when unparsable."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*", value, re.IGNORECASE)
    if not match:
        return None
    number = float(match.group(1))
    return int(number * 1024) if match.group(2) else int(number)


def task_memory_mib(value: str) -> int | None:
    """Task ``memory``: "2048" (MiB) or "2 GB" / "0.5gb" -> MiB; None when unparsable."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(gb)?\s*", value, re.IGNORECASE)
    if not match:
        return None
    number = float(match.group(1))
    return int(number * 1024) if match.group(2) else int(number)


def check(taskdef: Mapping[str, Any]) -> list[Problem]:
    containers = taskdef["containerDefinitions"]
    problems: list[Problem] = []
    if not _NAME.fullmatch(taskdef["family"]):
        problems.append(
            (
                "family",
                "Family contains invalid characters: up to 255 letters, numbers, hyphens and underscores",
            )
        )
    if not containers:
        problems.append(("containerDefinitions", "Container list cannot be empty."))
        return problems
    names = [c.get("name") for c in containers]
    for i, container in enumerate(containers):
        problems.extend(_container(container, f"containerDefinitions[{i}]", names, taskdef))
    for i, name in enumerate(names):
        if name is not None and name in names[:i]:
            problems.append((f"containerDefinitions[{i}].name", f"Duplicate container name {name!r}."))
    if not any(c.get("essential", True) for c in containers):
        problems.append(
            ("containerDefinitions", "A task definition must have at least one essential container.")
        )
    problems.extend(_dependency_cycles(containers))
    problems.extend(_execution_role(taskdef))
    problems.extend(_task_size(taskdef))
    if any(
        (c.get("logConfiguration") or {}).get("logDriver") == "awsfirelens" for c in containers
    ) and not any("firelensConfiguration" in c for c in containers):
        problems.append(
            (
                "containerDefinitions",
                "The awsfirelens log driver needs a container with firelensConfiguration.",
            )
        )
    return problems


def _container(
    c: Mapping[str, Any], path: str, names: list[Any], taskdef: Mapping[str, Any]
) -> Iterator[Problem]:
    name = c.get("name")
    if not name:
        yield f"{path}.name", "Container.name should not be null or empty."
    elif not _NAME.fullmatch(name):
        yield (
            f"{path}.name",
            "Container name should be up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
        )
    if not c.get("image"):
        yield f"{path}.image", "Container.image should not be null or empty."
    memory, reservation = c.get("memory"), c.get("memoryReservation")
    label = f"container {name!r}" if name else "container"
    if memory is None and reservation is None and not taskdef.get("memory"):
        yield (
            path,
            f"Invalid setting for {label}. At least one of 'memory' or 'memoryReservation' must be specified.",
        )
    for key, value in (("memory", memory), ("memoryReservation", reservation)):
        if value is not None and value < _MIN_CONTAINER_MEMORY:
            yield (
                f"{path}.{key}",
                f"Invalid '{key}' setting for {label}: must be at least {_MIN_CONTAINER_MEMORY} MiB.",
            )
    if memory is not None and reservation is not None and reservation > memory:
        yield (
            f"{path}.memoryReservation",
            f"Invalid setting for {label}: 'memoryReservation' must be less than or equal to 'memory'.",
        )
    for j, dep in enumerate(c.get("dependsOn", [])):
        target = dep["containerName"]
        where = f"{path}.dependsOn[{j}].containerName"
        if target not in names:
            yield where, f"{label} depends on container {target!r}, which is not in the task definition."
        elif target == name:
            yield where, f"{label} cannot depend on itself."
        elif dep["condition"] == "HEALTHY":
            target_def = next(t for t in taskdef["containerDefinitions"] if t.get("name") == target)
            if "healthCheck" not in target_def:
                yield (
                    f"{path}.dependsOn[{j}].condition",
                    f"{label} depends on {target!r} being HEALTHY, but {target!r} has no healthCheck.",
                )
    for j, secret in enumerate(c.get("secrets", [])):
        value_from = secret["valueFrom"]
        if not secret["name"]:
            yield f"{path}.secrets[{j}].name", "Secret name should not be null or empty."
        if not value_from:
            yield f"{path}.secrets[{j}].valueFrom", "Secret valueFrom should not be null or empty."
        elif value_from.startswith("arn:") and not _SECRET_ARN.fullmatch(value_from):
            yield (
                f"{path}.secrets[{j}].valueFrom",
                f"{value_from!r} is not the ARN of an SSM parameter or a Secrets Manager secret.",
            )
    for j, env_file in enumerate(c.get("environmentFiles", [])):
        value = env_file["value"]
        if not _ENV_FILE_ARN.fullmatch(value):
            yield (
                f"{path}.environmentFiles[{j}].value",
                f"{value!r} is not an S3 object ARN (arn:aws:s3:::bucket/key).",
            )
        elif not value.endswith(".env"):
            yield (
                f"{path}.environmentFiles[{j}].value",
                f"{value!r}: environment files must have the .env extension.",
            )
    credentials = c.get("repositoryCredentials", {}).get("credentialsParameter")
    if credentials is not None and not _CREDENTIALS_ARN.fullmatch(credentials):
        yield (
            f"{path}.repositoryCredentials.credentialsParameter",
            f"{credentials!r} is not the ARN of a Secrets Manager secret.",
        )
    yield from _log_configuration(c.get("logConfiguration"), f"{path}.logConfiguration", taskdef)
    health = c.get("healthCheck")
    if health is not None and (
        not health["command"] or health["command"][0] not in ("CMD", "CMD-SHELL", "NONE")
    ):
        yield (
            f"{path}.healthCheck.command",
            'A health check command starts with "CMD", "CMD-SHELL" or "NONE".',
        )
    volumes = {v.get("name") for v in taskdef.get("volumes", [])}
    for j, mount in enumerate(c.get("mountPoints", [])):
        volume = mount.get("sourceVolume")
        if volume is not None and volume not in volumes:
            yield (
                f"{path}.mountPoints[{j}].sourceVolume",
                f"Invalid 'mountPoints' setting for {label}: volume {volume!r} is not defined in 'volumes'.",
            )
    for j, source in enumerate(c.get("volumesFrom", [])):
        other = source.get("sourceContainer")
        if other is not None and other not in names:
            yield (
                f"{path}.volumesFrom[{j}].sourceContainer",
                f"{label} takes volumes from container {other!r}, which is not in the task definition.",
            )
    mode = taskdef.get("networkMode", "bridge")
    if c.get("links") and mode == "awsvpc":  # RegisterTaskDefinition's own words
        yield f"{path}.links", "Links are not supported when networkMode=awsvpc."
    elif c.get("links") and mode != "bridge":
        yield f"{path}.links", "Links are only supported with the bridge network mode."
    if c.get("hostname") and mode == "awsvpc":
        yield f"{path}.hostname", "hostname is not supported on container when networkMode=awsvpc."
    for j, mapping in enumerate(c.get("portMappings", [])):
        for key in ("containerPort", "hostPort"):
            port = mapping.get(key)
            if port is not None and not 0 <= port <= 65535:
                yield f"{path}.portMappings[{j}].{key}", f"Invalid port {port}: must be 0-65535."
        host, container_port = mapping.get("hostPort"), mapping.get("containerPort")
        if taskdef.get("networkMode") == "awsvpc" and host not in (None, container_port):
            yield (
                f"{path}.portMappings[{j}].hostPort",
                "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
            )


def _log_configuration(
    config: Mapping[str, Any] | None, path: str, taskdef: Mapping[str, Any]
) -> Iterator[Problem]:
    if not config or config["logDriver"] != "awslogs":
        return
    options = config.get("options", {})
    for required in ("awslogs-group", "awslogs-region"):
        if not options.get(required):
            yield f"{path}.options", f"The awslogs log driver needs the option {required!r}."
    if "FARGATE" in taskdef.get("requiresCompatibilities", []) and not options.get("awslogs-stream-prefix"):
        yield f"{path}.options", "On Fargate the awslogs log driver needs the option 'awslogs-stream-prefix'."
    create = options.get("awslogs-create-group")
    if create is not None and create not in ("true", "false"):
        yield f"{path}.options.awslogs-create-group", f"{create!r}: must be the string 'true' or 'false'."


def _dependency_cycles(containers: list[Mapping[str, Any]]) -> Iterator[Problem]:
    edges = {c.get("name"): [d["containerName"] for d in c.get("dependsOn", [])] for c in containers}
    state: dict[Any, int] = {}  # 1 visiting, 2 done

    def visit(node: Any, trail: list[Any]) -> list[Any] | None:
        if state.get(node) == 1:
            return [*trail[trail.index(node) :], node]
        if state.get(node) == 2 or node not in edges:
            return None
        state[node] = 1
        for target in edges[node]:
            if target != node and (cycle := visit(target, [*trail, node])):
                return cycle
        state[node] = 2
        return None

    for name in edges:
        cycle = visit(name, [])
        if cycle:
            yield (
                "containerDefinitions",
                f"Container dependencies form a cycle: {' -> '.join(map(str, cycle))}.",
            )
            return


def _task_size(taskdef: Mapping[str, Any]) -> Iterator[Problem]:
    cpu_text, memory_text = taskdef.get("cpu"), taskdef.get("memory")
    cpu = task_cpu_units(cpu_text) if cpu_text else None
    memory = task_memory_mib(memory_text) if memory_text else None
    if cpu_text and cpu is None:
        yield "cpu", f'Invalid \'cpu\' setting for task {cpu_text!r}: CPU units ("1024") or vCPUs ("1 vCPU").'
    if memory_text and memory is None:
        yield "memory", f'Invalid \'memory\' setting for task {memory_text!r}: MiB ("2048") or GB ("2 GB").'
    containers = taskdef["containerDefinitions"]
    if cpu is not None:
        total = sum(c.get("cpu", 0) for c in containers)
        if total > cpu:
            yield "containerDefinitions", f"The sum of container cpu ({total}) exceeds the task cpu ({cpu})."
    if memory is not None:
        for i, c in enumerate(containers):
            limit = c.get("memory")
            if limit is not None and limit > memory:
                yield (
                    f"containerDefinitions[{i}].memory",
                    f"Container memory ({limit}) exceeds the task memory ({memory}).",
                )
    if "FARGATE" in taskdef.get("requiresCompatibilities", []):
        if taskdef.get("networkMode") != "awsvpc":
            yield "networkMode", "Fargate only supports network mode 'awsvpc'."
        if cpu is None or memory is None:
            yield "cpu", "Fargate task definitions need both task-level 'cpu' and 'memory'."
        elif memory not in _FARGATE_MEMORY.get(cpu, ()):
            yield "memory", f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory."


def _execution_role(taskdef: Mapping[str, Any]) -> Iterator[Problem]:
    if taskdef.get("executionRoleArn"):
        return
    containers = taskdef["containerDefinitions"]
    if any(c.get("secrets") for c in containers):
        yield (
            "executionRoleArn",
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        )
    fargate = "FARGATE" in taskdef.get("requiresCompatibilities", [])
    if fargate and any((c.get("logConfiguration") or {}).get("logDriver") == "awslogs" for c in containers):
        yield (
            "executionRoleArn",
            "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
        )
