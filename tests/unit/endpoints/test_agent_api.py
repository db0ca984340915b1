"""The agent API at ECS_AGENT_URI (task scale-in protection): routes, the agent's order of checks, its
request decoding, and its answers byte for byte, with ECS faked; then over a real loopback server."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from simulator.ecs.task_protection import EcsError, Failure, ProtectedTask
from simulator.endpoints import EndpointServer
from simulator.endpoints.agent_api import AgentTask
from simulator.endpoints.handlers import handle
from simulator.endpoints.registry import EndpointRegistry

TASK_ARN = "arn:aws:ecs:us-east-1:111122223333:task/default/8f03e41243824aea923aca126495f665"
EXPIRES = datetime(2026, 6, 30, 18, 0, 0, 123000, tzinfo=UTC)
DENIED = (
    "User: arn:aws:sts::111122223333:assumed-role/app-task-role/8f03e41243824aea923aca126495f665 is not "
    "authorized to perform: ecs:UpdateTaskProtection on resource: " + TASK_ARN + " because no "
    "identity-based policy allows the ecs:UpdateTaskProtection action"
)
UNDECODABLE = b'{"error":{"Code":"InvalidParameterException","Message":"UpdateTaskProtection: failed to decode request"}}'
NO_TASK = b'{"error":{"Code":"ResourceNotFoundException","Message":"Failed to find a task for the request"}}'
NO_TASK_ROLE = (
    b'{"error":{"Arn":"' + TASK_ARN.encode() + b'","Code":"AccessDeniedException",'
    b'"Message":"Invalid Request: no task IAM role credentials available for task"}}'
)


class FakeEcs:
    """ECS as the agent sees it: records the calls, answers with ``answer`` (raised when an error)."""

    def __init__(self, answer: ProtectedTask | Failure | EcsError | None = None) -> None:
        self.answer = answer or ProtectedTask(TASK_ARN, True, EXPIRES)
        self.calls: list[tuple[str, bool | None, int | None]] = []

    def update(self, enabled: bool, expires_in_minutes: int | None) -> ProtectedTask | Failure:
        self.calls.append(("update", enabled, expires_in_minutes))
        return self._answer()

    def get(self) -> ProtectedTask | Failure:
        self.calls.append(("get", None, None))
        return self._answer()

    def _answer(self) -> ProtectedTask | Failure:
        if isinstance(self.answer, EcsError):
            raise self.answer
        return self.answer


@pytest.fixture
def ecs() -> FakeEcs:
    return FakeEcs()


@pytest.fixture
def registry() -> EndpointRegistry:
    return EndpointRegistry()


def state_path(registry: EndpointRegistry, ecs: FakeEcs | None) -> str:
    endpoint_id = registry.register_container(lambda: None, None, AgentTask(TASK_ARN, ecs))  # type: ignore[arg-type, return-value]
    return f"/api/{endpoint_id}/task-protection/v1/state"


def test_put_sets_protection_and_answers_with_ecs_protected_task(
    registry: EndpointRegistry, ecs: FakeEcs
) -> None:
    path = state_path(registry, ecs)
    response = handle(registry, path, "PUT", b'{"ProtectionEnabled":true,"ExpiresInMinutes":60}')
    assert response.status == 200
    assert response.content_type == "application/json"
    assert response.body == (
        b'{"protection":{"ExpirationDate":"2026-06-30T18:00:00.123Z","ProtectionEnabled":true,'
        b'"TaskArn":"' + TASK_ARN.encode() + b'"}}'
    )
    assert ecs.calls == [("update", True, 60)]


def test_get_reports_an_unprotected_task_with_a_null_expiration(registry: EndpointRegistry) -> None:
    ecs = FakeEcs(ProtectedTask(TASK_ARN, False))
    response = handle(registry, state_path(registry, ecs), "GET")
    assert (response.status, response.body) == (
        200,
        b'{"protection":{"ExpirationDate":null,"ProtectionEnabled":false,"TaskArn":"'
        + TASK_ARN.encode()
        + b'"}}',
    )
    assert ecs.calls == [("get", None, None)]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b"[]",
        b'"ProtectionEnabled"',
        b"true",
        b'{"ProtectionEnabled":"true"}',
        b'{"ProtectionEnabled":1}',
        b'{"ProtectionEnabled":true,"Reason":"busy"}',
        b'{"ProtectionEnabled":true,"ExpiresInMinutes":1.5}',
        b'{"ProtectionEnabled":true,"ExpiresInMinutes":60.0}',
        b'{"ProtectionEnabled":true,"ExpiresInMinutes":1e2}',
        b'{"ProtectionEnabled":true,"ExpiresInMinutes":"60"}',
        b'{"ProtectionEnabled":true,"ExpiresInMinutes":NaN}',
        b'{"ProtectionEnabled":true,"ExpiresInMinutes":9223372036854775808}',
        b"{'ProtectionEnabled': true}",
    ],
)
def test_put_bodies_go_cannot_decode_are_refused_before_the_task_is_looked_up(
    registry: EndpointRegistry, ecs: FakeEcs, body: bytes
) -> None:
    for path in (state_path(registry, ecs), "/api/not-an-id/task-protection/v1/state"):
        response = handle(registry, path, "PUT", body)
        assert (response.status, response.body) == (400, UNDECODABLE), body
    assert ecs.calls == []


@pytest.mark.parametrize(
    ("body", "enabled", "minutes"),
    [
        (b'{"protectionenabled":true,"EXPIRESINMINUTES":5}', True, 5),  # Go matches names case-insensitively
        (b'{"ProtectionEnabled":false,"ProtectionEnabled":true}', True, None),  # the last duplicate wins
        (b' \n{"ProtectionEnabled":false} trailing text', False, None),  # only the first value is read
        (b'{"ProtectionEnabled":true,"ExpiresInMinutes":null}', True, None),
        (b'{"ProtectionEnabled":true,"ExpiresInMinutes":-0}', True, 0),
        # The agent narrows to int32 for the ECS call: 2**32 + 60 arrives as 60.
        (b'{"ProtectionEnabled":true,"ExpiresInMinutes":4294967356}', True, 60),
    ],
)
def test_put_bodies_go_decodes(
    registry: EndpointRegistry, ecs: FakeEcs, body: bytes, enabled: bool, minutes: int | None
) -> None:
    assert handle(registry, state_path(registry, ecs), "PUT", body).status == 200
    assert ecs.calls == [("update", enabled, minutes)]


@pytest.mark.parametrize("body", [b"{}", b"null", b'{"ExpiresInMinutes":60}', b'{"ProtectionEnabled":null}'])
def test_put_without_protection_enabled(registry: EndpointRegistry, ecs: FakeEcs, body: bytes) -> None:
    response = handle(registry, state_path(registry, ecs), "PUT", body)
    assert (response.status, response.body) == (
        400,
        b'{"error":{"Arn":"' + TASK_ARN.encode() + b'","Code":"InvalidParameterException",'
        b'"Message":"Invalid request: does not contain \'ProtectionEnabled\' field"}}',
    )
    assert ecs.calls == []


@pytest.mark.parametrize("endpoint_id", ["not-an-id", ""])
def test_unknown_endpoint_id(registry: EndpointRegistry, endpoint_id: str) -> None:
    path = f"/api/{endpoint_id}/task-protection/v1/state"
    assert handle(registry, path, "GET") == (404, NO_TASK, "application/json")
    assert handle(registry, path, "PUT", b'{"ProtectionEnabled":true}') == (404, NO_TASK, "application/json")


def test_a_task_without_a_task_role_is_refused_by_the_agent(registry: EndpointRegistry) -> None:
    path = state_path(registry, None)
    assert handle(registry, path, "GET") == (403, NO_TASK_ROLE, "application/json")
    assert handle(registry, path, "PUT", b'{"ProtectionEnabled":true}') == (
        403,
        NO_TASK_ROLE,
        "application/json",
    )
    # the body is checked before the credentials
    assert handle(registry, path, "PUT", b"{}").status == 400


def test_an_ecs_error_is_relayed_with_its_status_code_message_and_request_id(
    registry: EndpointRegistry,
) -> None:
    error = EcsError("AccessDeniedException", DENIED)
    response = handle(registry, state_path(registry, FakeEcs(error)), "PUT", b'{"ProtectionEnabled":true}')
    assert response.status == 400
    assert response.body == (
        b'{"requestID":"' + error.request_id.encode() + b'","error":{"Arn":"' + TASK_ARN.encode() + b'",'
        b'"Code":"AccessDeniedException","Message":"' + DENIED.encode() + b'"}}'
    )
    assert json.loads(response.body)["error"]["Message"] == DENIED


def test_an_ecs_failure_is_a_200_failure_document(registry: EndpointRegistry) -> None:
    ecs = FakeEcs(Failure(TASK_ARN, "TASK_NOT_VALID"))
    response = handle(registry, state_path(registry, ecs), "GET")
    assert (response.status, response.body) == (
        200,
        b'{"failure":{"Arn":"' + TASK_ARN.encode() + b'","Detail":null,"Reason":"TASK_NOT_VALID"}}',
    )


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH", "HEAD"])
def test_other_methods_get_a_bare_405(registry: EndpointRegistry, ecs: FakeEcs, method: str) -> None:
    assert handle(registry, state_path(registry, ecs), method) == (405, b"", "")
    assert ecs.calls == []


def test_other_paths_under_api_are_not_found(registry: EndpointRegistry, ecs: FakeEcs) -> None:
    path = state_path(registry, ecs)
    for other in (path + "/", path.replace("/v1/", "/v2/"), path.rsplit("/", 3)[0]):
        assert handle(registry, other, "GET").status == 404


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def server(registry: EndpointRegistry) -> Iterator[EndpointServer]:
    with EndpointServer() as server:
        server.registry = registry
        server.start("127.0.0.1")
        yield server


def test_over_http_bodies_are_read_on_a_kept_alive_connection(server: EndpointServer, ecs: FakeEcs) -> None:
    """PUT with Content-Length, chunked, then a GET on the same connection: each body is framed right."""
    path = state_path(server.registry, ecs)
    connection = http.client.HTTPConnection(*server.addresses[0], timeout=10)
    try:
        connection.request("PUT", path, body=b'{"ProtectionEnabled":true,"ExpiresInMinutes":7}')
        first = connection.getresponse()
        assert (first.status, json.loads(first.read())["protection"]["ProtectionEnabled"]) == (200, True)
        connection.request("PUT", path, body=iter([b'{"ProtectionEnabled":', b"false}"]), encode_chunked=True)
        second = connection.getresponse()
        assert (second.status, second.getheader("Content-Type")) == (200, "application/json")
        second.read()
        connection.request("DELETE", path)
        refused = connection.getresponse()
        assert (refused.status, refused.getheader("Content-Type"), refused.read()) == (405, None, b"")
        connection.request("GET", path)
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert ecs.calls == [("update", True, 7), ("update", False, None), ("get", None, None)]


def test_over_http_a_malformed_body_framing_is_a_400(server: EndpointServer, ecs: FakeEcs) -> None:
    connection = http.client.HTTPConnection(*server.addresses[0], timeout=10)
    try:
        connection.putrequest("PUT", state_path(server.registry, ecs))
        connection.putheader("Content-Length", "lots")
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, response.read()) == (400, b"400 Bad Request")
    finally:
        connection.close()
    assert ecs.calls == []
