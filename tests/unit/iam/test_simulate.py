"""simulate(): request documents in, decisions with AWS messages out; bad input names the field."""

from __future__ import annotations

import json

import pytest

from simulator.errors import InputError
from simulator.iam import MalformedPolicyDocument, PrincipalType, principal_from_arn, simulate

from .cases import ACCT, KEY, PARAM, ROLE, SESSION, allow, deny, grant, pol, stmt


def _request(**overrides):
    return {
        "principal": SESSION,
        "action": "ssm:GetParameters",
        "resource": PARAM,
        "identity_policies": [allow("ssm:GetParameters", PARAM)],
        **overrides,
    }


def test_allow_result_json() -> None:
    (result,) = simulate(_request(), source="req.json")
    out = result.to_json()
    assert out["decision"] == "Allow" and out["message"] is None and out["blocked_by"] is None
    assert out["statements"] == [
        {"policy": "identity_policies[0]", "kind": "identity", "sid": None, "index": 0, "effect": "Allow"}
    ]
    json.dumps(out)


def test_denied_result_has_aws_message() -> None:
    (result,) = simulate(_request(identity_policies=[]), source="req.json")
    out = result.to_json()
    assert out["decision"] == "ImplicitDeny" and out["blocked_by"] == "identity"
    assert out["message"] == (
        f"User: {SESSION} is not authorized to perform: ssm:GetParameters on resource: {PARAM} "
        "because no identity-based policy allows the ssm:GetParameters action"
    )


def test_array_of_requests_and_render_text() -> None:
    results = simulate(
        [_request(), _request(identity_policies=[allow(), deny("ssm:*")])],
        source="req.json",
    )
    assert [r.decision.effect for r in results] == ["Allow", "ExplicitDeny"]
    text = results[1].render_text()
    assert "ExplicitDeny" in text and "with an explicit deny in an identity-based policy" in text
    assert "1. request:" in text


def test_context_values_arrive_as_json() -> None:
    policy = allow(
        Condition={
            "Bool": {"aws:SecureTransport": "false"},
            "NumericLessThan": {"s3:max-keys": "60"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]},
        }
    )
    context = {"aws:SecureTransport": False, "s3:max-keys": 50, "aws:TagKeys": ["a", "b"]}
    (result,) = simulate(_request(identity_policies=[policy], context=context), source="r")
    assert result.decision.allowed


def test_principal_tags_and_trust_kind() -> None:
    request = {
        "principal": "ecs-tasks.amazonaws.com",
        "action": "sts:AssumeRole",
        "resource": ROLE,
        "resource_policy": grant({"Service": "ecs-tasks.amazonaws.com"}, "sts:AssumeRole", None),
    }
    (result,) = simulate(request, source="r")
    assert result.decision.allowed
    (tagged,) = simulate(
        _request(
            principal_tags={"team": "app"},
            identity_policies=[allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "app"}})],
        ),
        source="r",
    )
    assert tagged.decision.allowed


def test_scps_boundary_session_fields() -> None:
    (result,) = simulate(
        _request(scps=[allow()], permission_boundary=allow("ssm:*"), session_policy=allow("s3:*")), source="r"
    )
    assert (result.decision.effect, result.decision.blocked_by.value) == ("ImplicitDeny", "session")
    assert "because no session policy allows" in result.message


def test_kms_key_policy_via_resource_policy() -> None:
    (result,) = simulate(
        _request(action="kms:Decrypt", resource=KEY, identity_policies=[allow("kms:Decrypt")]), source="r"
    )
    assert "because no resource-based policy allows the kms:Decrypt action" in result.message


def test_warnings_for_unknown_actions() -> None:
    (result,) = simulate(
        _request(
            action="ssm:GetParameterz",
            identity_policies=[allow(["ssm:GetParamters", "ssm:Get*", "nosuch:X"])],
        ),
        source="r",
    )
    assert result.warnings == (
        "ssm:GetParameterz is not a known IAM action",
        "identity_policies[0] names unknown action ssm:GetParamters",
        "identity_policies[0] names unknown action nosuch:X",
    )


@pytest.mark.parametrize(
    ("request_json", "where"),
    [
        ([], "r.json"),
        ([_request(), "x"], "r.json: request[1]"),
        ([_request(), _request(action="GetParameters")], "r.json: request[1].action"),
        (_request(action=None), "r.json: request.action"),
        (_request(principal="bob"), "r.json: request.principal"),
        (_request(principal="arn:aws:s3:::bucket"), "r.json: request.principal"),
        (_request(context={"aws:SourceIp": {"a": 1}}), "r.json: request.context.aws:SourceIp"),
        (_request(context=["a"]), "r.json: request.context"),
        (_request(resource_account="123"), "r.json: request.resource_account"),
        (_request(principal_tags={"team": 1}), "r.json: request.principal_tags"),
        (_request(identity_policies={"Statement": []}), "r.json: request.identity_policies"),
        ({**_request(), "identity_policy": []}, "r.json: request.identity_policy"),
    ],
)
def test_bad_input_names_the_field(request_json, where) -> None:
    with pytest.raises(InputError) as info:
        simulate(request_json, source="r.json")
    assert info.value.where == where


def test_malformed_policy_names_request_field_and_statement() -> None:
    bad = pol(stmt(), stmt(Sid="Oops", Principal="*"))
    with pytest.raises(MalformedPolicyDocument) as info:
        simulate([_request(), _request(identity_policies=[allow(), bad])], source="r.json")
    assert "r.json: request[1].identity_policies[1]" in str(info.value)
    assert "Sid 'Oops'" in str(info.value)
    assert info.value.message == "Policy document should not specify a principal."


@pytest.mark.parametrize(
    ("arn", "kind", "role_arn", "extra"),
    [
        (SESSION, PrincipalType.ASSUMED_ROLE, ROLE, {"session_name": "s1"}),
        (ROLE, PrincipalType.ASSUMED_ROLE, ROLE, {}),
        (f"arn:aws:iam::{ACCT}:user/dev/alice", PrincipalType.USER, None, {"username": "alice"}),
        (f"arn:aws:iam::{ACCT}:root", PrincipalType.ROOT, None, {"userid": ACCT}),
        (
            "ecs-tasks.amazonaws.com",
            PrincipalType.SERVICE,
            None,
            {"service": "ecs-tasks.amazonaws.com", "account": ""},
        ),
    ],
)
def test_principal_from_arn(arn, kind, role_arn, extra) -> None:
    principal = principal_from_arn(arn)
    assert (principal.arn, principal.type, principal.role_arn) == (arn, kind, role_arn)
    for key, value in extra.items():
        assert getattr(principal, key) == value
    if kind is not PrincipalType.SERVICE:
        assert principal.account == ACCT


def test_session_userid_is_role_id_and_session() -> None:
    principal = principal_from_arn(SESSION)
    assert principal.userid.startswith("AROA") and principal.userid.endswith(":s1")
    assert principal_from_arn(SESSION).userid == principal.userid


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "alice",
        "arn:aws:iam::1234:user/x",
        "arn:aws:sts::111122223333:federated-user/x",
        "arn:aws:iam::111122223333:group/g",
    ],
)
def test_principal_from_arn_rejects(arn) -> None:
    with pytest.raises(InputError):
        principal_from_arn(arn)
