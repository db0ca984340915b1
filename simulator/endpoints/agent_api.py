"""The ECS agent API that containers reach at ``ECS_AGENT_URI`` (``/api/<endpoint id>``): task scale-in
protection, ``GET`` and ``PUT .../task-protection/v1/state``.

As the agent does (``ecs-agent/tmds/handlers/taskprotection/v1``), the handler checks the request, finds
the container's task, and calls ECS ``UpdateTaskProtection`` / ``GetTaskProtection`` with the **task
role's** credentials; ECS's answer is passed on: its protected task, its failure, or its error code,
message and HTTP status. The answers are the agent's ``TaskProtectionResponse`` documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..ecs.task_protection import EcsError, Failure, ProtectedTask
from . import gojson
from .response import Response

PATH = re.compile(r"/api/([^/]*)/task-protection/v1/state")

_INVALID_PARAMETER = "InvalidParameterException"
_UNDECODABLE = "UpdateTaskProtection: failed to decode request"
_NO_PROTECTION_ENABLED = "Invalid request: does not contain 'ProtectionEnabled' field"
_NO_TASK = "Failed to find a task for the request"
_NO_TASK_ROLE = "Invalid Request: no task IAM role credentials available for task"
# gorilla/mux answers a known path asked with another method with a bare 405.
METHOD_NOT_ALLOWED = Response(405, b"", "")


class TaskProtectionClient(Protocol):
    """ECS's task protection calls for one task, made with the task role's credentials."""

    def update(self, enabled: bool, expires_in_minutes: int | None) -> ProtectedTask | Failure: ...

    def get(self) -> ProtectedTask | Failure: ...


@dataclass(frozen=True)
class AgentTask:
    """What the agent API knows of a container's task: its ARN and the ECS client made with its task
    role's credentials (None: the task has no task role)."""

    task_arn: str
    ecs: TaskProtectionClient | None


@dataclass(frozen=True)
class ProtectionRequest:
    """The PUT body after decoding: each field None when absent or null."""

    protection_enabled: bool | None = None
    expires_in_minutes: int | None = None


class Undecodable(ValueError):
    """The body is not what Go's strict JSON decoder accepts for the request."""


class _NotAnInteger:
    """A JSON number with a fraction or exponent, which Go will not put in an int64."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


class _Object(list[tuple[str, Any]]):
    """A JSON object as its (name, value) pairs in order, duplicates kept."""


def _constant(literal: str) -> Any:
    raise Undecodable(f"{literal} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_NotAnInteger, parse_constant=_constant, object_pairs_hook=_Object)
_JSON_SPACE = " \t\r\n"
_INT64 = (-(2**63), 2**63 - 1)
_FIELDS = {"protectionenabled": "ProtectionEnabled", "expiresinminutes": "ExpiresInMinutes"}


def decode_request(body: bytes) -> ProtectionRequest:
    """The agent's decoding: the first JSON value of the body (what follows it is not read), an object
    with no fields but the two (names matched case-insensitively, the last of duplicates wins), or null.
    Raises :class:`Undecodable`."""
    text = body.decode("utf-8", errors="replace")  # Go puts U+FFFD for bad UTF-8 too
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError) as err:
        raise Undecodable(str(err)) from None
    if value is None:
        return ProtectionRequest()
    if not isinstance(value, _Object):
        raise Undecodable("not an object")
    fields: dict[str, Any] = {}
    for name, field_value in value:
        known = _FIELDS.get(name.casefold())
        if known is None:
            raise Undecodable(f"unknown field {name!r}")
        fields[known] = field_value
    enabled = fields.get("ProtectionEnabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise Undecodable("ProtectionEnabled is not a boolean")
    minutes = fields.get("ExpiresInMinutes")
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, int) or not _INT64[0] <= minutes <= _INT64[1]
    ):
        raise Undecodable("ExpiresInMinutes is not an int64")
    return ProtectionRequest(enabled, minutes)


def _int32(value: int) -> int:
    """Go's ``int32(v)`` of an int64: the agent narrows ExpiresInMinutes this way for the ECS call."""
    return (value + 2**31) % 2**32 - 2**31


def _error(status: int, code: str, message: str, arn: str = "", request_id: str | None = None) -> Response:
    error: dict[str, Any] = {"Arn": arn} if arn else {}
    error.update(Code=code, Message=message)
    document: dict[str, Any] = {"requestID": request_id} if request_id is not None else {}
    document["error"] = error
    return Response(status, gojson.dumps(document))


def _time(moment: datetime | None) -> str | None:
    return gojson.rfc3339nano(moment) if moment is not None else None


def _answer(task: AgentTask, call: Callable[[], ProtectedTask | Failure]) -> Response:
    """ECS's answer as the agent relays it: a protected task, a failure (both 200), or ECS's error."""
    try:
        answer = call()
    except EcsError as err:
        return _error(err.status, err.code, err.message, task.task_arn, err.request_id)
    if isinstance(answer, Failure):
        failure = {"Arn": answer.arn, "Detail": answer.detail, "Reason": answer.reason}
        return Response(200, gojson.dumps({"failure": failure}))
    protection = {
        "ExpirationDate": _time(answer.expiration_date),
        "ProtectionEnabled": answer.protection_enabled,
        "TaskArn": answer.task_arn,
    }
    return Response(200, gojson.dumps({"protection": protection}))


def handle_task_protection(method: str, task: AgentTask | None, body: bytes) -> Response:
    """``method`` on ``.../task-protection/v1/state`` of a container whose task is ``task`` (None: the
    endpoint id is unknown), in the agent's order of checks."""
    if method == "GET":
        if task is None:
            return _error(404, "ResourceNotFoundException", _NO_TASK)
        if task.ecs is None:
            return _error(403, "AccessDeniedException", _NO_TASK_ROLE, task.task_arn)
        return _answer(task, task.ecs.get)
    if method != "PUT":
        return METHOD_NOT_ALLOWED
    try:
        request = decode_request(body)
    except Undecodable:
        return _error(400, _INVALID_PARAMETER, _UNDECODABLE)
    if task is None:
        return _error(404, "ResourceNotFoundException", _NO_TASK)
    if request.protection_enabled is None:
        return _error(400, _INVALID_PARAMETER, _NO_PROTECTION_ENABLED, task.task_arn)
    if task.ecs is None:
        return _error(403, "AccessDeniedException", _NO_TASK_ROLE, task.task_arn)
    client = task.ecs
    enabled = request.protection_enabled
    minutes = None if request.expires_in_minutes is None else _int32(request.expires_in_minutes)
    return _answer(task, lambda: client.update(enabled, minutes))
