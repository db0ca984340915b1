"""The engine's shortcuts decide exactly as the rules they stand for: wildcard patterns matched by set
lookup or ``str.startswith`` instead of a regex, condition tests compiled per operator shape, statements
with ``"Resource": "*"`` that skip matching, plans kept per action spelling, the request context table
shared between equal requests, and Decision's own constructor."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.iam import (
    AuthzRequest,
    Decision,
    PolicyKind,
    PolicySet,
    evaluate,
    parse_policy,
    principal_from_arn,
)
from simulator.iam.context import request_keys
from simulator.iam.wildcard import Literal, WildcardSet, translate

from .cases import ACCT, PARAM, SESSION, allow, pol, stmt
from .test_properties import _reference_match

_CHARS = "ab:*?/"
_part = st.one_of(
    st.text(alphabet=_CHARS, max_size=5), st.builds(Literal, st.text(alphabet=_CHARS, max_size=3))
)
_parts = st.lists(_part, max_size=3).map(tuple)
# Trailing stars and five colons in front make the prefix shortcut (also for ARN patterns) common.
_patterns = st.one_of(_parts, _parts.map(lambda p: (*p, "*")), _parts.map(lambda p: ("a:b:c:d:e:", *p, "*")))
_texts = st.one_of(
    st.text(alphabet=_CHARS, max_size=10), st.text(alphabet=_CHARS, max_size=8).map("a:b:c:d:e:".__add__)
)


@settings(max_examples=600)
@given(st.lists(_patterns, min_size=1, max_size=3), st.booleans(), _texts)
def test_wildcard_shortcuts_match_as_the_translated_regex(patterns, arn, text) -> None:
    # "*" alone matches anything, an ARN too; every other pattern as its regex says.
    general = any(p == ("*",) or re.fullmatch(translate(p, arn=arn), text, re.DOTALL) for p in patterns)
    matcher = WildcardSet(patterns, arn=arn)
    assert matcher(text) == matcher.match(text, None) == general


KEY = "s3:x"  # the condition key under test; requests spell it in any case


def _principal():
    return principal_from_arn(SESSION, tags={"team": "app"})


def _allowed(document, context, resource=PARAM, action="ssm:GetParameters") -> bool:
    policy = parse_policy(document, name="p", kind=PolicyKind.IDENTITY)
    request = AuthzRequest(_principal(), action, resource, context)
    return evaluate(request, PolicySet(identity=[policy])).allowed


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# Operator -> (negated, does one request value match one policy value), per the IAM User Guide.
_OPERATORS = {
    "StringEquals": (False, lambda v, p: v == p),
    "StringNotEquals": (True, lambda v, p: v == p),
    "StringEqualsIgnoreCase": (False, lambda v, p: v.lower() == p.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda v, p: v.lower() == p.lower()),
    "StringLike": (False, lambda v, p: _reference_match(p, v)),
    "StringNotLike": (True, lambda v, p: _reference_match(p, v)),
    "BinaryEquals": (False, lambda v, p: v == p),
    "Bool": (False, lambda v, p: v.lower() == p.lower()),
    "NumericLessThan": (False, lambda v, p: _number(v) is not None and _number(v) < float(p)),
    "NumericEquals": (False, lambda v, p: _number(v) is not None and _number(v) == float(p)),
    "NumericNotEquals": (True, lambda v, p: _number(v) is not None and _number(v) == float(p)),
}
_NUMERIC = {name for name in _OPERATORS if name.startswith("Numeric")}


def _reference(operator: str, policy_values: list[str], values: tuple[str, ...] | None) -> bool:
    """The Condition rules as the User Guide states them, one request value at a time."""
    set_op, _, name = operator.rpartition(":")
    if name == "Null":
        return any((not values) == (p == "true") for p in policy_values)
    if_exists = name.endswith("IfExists")
    negated, match = _OPERATORS[name.removesuffix("IfExists")]
    if not values:
        return if_exists or set_op == "ForAllValues" or (negated and not set_op)

    def matches(value: str) -> bool:
        return any(match(value, p) for p in policy_values)

    if set_op == "ForAnyValue":
        return any(matches(v) != negated for v in values)
    if set_op == "ForAllValues":
        return all(matches(v) != negated for v in values)
    return any(matches(v) for v in values) != negated


text = st.text(alphabet="aAb1.*?", max_size=4)
numbers = st.sampled_from(["1", "2.5", "-3", "10", "x", ""])


@st.composite
def conditions(draw):
    name = draw(st.sampled_from([*_OPERATORS, "Null"]))
    if name == "Null":
        return name, draw(st.lists(st.sampled_from(["true", "false"]), min_size=1, max_size=2)), text
    values = numbers if name in _NUMERIC else text
    policy_strategy = st.sampled_from(["1", "2.5", "-3", "10"]) if name in _NUMERIC else text
    name += draw(st.sampled_from(["", "IfExists"]))
    prefix = draw(st.sampled_from(["", "ForAnyValue:", "ForAllValues:"]))
    return prefix + name, draw(st.lists(policy_strategy, min_size=1, max_size=3)), values


@settings(max_examples=600)
@given(conditions(), st.data())
def test_compiled_conditions_decide_as_the_rules(condition, data) -> None:
    operator, policy_values, value_strategy = condition
    shape = data.draw(st.sampled_from(["missing", "one", "list"]))
    spelling = data.draw(st.sampled_from([KEY, KEY.upper(), "S3:X"]))
    if shape == "missing":
        context, values = {}, None
    elif shape == "one":
        value = data.draw(value_strategy)
        context, values = {spelling: value}, (value,)
    else:
        listed = data.draw(st.lists(value_strategy, max_size=3))
        context, values = {spelling: listed}, tuple(listed)
    document = allow(Condition={operator: {KEY: policy_values}})
    assert _allowed(document, context) == _reference(operator, policy_values, values)


resource_text = st.text(alphabet="ab*?:/", max_size=6).map(lambda t: "arn:aws:s3:::" + t)


@settings(max_examples=400)
@given(st.lists(st.one_of(st.just("*"), resource_text), min_size=1, max_size=3), st.booleans(), resource_text)
def test_resource_patterns_with_and_without_a_star_match_as_wildcards(patterns, negated, resource) -> None:
    element = "NotResource" if negated else "Resource"
    document = pol(stmt(action="ssm:*", resource=None, **{element: patterns}))
    expected = any(_reference_match(p, resource) for p in patterns) != negated
    assert _allowed(document, {}, resource=resource) == expected


def test_a_star_resource_statement_matches_nothing_when_negated() -> None:
    policy = parse_policy(
        pol(stmt(resource=["*", "arn:aws:s3:::b/*"]), stmt(resource=None, NotResource="*")),
        name="p",
        kind=PolicyKind.IDENTITY,
    )
    star, not_star = policy.statements
    assert star.resources is None and star.unconditional
    assert not_star.resources is not None and not not_star.unconditional
    assert _allowed(pol(stmt(resource=None, NotResource="*")), {}) is False


def test_a_plan_per_action_spelling_decides_alike() -> None:
    policies = PolicySet(identity=[parse_policy(allow("ssm:Get*"), name="p", kind=PolicyKind.IDENTITY)])
    decisions = [
        evaluate(AuthzRequest(_principal(), action, PARAM, {}), policies)
        for action in ("ssm:GetParameters", "SSM:getparameters", "ssm:GetParameters")
    ]
    assert all(d.allowed for d in decisions)
    assert decisions[0] == decisions[2]
    assert decisions[1].explanation.startswith("SSM:getparameters on ")


def test_the_request_table_follows_every_value_of_the_request() -> None:
    principal = _principal()

    def table(context, resource_account=ACCT):
        return request_keys(AuthzRequest(principal, "s3:GetObject", "*", context), resource_account)

    first = table({"aws:SourceIp": "10.0.0.1", "AWS:SecureTransport": "true"})
    assert first["aws:sourceip"] == ("10.0.0.1",) and first["aws:securetransport"] == ("true",)
    assert first["aws:principaltag/team"] == ("app",) and first["aws:resourceaccount"] == (ACCT,)
    assert table({"aws:SourceIp": "10.0.0.1", "AWS:SecureTransport": "true"}) == first
    assert table({"aws:SourceIp": "10.0.0.2", "AWS:SecureTransport": "true"})["aws:sourceip"] == ("10.0.0.2",)
    assert "aws:securetransport" not in table({"aws:SourceIp": "10.0.0.1"})
    assert table({"aws:SourceIp": "10.0.0.1"}, "444455556666")["aws:resourceaccount"] == ("444455556666",)
    assert "aws:resourceaccount" not in table({"aws:SourceIp": "10.0.0.1"}, None)
    # Spellings of one key: the later wins, whichever order they come in.
    assert table({"aws:sourceip": "a", "AWS:SOURCEIP": "b"})["aws:sourceip"] == ("b",)
    assert table({"AWS:SOURCEIP": "b", "aws:sourceip": "a"})["aws:sourceip"] == ("a",)
    # A list value cannot key the shared table; the table is built afresh each time.
    context = {"aws:TagKeys": ["a", "b"]}
    listed = table(context)
    assert listed["aws:tagkeys"] == ("a", "b")
    context["aws:TagKeys"].append("c")
    assert table(context)["aws:tagkeys"] == ("a", "b", "c")
    # Another principal with the same request keys gets its own caller keys.
    other = principal_from_arn(SESSION, tags={"team": "ops"})
    other_table = request_keys(AuthzRequest(other, "s3:GetObject", "*", {"aws:SourceIp": "10.0.0.1"}), ACCT)
    assert other_table["aws:principaltag/team"] == ("ops",)


def test_decision_is_a_frozen_dataclass() -> None:
    decision = Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "x")
    assert decision.trace == () and not decision.allowed
    assert decision == Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "x", ())
    assert hash(decision) == hash(Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "x"))
    assert decision != Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "y")
    assert dataclasses.replace(decision, effect="Allow", blocked_by=None).allowed
    assert repr(decision) == (
        "Decision(effect='ImplicitDeny', blocked_by=<PolicyKind.IDENTITY: 'identity'>, statements=(), "
        "explanation='x', trace=())"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.effect = "Allow"  # type: ignore[misc]
