"""Check input against a shape of botocore's ECS service model, worded like ECS/botocore report it.

``botocore.validate.ParamValidator`` checks required members, unknown members, types, ranges and
lengths; it does not check enums, which the model also carries, so they are checked here too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from ..aws_session import model_session
from ..errors import InputError


@cache
def ecs_model() -> ServiceModel:
    return model_session().get_service_model("ecs")


def shape(name: str) -> Shape:
    """A named shape of the ECS model, or an operation's input shape (``RegisterTaskDefinition``)."""
    model = ecs_model()
    if name in model.operation_names:
        input_shape = model.operation_model(name).input_shape
        assert input_shape is not None
        return input_shape
    return model.shape_for(name)


def _path(prefix: str, name: str) -> str:
    return (prefix + name).lstrip(".")


def type_word(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "object",
    }.get(type(value), "null" if value is None else type(value).__name__)


def _describe(kind: str, name: str, details: Mapping[str, Any]) -> tuple[str, str]:
    """(path, message) for one of botocore's validation errors."""
    if kind == "missing required field":
        return _path(
            name, "." + details["required_name"]
        ), f'Missing required parameter "{details["required_name"]}"'
    if kind == "unknown field":
        field, valid = details["unknown_param"], details["valid_names"]
        close = difflib.get_close_matches(field, valid, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"must be one of: {', '.join(valid)}"
        return _path(name, "." + field), f'Unknown parameter "{field}"; {hint}'
    if kind == "invalid type":
        valid = ", ".join(t.removeprefix("<class '").removesuffix("'>") for t in details["valid_types"])
        return _path(name, ""), (
            f"Invalid type: {details['param']!r} is a {type_word(details['param'])}, valid types: {valid}"
        )
    if kind == "invalid range":
        return _path(
            name, ""
        ), f"Invalid value {details['param']!r}: must be at least {details['min_allowed']}"
    if kind == "invalid length":
        return _path(
            name, ""
        ), f"Invalid length {len(details['param'])}: must be at least {details['min_allowed']}"
    return _path(name, ""), f"{kind}: {details}"


def _enum_errors(value: Any, shape: Shape, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for member, member_shape in shape.members.items():
            if member in value:
                yield from _enum_errors(value[member], member_shape, f"{path}.{member}".lstrip("."))
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _enum_errors(item, shape.member, f"{path}[{i}]")
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _enum_errors(item, shape.value, f"{path}.{key}")
    elif getattr(shape, "enum", None) and isinstance(value, str) and value not in shape.enum:
        close = difflib.get_close_matches(value, shape.enum, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        yield path, f"Invalid value {value!r}{hint} (must be one of: {', '.join(shape.enum)})"


def validate(value: Any, shape_name: str, source: str) -> None:
    """Raise ``InputError`` listing every problem, the first one's place as ``where``."""
    target = shape(shape_name)
    report = ParamValidator().validate(value, target)
    problems = [_describe(kind, name, details) for kind, name, details in report._errors]
    if not problems:
        problems = list(_enum_errors(value, target, ""))
    raise_problems(problems, source)


def raise_problems(problems: list[tuple[str, str]], source: str) -> None:
    if not problems:
        return
    (path, message), rest = problems[0], problems[1:]
    if rest:
        message += "".join(f"\n  {source}: {p}: {m}" if p else f"\n  {source}: {m}" for p, m in rest)
    raise InputError(message, where=f"{source}: {path}" if path else source)
