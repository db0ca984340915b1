"""Load a task definition as ``register-task-definition --cli-input-json`` takes it, or as
``describe-task-definition`` prints it, and check it the way RegisterTaskDefinition would."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import rules, schema
from .model import TaskDefinition

INPUT_SHAPE = "RegisterTaskDefinition"


def _read_only_fields() -> frozenset[str]:
    """Fields describe-task-definition adds that RegisterTaskDefinition does not take (taskDefinitionArn,
    revision, status, requiresAttributes, compatibilities, registeredAt ...), from the model."""
    output = schema.shape("TaskDefinition").members
    return frozenset(output) - frozenset(schema.shape(INPUT_SHAPE).members)


def load_taskdef(
    path_or_data: str | Path | Mapping[str, Any], *, source: str | None = None
) -> TaskDefinition:
    """A validated task definition from a JSON file or already-parsed data."""
    if isinstance(path_or_data, Mapping):
        data: Any = copy.deepcopy(dict(path_or_data))
        source = source or "<taskdef>"
    else:
        path = Path(path_or_data)
        source = source or str(path)
        data = _read_json(path, source)
    if not isinstance(data, dict):
        raise InputError(f"a task definition is a JSON object, got {schema.type_word(data)}", where=source)
    return validated(_from_describe_output(data), source)


def _read_json(path: Path, source: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("task definition file not found", where=source) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read task definition: {err}", where=source) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", where=f"{source}:{err.lineno}:{err.colno}") from None


def _from_describe_output(data: dict[str, Any]) -> dict[str, Any]:
    """``{"taskDefinition": {...}, "tags": [...]}`` -> RegisterTaskDefinition input."""
    if set(data) - {"taskDefinition", "tags", "ResponseMetadata"} or not isinstance(
        data.get("taskDefinition"), dict
    ):
        return data
    taskdef = {k: v for k, v in data["taskDefinition"].items() if k not in _read_only_fields()}
    if data.get("tags"):
        taskdef["tags"] = data["tags"]
    return taskdef


def validated(data: dict[str, Any], source: str) -> TaskDefinition:
    """Check RegisterTaskDefinition input: the model's shape, then ECS's own rules."""
    _check_keys_are_strings(data, "", source)
    schema.validate(data, INPUT_SHAPE, source)
    schema.raise_problems(rules.check(data), source)
    return TaskDefinition(raw=data, source=source)


def _check_keys_are_strings(value: Any, path: str, source: str) -> None:
    # JSON guarantees it; a dict built in Python may not, and botocore would fail on it
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"keys must be strings, got {key!r}", where=f"{source}: {path}".rstrip(": "))
            _check_keys_are_strings(item, f"{path}.{key}".lstrip("."), source)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_keys_are_strings(item, f"{path}[{i}]", source)
