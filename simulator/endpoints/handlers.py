"""Request routing and the agent's answers, independent of any HTTP server (so testable directly).

Routes, status codes and error texts follow ``agent/handlers/task_server_setup.go`` and the v1/v2
credentials, v3 and v4 metadata handlers of the ECS agent, and its agent API (``agent_api``). Errors of
the metadata endpoints are a JSON *string*; an unknown path gets gorilla/mux's plain-text 404. Only
the agent API's route is bound to methods (GET, PUT); the others answer any method alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import agent_api, credentials, gojson
from .metadata import ContainerView, container_response, task_response
from .registry import ContainerRegistration, EndpointRegistry
from .response import Response

NOT_FOUND = Response(404, b"404 page not found\n", "text/plain; charset=utf-8")
HEALTHY = Response(200, gojson.dumps({"status": "ok"}))

_V2_CREDENTIALS = re.compile(r"/v2/credentials/(.*)", re.DOTALL)
_METADATA = re.compile(r"/v([34])/([^/]*)(/task|/taskWithTags|/stats|/task/stats)?")

_FAILED = {
    "": "failed to get container metadata",
    "/task": "failed to get task metadata",
    "/taskWithTags": "failed to get task metadata",
    "/stats": "failed to get stats",
    "/task/stats": "failed to get stats",
}
_NO_TASK = "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: "
_NO_CONTAINER = "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: "


def _message(status: int, text: str) -> Response:
    return Response(status, gojson.dumps(text))


def _credentials(registry: EndpointRegistry, credentials_id: str, version: int) -> Response:
    prefix = f"CredentialsV{version}Request: "
    if not credentials_id:
        status, code, message = credentials.NO_ID
    else:
        body = registry.credentials_body(credentials_id)
        if body is not None:
            return Response(200, body)
        status, code, message = credentials.NOT_FOUND
    return Response(status, credentials.error_body(code, prefix + message, status))


def _stats(registration: ContainerRegistration, docker_id: str) -> Mapping[str, Any] | None:
    if registration.stats is None:
        return None
    try:
        return registration.stats(docker_id)
    except Exception:  # Docker went away mid-request: the agent answers "unable to get stats"
        return None


def _task_stats(registration: ContainerRegistration, view: ContainerView) -> dict[str, Any]:
    """docker id -> stats (null when unavailable) for every created container of the task."""
    docker_ids = sorted(c.docker_id for c in view.task.containers if c.docker_id)
    if not docker_ids:
        return {}
    # Docker samples twice per stats call (about a second): ask for all containers at once.
    with ThreadPoolExecutor(max_workers=min(8, len(docker_ids))) as pool:
        results = pool.map(lambda docker_id: _stats(registration, docker_id), docker_ids)
        return dict(zip(docker_ids, results, strict=True))


class _ProviderFailed(Exception):
    """The runner's view provider raised: the agent's "failed to get ... metadata" 500."""


def _current(
    registry: EndpointRegistry, endpoint_id: str
) -> tuple[ContainerRegistration, ContainerView] | None:
    registration = registry.container(endpoint_id)
    if registration is None:
        return None
    try:
        return registration, registration.view()
    except Exception as err:
        raise _ProviderFailed from err


@dataclass(frozen=True)
class _Version:
    """What differs between the v3 and v4 handlers: field set, and the status of each failure."""

    name: str
    v4: bool
    unknown_metadata: int  # v4 answers a lookup failure with 404, v3 with 500
    unknown_stats: int
    unavailable_stats: int


_VERSIONS = {"3": _Version("V3", False, 500, 400, 400), "4": _Version("V4", True, 404, 404, 500)}


def _metadata(registry: EndpointRegistry, version: _Version, endpoint_id: str, resource: str) -> Response:
    try:
        current = _current(registry, endpoint_id)
    except _ProviderFailed:
        return _message(500, _FAILED[resource])
    if resource == "":
        if current is None or not current[1].container.docker_id:
            text = f"{version.name} container metadata handler: {_NO_CONTAINER}{endpoint_id}"
            return _message(version.unknown_metadata, text)
        return Response(200, gojson.dumps(container_response(current[1].container, v4=version.v4)))
    if resource in ("/task", "/taskWithTags"):
        if current is None:
            return _message(
                version.unknown_metadata, f"{version.name} task metadata handler: {_NO_TASK}{endpoint_id}"
            )
        body = task_response(current[1].task, v4=version.v4, with_tags=resource == "/taskWithTags")
        return Response(200, gojson.dumps(body))
    if resource == "/task/stats":
        if current is None:
            return _message(
                version.unknown_stats, f"{version.name} task stats handler: {_NO_TASK}{endpoint_id}"
            )
        return Response(200, gojson.dumps(_task_stats(*current)))
    handler = f"{version.name} container stats handler"
    if current is None:
        return _message(version.unknown_stats, f"{handler}: {_NO_TASK}{endpoint_id}")
    registration, view = current
    docker_id = view.container.docker_id
    if not docker_id:
        return _message(version.unknown_stats, f"{handler}: {_NO_CONTAINER}{endpoint_id}")
    stats = _stats(registration, docker_id)
    if stats is None:
        return _message(version.unavailable_stats, f"Unable to get container stats for: {docker_id}")
    return Response(200, gojson.dumps(stats))


def handle(registry: EndpointRegistry, target: str, method: str = "GET", body: bytes = b"") -> Response:
    """Answer ``method`` for ``target`` (the request line's path and query) with ``body``."""
    url = urlsplit(target)
    path = unquote(url.path)
    matched = agent_api.PATH.fullmatch(path)
    if matched:
        registration = registry.container(matched.group(1))
        task = registration.agent if registration is not None else None
        return agent_api.handle_task_protection(method, task, body)
    matched = _V2_CREDENTIALS.fullmatch(path)
    if matched:
        return _credentials(registry, matched.group(1), 2)
    if path == "/v1/credentials":
        ids = parse_qs(url.query, keep_blank_values=True).get("id", [""])
        return _credentials(registry, ids[0], 1)
    matched = _METADATA.fullmatch(path)
    if matched:
        version, endpoint_id, resource = matched.groups()
        return _metadata(registry, _VERSIONS[version], endpoint_id, resource or "")
    if path == "/health":
        return HEALTHY
    return NOT_FOUND
