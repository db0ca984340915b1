"""`sim.authorize` (behind `check --task-role-actions` and wrong-role detection) decides as the gateway does.

Every case makes the real call through the gateway of a running Simulator (real SigV4 with an assumed-role
session, real moto behind it) and asks `sim.authorize` / `check_task` / `denial_of` the same question in the
same test: tag-conditioned policies (aws:ResourceTag of a secret; an S3 bucket's tags, which its objects do
not inherit) and KMS key policies that allow only via the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from gateway_clients import gateway_client

from simulator.api import Simulator
from simulator.check import check_task
from simulator.diagnosis import PHASE_RUNTIME, Denial
from simulator.iam.model import Principal
from simulator.sessions import Session
from simulator.taskdef import load_taskdef

ACCOUNT, REGION = "111122223333", "us-east-1"
BUCKET = "blue-data"
OBJECT_ARN = f"arn:aws:s3:::{BUCKET}/hello.txt"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
TLS_BUCKET = "tls-only"
VIA_SECRETS_MANAGER = f"secretsmanager.{REGION}.amazonaws.com"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _blue_only(actions: list[str]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": actions,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
    }


WORLD = {
    "account": ACCOUNT,
    "region": REGION,
    "roles": {
        # Reads only what is tagged team=blue.
        "blue-reader": {
            "trust": "ecs-tasks",
            "inline": {
                "abac": _policy(
                    _blue_only(["secretsmanager:GetSecretValue", "s3:GetObject", "s3:ListBucket"])
                )
            },
        },
        # May read every secret, but the CMK's key policy does not let it decrypt.
        "no-key": {
            "trust": "ecs-tasks",
            "inline": {
                "secrets": _policy(
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
                )
            },
        },
        # Reads every secret but those tagged team=red.
        "not-red": {
            "trust": "ecs-tasks",
            "inline": {
                "abac": _policy(
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/team": "red"}},
                    },
                )
            },
        },
        "nobody": {"trust": "ecs-tasks"},
        "tls-reader": {
            "trust": "ecs-tasks",
            "inline": {"read": _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})},
        },
    },
    "kms_keys": {
        "app-key": {
            "alias": "alias/app",
            "policy": _policy(
                {
                    "Sid": "Admin",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalType": "Account"}},
                },
                {
                    "Sid": "BlueReaderViaSecretsManager",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/blue-reader"},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:ViaService": VIA_SECRETS_MANAGER}},
                },
            ),
        }
    },
    "secrets": {
        "red-secret": {"value": "red", "tags": {"team": "red"}},
        "blue-secret": {"value": "blue", "tags": {"team": "blue"}},
        "blue-cmk-secret": {"value": "blue under a CMK", "key": "app-key", "tags": {"team": "blue"}},
    },
    "s3_buckets": {
        BUCKET: {"tags": {"team": "blue"}, "objects": {"hello.txt": "hello"}},
        # The usual bucket policy that refuses plain HTTP: SDKs and the ECS agent reach AWS over HTTPS.
        TLS_BUCKET: {
            "objects": {"hello.txt": "hello"},
            "policy": _policy(
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{TLS_BUCKET}", f"arn:aws:s3:::{TLS_BUCKET}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ),
        },
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD, docker=False) as simulator:
        yield simulator


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session_of(sim: Simulator, role: str) -> Session:
    return sim.assume_role(role_arn(role), f"parity-{role}", f"parity/{role}")


def principal_of(sim: Simulator, role: str) -> Principal:
    principal = sim.role_principal(role_arn(role), f"parity-{role}")
    assert principal is not None
    return principal


def gateway_allows(call: Any, **params: Any) -> bool:
    try:
        call(**params)
    except ClientError as err:
        assert err.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"), err.response
        return False
    return True


def secret_arn(sim: Simulator, name: str) -> str:
    return str(sim.client("secretsmanager").describe_secret(SecretId=name)["ARN"])


def check_runtime(sim: Simulator, role: str, action: str, resource: str) -> list[dict[str, Any]]:
    """`ecs-sim check --task-role-actions ACTION=RESOURCE` for a task whose task role is ``role``."""
    definition = load_taskdef(
        {
            "family": "parity",
            "taskRoleArn": role_arn(role),
            "containerDefinitions": [
                {"name": "app", "image": "ecs-sim/busybox:latest", "essential": True, "memory": 64}
            ],
        }
    )
    report = check_task(sim, definition, [(action, resource)])
    return [r.to_json() for r in report.requirements if r.phase == PHASE_RUNTIME]


def runtime_denials(sim: Simulator, role: str, secret: str, *, other: str) -> list[Denial]:
    """``role``'s GetSecretValue of ``secret`` through the gateway, refused where ``other``'s is allowed;
    its denials as a task whose other role is ``other`` reports them."""
    read = gateway_client(sim, session_of(sim, other), "secretsmanager").get_secret_value
    assert gateway_allows(read, SecretId=secret)
    session = session_of(sim, role)
    read = gateway_client(sim, session, "secretsmanager").get_secret_value
    assert not gateway_allows(read, SecretId=secret)
    return sim.denials_for(
        {session.label: (PHASE_RUNTIME, session)}, {PHASE_RUNTIME: principal_of(sim, other)}
    )


@pytest.mark.parametrize(
    ("role", "secret", "allowed"),
    [
        ("blue-reader", "red-secret", False),
        ("blue-reader", "blue-secret", True),
        ("not-red", "red-secret", False),  # judged without the tags, the Deny would not apply
        ("not-red", "blue-secret", True),
    ],
)
def test_resource_tag_condition_on_a_secret(sim: Simulator, role: str, secret: str, allowed: bool) -> None:
    arn = secret_arn(sim, secret)
    client = gateway_client(sim, session_of(sim, role), "secretsmanager")
    assert gateway_allows(client.get_secret_value, SecretId=arn) is allowed

    decision = sim.authorize(principal_of(sim, role), "secretsmanager:GetSecretValue", arn)
    assert decision.allowed is allowed, decision.explanation
    runtime = check_runtime(sim, role, "secretsmanager:GetSecretValue", arn)
    assert [(r["action"], r["resource"], r["allowed"]) for r in runtime] == [
        ("secretsmanager:GetSecretValue", arn, allowed)
    ]


def test_bucket_tags_apply_to_the_bucket_not_to_its_objects(sim: Simulator) -> None:
    client = gateway_client(sim, session_of(sim, "blue-reader"), "s3")
    assert gateway_allows(client.list_objects_v2, Bucket=BUCKET) is True
    assert gateway_allows(client.get_object, Bucket=BUCKET, Key="hello.txt") is False

    principal = principal_of(sim, "blue-reader")
    assert sim.authorize(principal, "s3:ListBucket", BUCKET_ARN).allowed is True
    assert sim.authorize(principal, "s3:GetObject", OBJECT_ARN).allowed is False
    for action, resource, allowed in (
        ("s3:ListBucket", BUCKET_ARN, True),
        ("s3:GetObject", OBJECT_ARN, False),
    ):
        runtime = check_runtime(sim, "blue-reader", action, resource)
        assert [(r["action"], r["allowed"]) for r in runtime] == [(action, allowed)]


def test_wrong_role_detection_sees_resource_tags(sim: Simulator) -> None:
    """`nobody` is refused a blue secret that `blue-reader` (the task's other role) may read."""
    arn = secret_arn(sim, "blue-secret")
    denials = runtime_denials(sim, "nobody", arn, other="blue-reader")
    assert [(d.action, d.resource, d.other_role_allows) for d in denials] == [
        ("secretsmanager:GetSecretValue", arn, True)
    ]
    assert "`blue-reader` (the task execution role) allows" in denials[0].diagnosis


def test_kms_decrypt_via_the_service_is_judged_with_its_context(sim: Simulator) -> None:
    """A CMK whose key policy allows only via Secrets Manager: the gateway refuses `no-key` the decrypt;
    `check` reports that refusal, and wrong-role detection asks the key policy with the same context."""
    arn = secret_arn(sim, "blue-cmk-secret")
    denials = runtime_denials(sim, "no-key", arn, other="blue-reader")
    key_arn = sim.world.key_arn("app-key")
    assert [(d.action, d.resource, d.other_role_allows) for d in denials] == [("kms:Decrypt", key_arn, True)]

    runtime = check_runtime(sim, "no-key", "secretsmanager:GetSecretValue", arn)
    assert [(r["action"], r["allowed"]) for r in runtime] == [
        ("secretsmanager:GetSecretValue", True),
        ("kms:Decrypt", False),
    ]
    assert [
        (r["action"], r["allowed"])
        for r in check_runtime(sim, "blue-reader", "secretsmanager:GetSecretValue", arn)
    ] == [
        ("secretsmanager:GetSecretValue", True),
        ("kms:Decrypt", True),
    ]


def test_calls_count_as_https_as_on_aws(sim: Simulator) -> None:
    """The gateway's plain-HTTP hop stands in for AWS's HTTPS endpoints: a bucket policy that refuses
    insecure transport refuses none of the task's calls, and `check` and `explain` say the same."""
    client = gateway_client(sim, session_of(sim, "tls-reader"), "s3")
    assert gateway_allows(client.get_object, Bucket=TLS_BUCKET, Key="hello.txt") is True
    resource = f"arn:aws:s3:::{TLS_BUCKET}/hello.txt"
    assert sim.authorize(principal_of(sim, "tls-reader"), "s3:GetObject", resource, {}).allowed is True
    runtime = check_runtime(sim, "tls-reader", "s3:GetObject", resource)
    assert [(r["action"], r["allowed"]) for r in runtime] == [("s3:GetObject", True)]
    insecure = {"aws:SecureTransport": "false"}
    assert sim.authorize(principal_of(sim, "tls-reader"), "s3:GetObject", resource, insecure).allowed is False
