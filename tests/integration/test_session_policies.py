"""Session policies of role chaining through the gateway: a session made with sts:AssumeRole and a
``Policy`` / ``PolicyArns`` may do only what the role's policies AND one of its session policies
allow, as on AWS, with AWS's denial texts; a malformed session policy is refused before the backend
issues credentials. Real Simulator (embedded moto, policy store), real SigV4, boto3 clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from gateway_clients import gateway_client, role_session

from simulator.api import Simulator

ACCOUNT = "111122223333"
ALLOW_ALL_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
WORLD = {
    "account": ACCOUNT,
    "region": "us-east-1",
    "roles": {
        "app": {
            "trust": "ecs-tasks",
            "inline": {
                "chain": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
                }
            },
        },
        "data": {
            "trust": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "inline": {"s3": ALLOW_ALL_S3},
        },
    },
    "policies": {"read-only": READ_ONLY},
    "s3_buckets": {"reports": {"objects": {"q1.csv": "a,b\n"}}},
}
DATA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/data"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD, docker=False) as simulator:
        yield simulator


def _chained(sim: Simulator, service: str, name: str = "narrowed", **session_policies: Any) -> Any:
    """A ``service`` client of a ``data`` session that the ``app`` role made through the gateway."""
    sts = gateway_client(sim, role_session(sim, "app", name), "sts")
    answer = sts.assume_role(RoleArn=DATA_ROLE, RoleSessionName=name, **session_policies)
    credentials = answer["Credentials"]
    assert sim.gateway is not None
    return boto3.client(
        service,
        endpoint_url=sim.gateway.url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )


def _chained_s3(sim: Simulator, **session_policies: Any) -> Any:
    return _chained(sim, "s3", **session_policies)


def _put_error(s3: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="reports", Key="q2.csv", Body=b"x")
    return caught.value.response["Error"]


def test_without_a_session_policy_the_role_policies_decide(sim: Simulator) -> None:
    s3 = _chained_s3(sim)
    s3.put_object(Bucket="reports", Key="free.csv", Body=b"x")


def test_an_inline_session_policy_narrows_the_session(sim: Simulator) -> None:
    s3 = _chained_s3(sim, Policy=json.dumps(READ_ONLY))
    assert s3.get_object(Bucket="reports", Key="q1.csv")["Body"].read() == b"a,b\n"
    error = _put_error(s3)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/data/narrowed is not authorized to perform: s3:PutObject "
        'on resource: "arn:aws:s3:::reports/q2.csv" because no session policy allows the s3:PutObject action'
    )


def test_a_managed_session_policy_narrows_the_session(sim: Simulator) -> None:
    s3 = _chained_s3(sim, PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT}:policy/read-only"}])
    s3.get_object(Bucket="reports", Key="q1.csv")
    assert "because no session policy allows" in _put_error(s3)["Message"]


def test_any_session_policy_may_allow_and_any_may_deny(sim: Simulator) -> None:
    deny_put = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
        ],
    }
    s3 = _chained_s3(
        sim, Policy=json.dumps(deny_put), PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT}:policy/read-only"}]
    )
    s3.get_object(Bucket="reports", Key="q1.csv")  # both Sids "Read": each unique in its own policy
    assert "with an explicit deny in a session policy" in _put_error(s3)["Message"]


def test_a_session_policy_cannot_widen_the_role(sim: Simulator) -> None:
    widen = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    _chained_s3(sim, Policy=json.dumps(widen)).get_object(Bucket="reports", Key="q1.csv")
    iam = _chained(sim, "iam", "wide", Policy=json.dumps(widen))
    with pytest.raises(ClientError) as caught:
        iam.list_roles()
    assert "because no identity-based policy allows the iam:ListRoles action" in str(caught.value)


def test_a_malformed_session_policy_is_refused(sim: Simulator) -> None:
    sts = gateway_client(sim, role_session(sim, "app", "bad"), "sts")
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=DATA_ROLE, RoleSessionName="bad", Policy='{"Statement": "nope"')
    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        sts.assume_role(
            RoleArn=DATA_ROLE,
            RoleSessionName="bad",
            PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT}:policy/none"}],
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
