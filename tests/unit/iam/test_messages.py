"""denial_message: AWS's exact AccessDenied wording for each policy type and effect."""

from __future__ import annotations

import pytest

from simulator.iam import AuthzRequest, Decision, PolicyKind, denial_message, principal_from_arn

from .cases import ACCT, PARAM, SESSION

PREFIX = f"User: {SESSION} is not authorized to perform: ssm:GetParameters on resource: {PARAM} "
VARIANTS = [
    (
        "ImplicitDeny",
        PolicyKind.IDENTITY,
        "because no identity-based policy allows the ssm:GetParameters action",
    ),
    ("ExplicitDeny", PolicyKind.IDENTITY, "with an explicit deny in an identity-based policy"),
    ("ExplicitDeny", PolicyKind.RESOURCE, "with an explicit deny in a resource-based policy"),
    (
        "ImplicitDeny",
        PolicyKind.RESOURCE,
        "because no resource-based policy allows the ssm:GetParameters action",
    ),
    (
        "ImplicitDeny",
        PolicyKind.BOUNDARY,
        "because no permissions boundary allows the ssm:GetParameters action",
    ),
    ("ExplicitDeny", PolicyKind.BOUNDARY, "with an explicit deny in a permissions boundary"),
    ("ExplicitDeny", PolicyKind.SCP, "with an explicit deny in a service control policy"),
    ("ImplicitDeny", PolicyKind.SCP, "because no service control policy allows the ssm:GetParameters action"),
    ("ImplicitDeny", PolicyKind.SESSION, "because no session policy allows the ssm:GetParameters action"),
    ("ExplicitDeny", PolicyKind.SESSION, "with an explicit deny in a session policy"),
    ("ExplicitDeny", PolicyKind.TRUST, "with an explicit deny in a resource-based policy"),
]


def _request(action: str = "ssm:GetParameters", resource: str = PARAM) -> AuthzRequest:
    return AuthzRequest(principal_from_arn(SESSION), action, resource)


@pytest.mark.parametrize(
    ("effect", "kind", "reason"), VARIANTS, ids=[f"{e}-{k.value}" for e, k, _ in VARIANTS]
)
def test_wording(effect, kind, reason) -> None:
    decision = Decision(effect, kind, (), "x")
    assert denial_message(_request(), decision) == PREFIX + reason


def test_exact_example_from_the_brief() -> None:
    decision = Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "x")
    assert denial_message(_request(), decision) == (
        "User: arn:aws:sts::111122223333:assumed-role/app/s1 is not authorized to perform: ssm:GetParameters "
        "on resource: arn:aws:ssm:us-east-1:111122223333:parameter/app/x because no identity-based policy allows "
        "the ssm:GetParameters action"
    )


def test_s3_quotes_the_resource() -> None:
    decision = Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "x")
    message = denial_message(_request("s3:GetObject", "arn:aws:s3:::b/k"), decision, quote_resource=True)
    assert (
        'on resource: "arn:aws:s3:::b/k" because no identity-based policy allows the s3:GetObject action'
        in message
    )


def test_assume_role_implicit_deny_has_no_reason() -> None:
    role = f"arn:aws:iam::{ACCT}:role/target"
    decision = Decision("ImplicitDeny", PolicyKind.TRUST, (), "x")
    assert denial_message(_request("sts:AssumeRole", role), decision) == (
        f"User: {SESSION} is not authorized to perform: sts:AssumeRole on resource: {role}"
    )


def test_resource_star() -> None:
    decision = Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "x")
    assert " on resource: * because" in denial_message(_request("ecr:GetAuthorizationToken", "*"), decision)


def test_allowed_decision_has_no_message() -> None:
    with pytest.raises(ValueError):
        denial_message(_request(), Decision("Allow", None, (), "x"))
