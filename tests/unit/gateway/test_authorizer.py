"""The authorizer's one per-check decision, shared by the gateway and ``Simulator.authorize``: the resource's
tags (never a bucket's for its objects), its policy, and the same question asked again for another role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from simulator.gateway.authorizer import Authorizer, DecisionRecord, RequestFacts, request_context
from simulator.gateway.parsing import parse_request
from simulator.gateway.resources import check_on, checks_for
from simulator.iam.model import PolicyKind, PolicySet, Principal
from simulator.iam.policy import parse_policy
from simulator.iam.principals import principal_from_arn
from simulator.policy_source import ResourceInfo
from simulator.sessions import Session

from .test_resources import ACCOUNT, KEY_ARN, PLACE, SECRET_ARN, FakeLookups
from .wire import capture

BUCKET_ARN = "arn:aws:s3:::blue-data"
OBJECT_ARN = f"{BUCKET_ARN}/hello.txt"
BLUE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "s3:GetObject", "s3:ListBucket", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
        }
    ],
}
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
        }
    ],
}


class FakePolicies:
    """``PolicySource`` of one role (allowed only on what is tagged team=blue), a secret under a customer
    managed key, and a bucket; ``team`` is the tag of both the secret and the bucket."""

    def __init__(self, team: str) -> None:
        self._team = team
        self._role = PolicySet(identity=(parse_policy(BLUE_ONLY, name="abac", kind=PolicyKind.IDENTITY),))

    def principal_policies(self, principal: Principal) -> PolicySet:
        return self._role

    def resource_info(self, arn: str) -> ResourceInfo:
        tags = {"team": self._team}
        if arn == SECRET_ARN:
            return ResourceInfo(arn, True, tags=tags, kms_key_arn=KEY_ARN)
        if arn == BUCKET_ARN:
            return ResourceInfo(arn, True, tags=tags)
        if arn == KEY_ARN:
            key_policy = parse_policy(KEY_POLICY, name="key", kind=PolicyKind.RESOURCE)
            return ResourceInfo(arn, True, policy=key_policy, tags={"team": "blue"})
        raise AssertionError(f"the authorizer asked about {arn}, which no check names")

    def invalidate(self) -> None:
        pass


PRINCIPAL = principal_from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/task")
SESSION = Session("AKID", "secret", None, None, PRINCIPAL, label="task")
FACTS = RequestFacts("secretsmanager", "GetSecretValue", "us-east-1", "10.0.0.7", "AccessDeniedException")


def request_checks(service: str, method: str, **params: Any) -> list[Any]:
    return checks_for(parse_request(capture(service, method, **params), service), PLACE, FakeLookups())


@pytest.mark.parametrize(
    ("service", "method", "params"),
    [
        ("secretsmanager", "get_secret_value", {"SecretId": "app/db"}),
        ("s3", "get_object", {"Bucket": "blue-data", "Key": "hello.txt"}),
        ("s3", "list_objects_v2", {"Bucket": "blue-data"}),
        ("s3", "copy_object", {"Bucket": "blue-data", "Key": "copy", "CopySource": "blue-data/hello.txt"}),
    ],
)
def test_a_check_named_by_its_arn_is_the_check_the_request_raises(
    service: str, method: str, params: Any
) -> None:
    for check in request_checks(service, method, **params):
        named = check_on(check.action, check.resource)
        assert (named.policy_arn, named.kms) == (check.policy_arn, check.kms), check


@pytest.mark.parametrize(("team", "allowed"), [("blue", True), ("red", False)])
def test_resource_tags_decide(team: str, allowed: bool) -> None:
    authorizer = Authorizer(FakePolicies(team), None)
    context = request_context("us-east-1", "10.0.0.7")
    for action, resource in (("secretsmanager:GetSecretValue", SECRET_ARN), ("s3:ListBucket", BUCKET_ARN)):
        request, decision = authorizer.decide(PRINCIPAL, check_on(action, resource), context)
        assert decision.allowed is allowed, decision.explanation
        assert request.context["aws:ResourceTag/team"] == team
        assert request.context[f"{action.split(':')[0]}:ResourceTag/team"] == team


def test_an_object_does_not_carry_its_buckets_tags() -> None:
    authorizer = Authorizer(FakePolicies("blue"), None)
    [check] = request_checks("s3", "get_object", Bucket="blue-data", Key="hello.txt")
    request, decision = authorizer.decide(PRINCIPAL, check, request_context("us-east-1", "10.0.0.7"))
    assert not decision.allowed
    assert not any(key.lower().startswith(("aws:resourcetag/", "s3:resourcetag/")) for key in request.context)


def test_a_recorded_decision_is_asked_again_with_the_same_keys() -> None:
    """What wrong-role detection relies on: the record's keys (the kms:Decrypt via Secrets Manager keys
    included) give the same decision when the question is asked again by ARN."""
    records: list[DecisionRecord] = []
    authorizer = Authorizer(FakePolicies("blue"), records.append)
    assert (
        authorizer.authorize(
            SESSION, FACTS, request_checks("secretsmanager", "get_secret_value", SecretId="app/db")
        )
        is None
    )
    assert [(r.action, r.resource, r.via) for r in records] == [
        ("secretsmanager:GetSecretValue", SECRET_ARN, None),
        ("kms:Decrypt", KEY_ARN, "secretsmanager"),
    ]
    for record in records:
        assert record.decision.allowed
        _, again = authorizer.decide(PRINCIPAL, check_on(record.action, record.resource), record.context)
        assert again.allowed, again.explanation
    _, without_via = authorizer.decide(
        PRINCIPAL, check_on("kms:Decrypt", KEY_ARN), request_context("us-east-1", "10.0.0.7")
    )
    assert not without_via.allowed  # the key policy allows only via Secrets Manager


def test_records_keep_the_request_keys() -> None:
    records: list[DecisionRecord] = []
    Authorizer(FakePolicies("red"), records.append).authorize(
        SESSION, FACTS, request_checks("secretsmanager", "get_secret_value", SecretId="app/db")
    )
    [record] = records
    assert not record.decision.allowed and record.at <= datetime.now(UTC)
    assert record.context["aws:SourceIp"] == "10.0.0.7"
    assert record.context["secretsmanager:SecretId"] == "app/db"
    assert record.context["aws:ResourceTag/team"] == "red"


# --- S3 objects under a customer managed key --------------------------------------------------------------

S3_FACTS = RequestFacts("s3", "GetObject", "us-east-1", "10.0.0.7", "AccessDenied")
VIA_S3_ONLY_FOR_OBJECTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KEY_ARN,
            "Condition": {
                "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{BUCKET_ARN}/*"},
            },
        },
    ],
}


class S3Policies:
    """A bucket whose default encryption is the customer managed key ``KEY_ARN``, holding an SSE-S3 object,
    an SSE-KMS object and one under an S3 Bucket Key; the role may use the key only through S3 and only
    with an object's ARN as encryption context. The key policy delegates to IAM."""

    def principal_policies(self, principal: Principal) -> PolicySet:
        return PolicySet(
            identity=(parse_policy(VIA_S3_ONLY_FOR_OBJECTS, name="s3", kind=PolicyKind.IDENTITY),)
        )

    def resource_info(self, arn: str) -> ResourceInfo:
        objects = {
            f"{BUCKET_ARN}/plain.txt": ResourceInfo(f"{BUCKET_ARN}/plain.txt", True),
            f"{BUCKET_ARN}/cmk.txt": ResourceInfo(f"{BUCKET_ARN}/cmk.txt", True, kms_key_arn=KEY_ARN),
            f"{BUCKET_ARN}/bk.txt": ResourceInfo(
                f"{BUCKET_ARN}/bk.txt", True, kms_key_arn=KEY_ARN, kms_bucket_key=True
            ),
        }
        if arn in objects:
            return objects[arn]
        if arn == BUCKET_ARN:
            return ResourceInfo(arn, True, kms_key_arn=KEY_ARN)
        if arn == KEY_ARN:
            root = {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
            policy = parse_policy(
                {"Version": "2012-10-17", "Statement": [root]}, name="key", kind=PolicyKind.RESOURCE
            )
            return ResourceInfo(arn, True, policy=policy)
        raise AssertionError(f"the authorizer asked about {arn}, which no check names")

    def invalidate(self) -> None:
        pass


def s3_records(method: str, key: str, **params: Any) -> tuple[Any, list[DecisionRecord]]:
    records: list[DecisionRecord] = []
    checks = request_checks("s3", method, Bucket="blue-data", Key=key, **params)
    denial = Authorizer(S3Policies(), records.append).authorize(SESSION, S3_FACTS, checks)
    return denial, records


def test_an_sse_s3_object_needs_no_key() -> None:
    denial, records = s3_records("get_object", "plain.txt")
    assert denial is None
    assert [r.action for r in records] == ["s3:GetObject"]


@pytest.mark.parametrize("method", ["get_object", "head_object"])
def test_reading_an_sse_kms_object_is_a_decrypt_via_s3_naming_the_object(method: str) -> None:
    denial, records = s3_records(method, "cmk.txt")
    assert denial is None
    assert [(r.action, r.resource, r.via) for r in records] == [
        ("s3:GetObject", f"{BUCKET_ARN}/cmk.txt", None),
        ("kms:Decrypt", KEY_ARN, "s3"),
    ]
    context = records[1].context
    assert context["kms:EncryptionContext:aws:s3:arn"] == f"{BUCKET_ARN}/cmk.txt"
    assert context["kms:EncryptionContextKeys"] == ["aws:s3:arn"]
    assert (context["kms:ViaService"], context["aws:CalledViaFirst"]) == (
        "s3.us-east-1.amazonaws.com",
        "s3.amazonaws.com",
    )
    assert "aws:SourceIp" not in context  # S3 calls KMS, not the caller


def test_an_s3_bucket_key_names_the_bucket_to_kms() -> None:
    denial, records = s3_records("get_object", "bk.txt")
    assert records[-1].context["kms:EncryptionContext:aws:s3:arn"] == BUCKET_ARN
    assert denial is not None and records[-1].error_code == "AccessDenied"
    # S3 answers with KMS's own wording, the resource unquoted
    assert f"is not authorized to perform: kms:Decrypt on resource: {KEY_ARN} because" in denial.message


def test_writing_into_a_bucket_with_a_default_cmk_generates_a_data_key() -> None:
    denial, records = s3_records("put_object", "new.txt", Body=b"x")
    assert denial is None
    assert [(r.action, r.resource) for r in records] == [
        ("s3:PutObject", f"{BUCKET_ARN}/new.txt"),
        ("kms:GenerateDataKey", KEY_ARN),
    ]
    assert records[1].context["kms:EncryptionContext:aws:s3:arn"] == f"{BUCKET_ARN}/new.txt"
    denial, records = s3_records("put_object", "new.txt", Body=b"x", ServerSideEncryption="AES256")
    assert denial is None and [r.action for r in records] == ["s3:PutObject"]
