"""Properties that must hold for any input (hypothesis)."""

from __future__ import annotations

import contextlib
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.iam import (
    AuthzRequest,
    MalformedPolicyDocument,
    PolicyKind,
    PolicySet,
    evaluate,
    parse_policy,
    principal_from_arn,
)
from simulator.iam.wildcard import WildcardSet

from .cases import ACCT, ROLE, SESSION

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
ELEMENTS = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
]
element_values = st.one_of(
    json_values,
    st.sampled_from(
        ["Allow", "Deny", "*", "s3:Get*", "arn:aws:s3:::b/*", "ssm:GetParameter?", "${aws:username}"]
    ),
    st.dictionaries(
        st.sampled_from(["AWS", "Service", "StringEquals", "ForAnyValue:StringLike", "IpAddress"]),
        json_values,
    ),
)
statement_like = st.dictionaries(st.sampled_from(ELEMENTS), element_values, max_size=7)
policy_like = st.fixed_dictionaries(
    {"Statement": st.one_of(statement_like, st.lists(statement_like, max_size=3), json_values)},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "2020-01-01"]), "Id": json_values},
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, policy_like, st.text(max_size=30)), st.sampled_from(list(PolicyKind)))
def test_any_input_parses_or_is_malformed(document, kind) -> None:
    with contextlib.suppress(MalformedPolicyDocument):
        parse_policy(document, name="fuzz", kind=kind)


ACTIONS = ["s3:GetObject", "s3:PutObject", "ssm:GetParameters", "kms:Decrypt", "iam:PassRole"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::b/x/y", f"arn:aws:ssm:us-east-1:{ACCT}:parameter/a", "*"]
action_patterns = st.sampled_from(
    ["*", "s3:*", "s3:Get*", "ssm:GetParameter?", "kms:Decrypt", "iam:*", "S3:get*"]
)
resource_patterns = st.sampled_from(
    ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/?", "arn:aws:ssm:*:*:parameter/*"]
)
conditions = st.sampled_from(
    [
        None,
        {"Bool": {"aws:SecureTransport": "true"}},
        {"StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}},
        {"ForAnyValue:StringLike": {"aws:TagKeys": ["a*"]}},
        {"StringNotEquals": {"aws:PrincipalTag/team": "x"}},
        {"StringLike": {"aws:userid": "${aws:userid}"}, "Null": {"aws:username": "true"}},
        {"ForAllValues:ArnLike": {"aws:TagKeys": "arn:aws:*"}, "NumericLessThanIfExists": {"s3:max-keys": 5}},
    ]
)


@st.composite
def statements(draw, effect=None):
    out = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        "Action" if draw(st.booleans()) else "NotAction": draw(
            st.lists(action_patterns, min_size=1, max_size=2)
        ),
        "Resource" if draw(st.integers(0, 3)) else "NotResource": draw(resource_patterns),
    }
    condition = draw(conditions)
    if condition:
        out["Condition"] = condition
    return out


def _policy(stmts, kind=PolicyKind.IDENTITY, name="p"):
    return parse_policy({"Version": "2012-10-17", "Statement": stmts}, name=name, kind=kind)


@st.composite
def scenarios(draw):
    identity = draw(st.lists(st.lists(statements(), min_size=1, max_size=4), max_size=3))
    boundary = draw(st.none() | st.lists(statements(), min_size=1, max_size=3))
    session = draw(st.none() | st.lists(statements(), min_size=1, max_size=3))
    context = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "aws:SecureTransport": st.sampled_from(["true", "false"]),
                "aws:RequestedRegion": st.sampled_from(["us-east-1", "eu-west-1"]),
                "aws:TagKeys": st.lists(st.sampled_from(["a1", "b", "c"]), max_size=2),
            },
        )
    )
    request = AuthzRequest(
        _principal(), draw(st.sampled_from(ACTIONS)), draw(st.sampled_from(RESOURCES)), context
    )
    return identity, boundary, session, request


@cache
def _principal():
    return principal_from_arn(SESSION, tags={"team": "app"})


def _policy_set(identity, boundary, session, extra_identity=()):
    return PolicySet(
        identity=[_policy(s, name=f"id{n}") for n, s in enumerate([*identity, *extra_identity])],
        boundary=_policy(boundary, PolicyKind.BOUNDARY, "b") if boundary else None,
        session=_policy(session, PolicyKind.SESSION, "s") if session else None,
    )


@settings(max_examples=150)
@given(scenarios())
def test_explicit_deny_always_wins(scenario) -> None:
    identity, boundary, session, request = scenario
    deny_all = [{"Effect": "Deny", "Action": "*", "Resource": "*"}]
    policies = _policy_set(identity, boundary, session, extra_identity=[deny_all])
    decision = evaluate(request, policies)
    assert decision.effect == "ExplicitDeny"
    assert any(ref.policy_name == f"id{len(identity)}" for ref in decision.statements)


@settings(max_examples=150)
@given(scenarios(), statements(effect="Allow"))
def test_adding_an_allow_never_turns_allow_into_deny(scenario, extra) -> None:
    identity, boundary, session, request = scenario
    before = evaluate(request, _policy_set(identity, boundary, session))
    after = evaluate(request, _policy_set(identity, boundary, session, extra_identity=[[extra]]))
    if before.allowed:
        assert after.allowed
    if after.effect == "ExplicitDeny":
        assert before.effect == "ExplicitDeny"


@settings(max_examples=150)
@given(scenarios())
def test_decision_is_explained(scenario) -> None:
    identity, boundary, session, request = scenario
    decision = evaluate(request, _policy_set(identity, boundary, session))
    assert decision.explanation and decision.trace[-1] == f"result: {decision.effect}"
    assert (decision.blocked_by is None) == decision.allowed


def _reference_match(pattern: str, text: str) -> bool:
    """The textbook dynamic-programming matcher for ``*`` and ``?`` (every other character literal)."""
    rows = [[False] * (len(text) + 1) for _ in range(len(pattern) + 1)]
    rows[0][0] = True
    for i, p in enumerate(pattern, 1):
        rows[i][0] = rows[i - 1][0] and p == "*"
        for j, c in enumerate(text, 1):
            if p == "*":
                rows[i][j] = rows[i - 1][j] or rows[i][j - 1]
            else:
                rows[i][j] = rows[i - 1][j - 1] and (p == "?" or p == c)
    return rows[-1][-1]


wild_text = st.text(alphabet="ab*?.:/[]+\\$^(){}|\n", max_size=10)


@settings(max_examples=500)
@given(wild_text, st.text(alphabet="ab*?.:/[]+\\$^(){}|\n", max_size=10))
def test_wildcard_matches_reference(pattern, text) -> None:
    assert WildcardSet([(pattern,)])(text) == _reference_match(pattern, text)


@settings(max_examples=300)
@given(st.lists(wild_text, min_size=1, max_size=3), wild_text)
def test_wildcard_set_is_any_of_its_patterns(patterns, text) -> None:
    assert WildcardSet([(p,) for p in patterns])(text) == any(_reference_match(p, text) for p in patterns)


def test_role_fixture_is_the_session_role() -> None:
    assert _principal().role_arn == ROLE
