"""What task start will do for a task definition, in the agent's order: the single list that both
`run` (which performs it) and `check` (which only evaluates its calls) use."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...docker.containers import ContainerDriver
from ...ecs import failures
from ...ecs.failures import StartFailure
from .asm_secrets import AsmSecret, AsmSecretRef, parse_reference
from .awslogs import AwsLogsSetup
from .ecr import EcrAuth, ImagePull, parse_ecr_image
from .env_files import EnvFile
from .registry_auth import RegistryCredentials
from .ssm_secrets import SsmSecretRef, SsmSecrets, parameter_region
from .units import StartContext, StartUnit


def is_ssm_reference(value_from: str) -> bool:
    """SSM parameters are referenced by name or parameter ARN; everything else is Secrets Manager."""
    return not value_from.startswith("arn:") or value_from.split(":")[2] == "ssm"


def plan_task_start(
    ctx: StartContext,
    containers: Sequence[Mapping[str, Any]],
    driver: ContainerDriver | None,
    ecr_local_image: Callable[[str, str], str | None],
) -> list[StartUnit]:
    """Units in the order the agent gates them: registry auth, secrets and env files (task resources),
    then the image pull, then the log driver set-up at container start."""
    units: list[StartUnit] = []
    registries: dict[tuple[str, str], list[str]] = {}
    for container in containers:
        ecr = parse_ecr_image(container["image"])
        if ecr is not None:
            registries.setdefault((ecr.registry, ecr.region), []).append(container["name"])
    for names in registries.values():
        first = next(c for c in containers if c["name"] == names[0])
        image = parse_ecr_image(first["image"])
        assert image is not None
        units.append(EcrAuth(ctx, image, tuple(names)))
    for container in containers:
        credentials = container.get("repositoryCredentials", {}).get("credentialsParameter")
        if credentials:
            units.append(RegistryCredentials(ctx, container["name"], credentials))

    ssm_by_region: dict[str, list[SsmSecretRef]] = {}
    asm_by_secret: dict[Any, list[AsmSecretRef]] = {}
    for container in containers:
        for secret in container.get("secrets", []):
            value_from = secret["valueFrom"]
            if is_ssm_reference(value_from):
                region = parameter_region(value_from, ctx.region)
                ssm_by_region.setdefault(region, []).append(
                    SsmSecretRef(container["name"], secret["name"], value_from)
                )
            else:
                reference = parse_reference(value_from)
                key = (reference.secret_id, reference.version_stage, reference.version_id)
                asm_by_secret.setdefault(key, []).append(
                    AsmSecretRef(container["name"], secret["name"], value_from)
                )
    units.extend(SsmSecrets(ctx, region, tuple(refs)) for region, refs in ssm_by_region.items())
    for refs in asm_by_secret.values():
        reference = parse_reference(refs[0].value_from)
        units.append(AsmSecret(ctx, replace(reference, json_key=None), tuple(refs)))

    for container in containers:
        units.extend(
            EnvFile(ctx, container["name"], f["value"]) for f in container.get("environmentFiles", [])
        )
    for container in containers:
        units.append(ImagePull(ctx, container["name"], container["image"], driver, ecr_local_image))
    for container in containers:
        log = container.get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            units.append(AwsLogsSetup(ctx, container["name"], dict(log.get("options") or {})))
    return units


def missing_execution_role(units: Sequence[StartUnit], execution_role_arn: str | None) -> StartFailure | None:
    """Why task start fails before any call when units call AWS but the task has no execution role."""
    calling = [unit for unit in units if unit.calls()]
    if not calling or execution_role_arn:
        return None
    return failures.no_execution_role({unit.kind for unit in calling}, calling[0].container)
