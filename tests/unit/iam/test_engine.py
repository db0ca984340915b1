"""evaluate() on hand-built policy sets: the decision's reasons, trace and principal context keys."""

from __future__ import annotations

import pytest

from simulator.iam import (
    AuthzRequest,
    PolicyKind,
    PolicySet,
    StatementRef,
    evaluate,
    parse_policy,
    principal_from_arn,
)
from simulator.iam.variables import Variable, parse_template
from simulator.iam.wildcard import Literal, WildcardSet, translate

from .cases import ACCT, KEY, PARAM, ROLE, SESSION, USER, allow, deny, grant, pol, stmt


def _p(doc, kind=PolicyKind.IDENTITY, name="p"):
    return parse_policy(doc, name=name, kind=kind)


def _req(principal=SESSION, action="ssm:GetParameters", resource=PARAM, context=None, tags=None):
    return AuthzRequest(principal_from_arn(principal, tags=tags), action, resource, context or {})


def test_allow_names_every_deciding_statement() -> None:
    policies = PolicySet(
        identity=[_p(pol(stmt(Sid="Ssm", action="ssm:Get*")), name="inline")],
        boundary=_p(allow("ssm:*"), PolicyKind.BOUNDARY, "limit"),
        scps=[_p(allow(), PolicyKind.SCP, "FullAWSAccess")],
    )
    decision = evaluate(_req(), policies)
    assert decision.allowed and decision.blocked_by is None
    assert decision.statements == (
        StatementRef("FullAWSAccess", PolicyKind.SCP, None, 0, "Allow"),
        StatementRef("inline", PolicyKind.IDENTITY, "Ssm", 0, "Allow"),
        StatementRef("limit", PolicyKind.BOUNDARY, None, 0, "Allow"),
    )
    assert "identity policy 'inline', Sid 'Ssm'" in decision.explanation
    assert decision.trace[0].startswith(f"request: {SESSION} -> ssm:GetParameters on {PARAM}")
    assert decision.trace[-1] == "result: Allow"


def test_explicit_deny_lists_all_denying_statements() -> None:
    policies = PolicySet(
        identity=[_p(pol(stmt(), stmt("Deny", "ssm:*", Sid="NoSsm")), name="a")],
        scps=[_p(pol(stmt(), stmt("Deny", "ssm:GetParameters")), PolicyKind.SCP, "guard")],
    )
    decision = evaluate(_req(), policies)
    assert decision.effect == "ExplicitDeny" and decision.blocked_by is PolicyKind.SCP
    assert [(r.policy_name, r.sid, r.effect) for r in decision.statements] == [
        ("guard", None, "Deny"),
        ("a", "NoSsm", "Deny"),
    ]
    assert "(and 1 more)" in decision.explanation


def test_implicit_deny_explains_kms_key_policy() -> None:
    decision = evaluate(_req(action="kms:Decrypt", resource=KEY), PolicySet(identity=[_p(allow())]))
    assert decision.effect == "ImplicitDeny" and decision.statements == ()
    assert "KMS key policy must allow" in decision.explanation


def test_principal_context_keys_are_filled_in() -> None:
    condition = {
        "StringEquals": {
            "aws:PrincipalArn": ROLE,
            "aws:PrincipalAccount": ACCT,
            "aws:PrincipalType": "AssumedRole",
            "aws:PrincipalTag/Team": "app",
            "aws:PrincipalIsAWSService": "false",
        },
        "StringLike": {"aws:userid": "AROA*:s1"},
        "Null": {"aws:username": "true"},
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        "NumericGreaterThan": {"aws:EpochTime": "1577836800"},
    }
    decision = evaluate(_req(tags={"team": "app"}), PolicySet(identity=[_p(allow(Condition=condition))]))
    assert decision.allowed, decision.trace


def test_user_and_service_keys() -> None:
    user_policy = _p(
        allow(Condition={"StringEquals": {"aws:username": "alice", "aws:PrincipalType": "User"}})
    )
    assert evaluate(_req(principal=USER), PolicySet(identity=[user_policy])).allowed
    trust = _p(
        grant(
            {"Service": "ecs-tasks.amazonaws.com"},
            "sts:AssumeRole",
            None,
            Condition={"StringEquals": {"aws:PrincipalServiceName": "ecs-tasks.amazonaws.com"}},
        ),
        PolicyKind.TRUST,
    )
    request = _req(principal="ecs-tasks.amazonaws.com", action="sts:AssumeRole", resource=ROLE)
    assert evaluate(request, PolicySet(resource=trust)).allowed


def test_request_context_overrides_engine_keys() -> None:
    policy = _p(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2021-01-01T00:00:00Z"}}))
    assert not evaluate(_req(), PolicySet(identity=[policy])).allowed
    assert evaluate(
        _req(context={"aws:CurrentTime": "2020-06-01T00:00:00Z"}), PolicySet(identity=[policy])
    ).allowed


def test_same_policy_set_many_actions() -> None:
    policies = PolicySet(identity=[_p(pol(stmt(action="s3:*"), stmt("Deny", "s3:Delete*")))])
    results = [
        evaluate(_req(action=a, resource="arn:aws:s3:::b/k"), policies).effect
        for a in ("s3:GetObject", "s3:DeleteObject", "ssm:GetParameter")
    ]
    assert results == ["Allow", "ExplicitDeny", "ImplicitDeny"]


def test_deny_only_scp_blocks_everything() -> None:
    decision = evaluate(_req(), PolicySet(identity=[_p(allow())], scps=[_p(deny("iam:*"), PolicyKind.SCP)]))
    assert (decision.effect, decision.blocked_by) == ("ImplicitDeny", PolicyKind.SCP)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("plain", ("plain",)),
        ("a/${aws:username}/b", ("a/", Variable("aws:username", None), "/b")),
        ("${aws:PrincipalTag/team, 'none'}", (Variable("aws:principaltag/team", "none"),)),
        ("${ aws:x ,'d e' }", (Variable("aws:x", "d e"),)),
        ("x${*}${?}${$}", ("x", Literal("*"), Literal("?"), Literal("$"))),
        ("${}", ("${}",)),
    ],
)
def test_parse_template(text, parts) -> None:
    assert parse_template(text) == parts


def test_no_variables_before_2012_version() -> None:
    assert parse_template("a/${aws:username}", substitute=False) == ("a/${aws:username}",)


def test_arn_component_wildcards() -> None:
    matcher = WildcardSet([("arn:aws:sns:*:111122223333:*",)], arn=True)
    assert matcher("arn:aws:sns:us-east-1:111122223333:topic:with:colons")
    assert not matcher("arn:aws:sns:us-east-1:extra:111122223333:topic")
    assert translate(("a**b",)) == translate(("a*b",))


def test_plans_are_shared_by_equal_policy_sets() -> None:
    from simulator.iam.evaluate import _plan

    identity = [_p(allow("ssm:*"))]
    first = _plan(PolicySet(identity=identity), "ssm:getparameters", False)
    assert _plan(PolicySet(identity=list(identity)), "ssm:getparameters", False) is first
    assert _plan(PolicySet(identity=[_p(allow("ssm:*"))]), "ssm:getparameters", False) is not first


def test_trace_says_why_allow_statements_miss() -> None:
    identity = _p(
        pol(
            stmt(Sid="Other", action="ssm:Get*", resource=f"arn:aws:ssm:us-east-1:{ACCT}:parameter/other/*"),
            stmt(Sid="Tls", action="ssm:*", Condition={"Bool": {"aws:SecureTransport": "true"}}),
        ),
        name="inline",
    )
    key_policy = _p(grant({"AWS": f"arn:aws:iam::{ACCT}:role/admin"}, "kms:*"), PolicyKind.RESOURCE, "key")
    denied = evaluate(_req(context={"aws:SecureTransport": "false"}), PolicySet(identity=[identity]))
    assert (
        "Sid 'Other': its Resource does not match; identity policy 'inline', Sid 'Tls': condition Bool "
        "aws:SecureTransport is not met" in denied.trace[-2]
    )
    kms = evaluate(_req(action="kms:Decrypt", resource=KEY), PolicySet(resource=key_policy))
    assert "statement #0: its Principal does not name the caller" in kms.trace[-2]
    nothing = evaluate(_req(), PolicySet(identity=[_p(allow("s3:*"))]))
    assert nothing.trace[-2].endswith("(no statement covers the action)")
