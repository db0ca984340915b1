"""RunTask-style ``overrides`` applied to a task definition, and role references resolved to ARNs."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..world.model import World
from . import schema
from .loader import validated
from .model import TaskDefinition

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}")
_TASK_LEVEL = ("taskRoleArn", "executionRoleArn", "cpu", "memory", "ephemeralStorage")


def apply_overrides(
    taskdef: TaskDefinition, overrides: Mapping[str, Any] | None, *, source: str = "overrides"
) -> TaskDefinition:
    """The task definition as RunTask with ``overrides`` (the ``TaskOverride`` shape) would run it."""
    if not overrides:
        return taskdef
    overrides = copy.deepcopy(dict(overrides))
    schema.validate(overrides, "TaskOverride", source)
    raw = copy.deepcopy(dict(taskdef.raw))
    for key in _TASK_LEVEL:
        if key in overrides:
            raw[key] = overrides[key]
    containers = {c["name"]: c for c in raw["containerDefinitions"]}
    for i, override in enumerate(overrides.get("containerOverrides", [])):
        name = override.get("name")
        container = containers.get(name) if name else None
        if container is None:
            raise InputError(
                f"Override for container named {name} is not a container in the TaskDefinition.",
                where=f"{source}: containerOverrides[{i}].name",
            )
        _override_container(container, override)
    return validated(raw, taskdef.source)


def _override_container(container: dict[str, Any], override: Mapping[str, Any]) -> None:
    for key in ("command", "cpu", "memory", "memoryReservation", "resourceRequirements"):
        if key in override:
            container[key] = override[key]
    if "environment" in override:
        # override variables replace same-named ones, the rest are added (as RunTask does)
        merged = {e.get("name"): e for e in container.get("environment", [])}
        merged.update({e.get("name"): e for e in override["environment"]})
        container["environment"] = list(merged.values())
    if "environmentFiles" in override:
        container["environmentFiles"] = [
            *container.get("environmentFiles", []),
            *override["environmentFiles"],
        ]


def resolve_role_arn(ref: str | None, world: World) -> str | None:
    """``taskRoleArn``/``executionRoleArn`` as ECS takes them (a role ARN or a plain role name) -> ARN."""
    if not ref:
        return None
    if ref.startswith("arn:"):
        if not _ROLE_ARN.fullmatch(ref):
            raise InputError(f"{ref!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", where="role")
        return ref
    if "/" in ref or not re.fullmatch(r"[\w+=,.@-]{1,64}", ref):
        raise InputError(f"{ref!r} is neither a role ARN nor a role name", where="role")
    return world.role_arn(ref)
