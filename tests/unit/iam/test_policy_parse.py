"""Policy validation: IAM's MalformedPolicyDocument cases, and what a parsed Policy exposes."""

from __future__ import annotations

import json

import pytest

from simulator.errors import InputError
from simulator.iam import MalformedPolicyDocument, PolicyKind, parse_policy

from .cases import ROLE, pol, stmt

IDENTITY = PolicyKind.IDENTITY
RESOURCE = PolicyKind.RESOURCE
TRUST = PolicyKind.TRUST

MALFORMED = [
    ("not-json", "{", IDENTITY, "This policy contains invalid Json"),
    ("json-array", "[]", IDENTITY, "This policy contains invalid Json"),
    ("unknown-top-level", {"Version": "2012-10-17", "Statment": []}, IDENTITY, "Unknown element 'Statment'"),
    (
        "bad-version",
        {"Version": "2012-10-18", "Statement": [stmt()]},
        IDENTITY,
        "The policy failed legacy parsing",
    ),
    ("no-statement", {"Version": "2012-10-17"}, IDENTITY, "Syntax errors in policy"),
    ("empty-statement-list", pol(), IDENTITY, "Syntax errors in policy"),
    (
        "statement-not-object",
        {"Version": "2012-10-17", "Statement": ["x"]},
        IDENTITY,
        "must be a JSON object",
    ),
    ("missing-effect", pol({"Action": "*", "Resource": "*"}), IDENTITY, "Missing required field Effect"),
    ("bad-effect", pol(stmt("allow")), IDENTITY, "Invalid effect"),
    ("unknown-element", pol({**stmt(), "Actions": "s3:*"}), IDENTITY, "Unknown element 'Actions'"),
    (
        "identity-with-principal",
        pol(stmt(Principal="*")),
        IDENTITY,
        "Policy document should not specify a principal.",
    ),
    (
        "boundary-with-principal",
        pol(stmt(Principal="*")),
        PolicyKind.BOUNDARY,
        "should not specify a principal",
    ),
    (
        "scp-with-notprincipal",
        pol(stmt(NotPrincipal={"AWS": ROLE})),
        PolicyKind.SCP,
        "should not specify a principal",
    ),
    ("resource-without-principal", pol(stmt()), RESOURCE, "Missing required field Principal"),
    ("trust-without-principal", pol(stmt(resource=None)), TRUST, "Missing required field Principal"),
    ("trust-with-resource", pol(stmt(Principal="*")), TRUST, "Has prohibited field Resource"),
    ("action-and-notaction", pol({**stmt(), "NotAction": "s3:*"}), IDENTITY, "both Action and NotAction"),
    (
        "resource-and-notresource",
        pol({**stmt(), "NotResource": "*"}),
        IDENTITY,
        "both Resource and NotResource",
    ),
    (
        "principal-and-notprincipal",
        pol(stmt(Principal="*", NotPrincipal="*")),
        RESOURCE,
        "Principal and NotPrincipal",
    ),
    (
        "no-action",
        pol({"Effect": "Allow", "Resource": "*"}),
        IDENTITY,
        "Policy statement must contain actions.",
    ),
    ("no-resource", pol(stmt(resource=None)), IDENTITY, "Policy statement must contain resources."),
    ("action-without-vendor", pol(stmt(action="GetObject")), IDENTITY, "must be prefaced by a vendor"),
    ("action-bad-characters", pol(stmt(action="s3:Get Object")), IDENTITY, "Invalid action"),
    ("empty-action-list", pol(stmt(action=[])), IDENTITY, "non-empty list of strings"),
    ("action-not-string", pol(stmt(action=[1])), IDENTITY, "non-empty list of strings"),
    (
        "resource-not-arn",
        pol(stmt(resource="bucket/*")),
        IDENTITY,
        'Resource bucket/* must be in ARN format or "*".',
    ),
    (
        "duplicate-sid",
        pol(stmt(Sid="A"), stmt(Sid="A")),
        IDENTITY,
        "Statement IDs (SID) in a single policy must be unique.",
    ),
    ("non-alnum-sid", pol(stmt(Sid="allow all")), IDENTITY, "Statement IDs (SID) must be alpha-numeric"),
    (
        "bad-operator",
        pol(stmt(Condition={"StringEqualz": {"aws:x": "y"}})),
        IDENTITY,
        "Invalid Condition type : StringEqualz",
    ),
    (
        "bad-set-prefix",
        pol(stmt(Condition={"ForSomeValues:StringEquals": {"aws:x": "y"}})),
        IDENTITY,
        "Invalid Condition",
    ),
    (
        "null-if-exists",
        pol(stmt(Condition={"NullIfExists": {"aws:x": "true"}})),
        IDENTITY,
        "Invalid Condition type",
    ),
    ("condition-not-object", pol(stmt(Condition=["x"])), IDENTITY, "Condition must be an object"),
    (
        "condition-key-no-vendor",
        pol(stmt(Condition={"StringEquals": {"SourceIp": "y"}})),
        IDENTITY,
        "prefaced by a vendor",
    ),
    (
        "condition-value-object",
        pol(stmt(Condition={"StringEquals": {"aws:x": {"a": 1}}})),
        IDENTITY,
        "strings, numbers",
    ),
    (
        "condition-empty-values",
        pol(stmt(Condition={"StringEquals": {"aws:x": []}})),
        IDENTITY,
        "Empty value list",
    ),
    (
        "bad-cidr",
        pol(stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}})),
        IDENTITY,
        "Invalid IP address",
    ),
    (
        "bad-number",
        pol(stmt(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})),
        IDENTITY,
        "Invalid numeric value",
    ),
    (
        "bad-date",
        pol(stmt(Condition={"DateLessThan": {"aws:CurrentTime": "tomorrow"}})),
        IDENTITY,
        "Invalid date value",
    ),
    ("principal-bad-type", pol(stmt(Principal={"Amazon": "*"})), RESOURCE, "Invalid principal in policy"),
    (
        "principal-partial-wildcard",
        pol(stmt(Principal={"AWS": "arn:aws:iam::111122223333:role/*"})),
        RESOURCE,
        "Invalid principal",
    ),
    (
        "principal-not-arn",
        pol(stmt(Principal={"AWS": "alice"})),
        RESOURCE,
        'Invalid principal in policy: "AWS":"alice"',
    ),
    ("principal-empty-list", pol(stmt(Principal={"AWS": []})), RESOURCE, "Invalid principal"),
]


@pytest.mark.parametrize(
    ("doc", "kind", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed(doc, kind, message) -> None:
    with pytest.raises(MalformedPolicyDocument) as info:
        parse_policy(doc, name="p1", kind=kind)
    assert message in info.value.message
    assert "'p1'" in str(info.value)
    assert isinstance(info.value, InputError)


def test_error_names_sid_or_index() -> None:
    with pytest.raises(MalformedPolicyDocument) as info:
        parse_policy(pol(stmt(Sid="Good"), stmt(Sid="Bad", Principal="*")), name="inline", kind=IDENTITY)
    assert info.value.where == "identity policy 'inline', Sid 'Bad'"
    with pytest.raises(MalformedPolicyDocument) as info:
        parse_policy(pol(stmt(), stmt(action="x")), name="inline", kind=IDENTITY)
    assert info.value.where == "identity policy 'inline', statement #1"


def test_parsed_policy_keeps_document_and_statements() -> None:
    doc = pol(stmt(Sid="A", action="s3:GetObject"), stmt("Deny", "s3:DeleteObject"))
    policy = parse_policy(json.dumps(doc), name="p", kind=IDENTITY)
    assert (policy.name, policy.kind, policy.document) == ("p", IDENTITY, doc)
    assert [(s.ref.sid, s.ref.index, s.effect) for s in policy.statements] == [
        ("A", 0, "Allow"),
        (None, 1, "Deny"),
    ]


def test_single_statement_object_and_missing_version() -> None:
    policy = parse_policy({"Statement": stmt()}, name="p", kind=IDENTITY)
    assert policy.version == "2008-10-17" and len(policy.statements) == 1


@pytest.mark.parametrize(
    "doc",
    [
        pol(stmt(Condition={"forallvalues:stringlikeifexists": {"aws:TagKeys": ["a*"]}})),
        pol(stmt(Condition={"Bool": {"aws:SecureTransport": False}, "NumericLessThan": {"s3:max-keys": 10}})),
        pol(stmt(action=["s3:Get*", "ssm:GetParameter?"], resource=["arn:aws:s3:::b/*", "*"])),
        pol(stmt(Sid="")),
    ],
)
def test_valid_variants(doc) -> None:
    parse_policy(doc, name="p", kind=IDENTITY)


def test_resource_policy_may_omit_resource() -> None:
    policy = parse_policy(
        pol(stmt(resource=None, Principal={"Service": "ecs-tasks.amazonaws.com"})), name="p", kind=RESOURCE
    )
    assert policy.statements[0].resources is None


def test_for_action_is_cached_and_split_by_effect() -> None:
    policy = parse_policy(
        pol(stmt(action="s3:*"), stmt("Deny", "s3:Delete*"), stmt(action="ssm:*")), name="p", kind=IDENTITY
    )
    denies, allows = policy.for_action("s3:deleteobject")
    assert [s.ref.index for s in denies] == [1] and [s.ref.index for s in allows] == [0]
    assert policy.for_action("s3:deleteobject") is policy.for_action("s3:deleteobject")
