"""S3 objects under a customer managed KMS key, through the real gateway of a running Simulator (world seeded
into embedded moto, policies read back by the policy store, real SigV4 with assumed-role sessions).

As on AWS, reading an SSE-KMS object is also a kms:Decrypt and writing one a kms:GenerateDataKey, made by S3
with the caller's permissions: allowed by the key policy itself, or by an identity policy when the key
policy delegates to the account; with S3's encryption context (the object's ARN, the bucket's under an
S3 Bucket Key). `check` lists the same decisions for an environment file as `run` makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from gateway_clients import gateway_client, role_session

from simulator.api import Simulator
from simulator.check import check_task
from simulator.diagnosis import PHASE_EXECUTION, PHASE_RUNTIME
from simulator.taskdef import load_taskdef

ACCOUNT, REGION = "111122223333", "us-east-1"
VIA_S3 = f"s3.{REGION}.amazonaws.com"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": "*", **extra}


def _role(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"trust": "ecs-tasks", "inline": {"access": _policy(*statements)}}


WORLD = {
    "account": ACCOUNT,
    "region": REGION,
    "roles": {
        "s3-only": _role(_allow(["s3:GetObject", "s3:PutObject"])),
        # kms:Decrypt in its identity policy, through S3 only
        "identity-reader": _role(
            _allow("s3:GetObject"),
            _allow("kms:Decrypt", Condition={"StringEquals": {"kms:ViaService": VIA_S3}}),
        ),
        # nothing of KMS in its identity policy: the strict key's policy names it
        "keypolicy-reader": _role(_allow("s3:GetObject")),
        # may decrypt only what S3 encrypted under the bk-config bucket's S3 Bucket Key
        "bucket-key-reader": _role(
            _allow("s3:GetObject"),
            _allow(
                "kms:Decrypt",
                Condition={"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::bk-config"}},
            ),
        ),
        "writer": _role(
            _allow("s3:PutObject"),
            _allow("kms:GenerateDataKey", Condition={"StringEquals": {"kms:ViaService": VIA_S3}}),
        ),
        # a multipart upload's parts also need kms:Decrypt of the upload's key
        "uploader": _role(
            _allow("s3:PutObject"),
            _allow(
                ["kms:GenerateDataKey", "kms:Decrypt"], Condition={"StringEquals": {"kms:ViaService": VIA_S3}}
            ),
        ),
    },
    "kms_keys": {
        "iam-key": {"alias": "alias/iam"},  # the default key policy: the account's IAM policies decide
        "strict-key": {
            "alias": "alias/strict",
            "policy": _policy(
                {
                    "Sid": "AccountAdminOnly",  # does not delegate to IAM policies
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalType": "Account"}},
                },
                {
                    "Sid": "ReaderThroughS3",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/keypolicy-reader"},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:ViaService": VIA_S3},
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::strict-config/*"},
                    },
                },
            ),
        },
    },
    "s3_buckets": {
        "iam-config": {
            "encryption": {"kms_key": "iam-key"},
            "objects": {"app.env": "A=1\n", "own.env": {"content": "B=2\n", "kms_key": "alias/strict"}},
        },
        "strict-config": {"encryption": {"kms_key": "strict-key"}, "objects": {"app.env": "C=3\n"}},
        "bk-config": {
            "encryption": {"kms_key": "iam-key", "bucket_key": True},
            "objects": {"app.env": "D=4\n"},
        },
        "plain": {"objects": {"app.env": "E=5\n"}},
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD, docker=False) as simulator:
        yield simulator


def s3_of(sim: Simulator, role: str) -> Any:
    return gateway_client(sim, role_session(sim, role, "kms"), "s3")


def read(s3: Any, bucket: str, key: str = "app.env") -> str:
    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def refusal(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**params)
    error = err.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def kms_denial(role: str, action: str, key_arn: str) -> str:
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/kms-{role} is not authorized to perform: "
        f"{action} on resource: {key_arn} because "
    )


def test_the_policy_store_reads_each_objects_key_from_the_backend(sim: Simulator) -> None:
    assert sim.policies is not None
    iam_key, strict_key = sim.world.key_arn("iam-key"), sim.world.key_arn("strict-key")
    info = sim.policies.resource_info
    assert (info("arn:aws:s3:::iam-config").kms_key_arn, info("arn:aws:s3:::plain").kms_key_arn) == (
        iam_key,
        None,
    )
    assert info("arn:aws:s3:::iam-config/app.env").kms_key_arn == iam_key  # the bucket's default key
    assert info("arn:aws:s3:::iam-config/own.env").kms_key_arn == strict_key  # its own
    assert info("arn:aws:s3:::plain/app.env").kms_key_arn is None
    bucket_key = info("arn:aws:s3:::bk-config/app.env")
    assert (bucket_key.kms_key_arn, bucket_key.kms_bucket_key) == (iam_key, True)
    assert info("arn:aws:s3:::iam-config/app.env").kms_bucket_key is False


def test_reading_needs_kms_decrypt_from_an_identity_policy_when_the_key_policy_delegates(
    sim: Simulator,
) -> None:
    key_arn = sim.world.key_arn("iam-key")
    assert read(s3_of(sim, "identity-reader"), "iam-config") == "A=1\n"
    s3 = s3_of(sim, "s3-only")
    assert read(s3, "plain") == "E=5\n"  # SSE-S3: no key involved
    code, message = refusal(s3.get_object, Bucket="iam-config", Key="app.env")
    assert code == "AccessDenied"
    assert message.startswith(kms_denial("s3-only", "kms:Decrypt", key_arn))
    assert refusal(s3.head_object, Bucket="iam-config", Key="app.env")[0] == "403"  # HEAD has no body


def test_a_key_policy_that_does_not_delegate_decides_alone(sim: Simulator) -> None:
    strict_arn = sim.world.key_arn("strict-key")
    # allowed by the key policy, with nothing of KMS in its identity policy
    assert read(s3_of(sim, "keypolicy-reader"), "strict-config") == "C=3\n"
    # an identity policy allowing kms:Decrypt does not help when the key policy does not delegate to IAM
    identity = s3_of(sim, "identity-reader")
    code, message = refusal(identity.get_object, Bucket="strict-config", Key="app.env")
    assert (code, message.startswith(kms_denial("identity-reader", "kms:Decrypt", strict_arn))) == (
        "AccessDenied",
        True,
    )
    # the object's own key, not its bucket's default, decides
    assert refusal(identity.get_object, Bucket="iam-config", Key="own.env")[0] == "AccessDenied"
    # the key policy allows keypolicy-reader only with an object of strict-config as encryption context
    assert refusal(s3_of(sim, "keypolicy-reader").get_object, Bucket="iam-config", Key="own.env")[0] == (
        "AccessDenied"
    )


def test_an_s3_bucket_key_makes_the_bucket_the_encryption_context(sim: Simulator) -> None:
    s3 = s3_of(sim, "bucket-key-reader")
    assert read(s3, "bk-config") == "D=4\n"
    assert refusal(s3.get_object, Bucket="iam-config", Key="app.env")[0] == "AccessDenied"


def test_writing_under_a_cmk_needs_kms_generate_data_key(sim: Simulator) -> None:
    key_arn = sim.world.key_arn("iam-key")
    s3 = s3_of(sim, "s3-only")
    code, message = refusal(s3.put_object, Bucket="iam-config", Key="new.env", Body=b"X=1\n")
    assert code == "AccessDenied"
    assert message.startswith(kms_denial("s3-only", "kms:GenerateDataKey", key_arn))
    s3.put_object(Bucket="plain", Key="new.env", Body=b"X=1\n")
    s3.put_object(Bucket="iam-config", Key="sse-s3.env", Body=b"X=1\n", ServerSideEncryption="AES256")
    assert read(s3, "iam-config", "sse-s3.env") == "X=1\n"
    # a key the request names, resolved from its alias
    strict_arn = sim.world.key_arn("strict-key")
    writer = s3_of(sim, "writer")
    writer.put_object(Bucket="iam-config", Key="new.env", Body=b"X=1\n")
    code, message = refusal(
        writer.put_object,
        Bucket="iam-config",
        Key="new.env",
        Body=b"X=1\n",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="alias/strict",
    )
    assert (code, message.startswith(kms_denial("writer", "kms:GenerateDataKey", strict_arn))) == (
        "AccessDenied",
        True,
    )


def _upload_in_parts(s3: Any, bucket: str, key: str, **encryption: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **encryption)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"Y=2\n")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )


def test_a_multipart_upload_under_a_cmk_needs_kms_decrypt_for_its_parts(sim: Simulator) -> None:
    iam_key = sim.world.key_arn("iam-key")
    writer, uploader = s3_of(sim, "writer"), s3_of(sim, "uploader")
    # The writer may start one (kms:GenerateDataKey) but not add a part: S3 decrypts the upload's data key.
    for bucket, encryption in (
        ("iam-config", {}),  # under the bucket's default key
        ("plain", {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/iam"}),  # under the key it names
    ):
        upload = writer.create_multipart_upload(Bucket=bucket, Key="big.env", **encryption)["UploadId"]
        code, message = refusal(
            writer.upload_part, Bucket=bucket, Key="big.env", UploadId=upload, PartNumber=1, Body=b"Y=2\n"
        )
        assert code == "AccessDenied", bucket
        assert message.startswith(kms_denial("writer", "kms:Decrypt", iam_key)), message
        _upload_in_parts(uploader, bucket, "big.env", **encryption)
    # an SSE-S3 upload in a bucket whose default is a CMK: no KMS use at all
    _upload_in_parts(s3_of(sim, "s3-only"), "iam-config", "sse-s3-big.env", ServerSideEncryption="AES256")


def test_a_write_drops_the_objects_cached_key(sim: Simulator) -> None:
    s3, writer = s3_of(sim, "s3-only"), s3_of(sim, "writer")
    writer.put_object(Bucket="iam-config", Key="swap.env", Body=b"S=1\n")  # the bucket's default key
    assert refusal(s3.get_object, Bucket="iam-config", Key="swap.env")[0] == "AccessDenied"
    writer.put_object(Bucket="iam-config", Key="swap.env", Body=b"S=2\n", ServerSideEncryption="AES256")
    assert read(s3, "iam-config", "swap.env") == "S=2\n"


def env_file_task(execution_role: str, task_role: str | None = None) -> Any:
    definition: dict[str, Any] = {
        "family": "kms-env-file",
        "executionRoleArn": execution_role,
        "containerDefinitions": [
            {
                "name": "app",
                "image": "ecs-sim/busybox:latest",
                "essential": True,
                "memory": 64,
                "environmentFiles": [{"value": "arn:aws:s3:::iam-config/app.env", "type": "s3"}],
            }
        ],
    }
    if task_role:
        definition["taskRoleArn"] = task_role
    return load_taskdef(definition)


def test_check_lists_the_decrypt_of_an_sse_kms_env_file(sim: Simulator) -> None:
    key_arn = sim.world.key_arn("iam-key")
    object_arn = "arn:aws:s3:::iam-config/app.env"
    report = check_task(sim, env_file_task("s3-only", task_role="identity-reader"))
    phase_one = [
        (r.action, r.resource, r.allowed, r.step) for r in report.requirements if r.step == "env-file"
    ]
    assert phase_one == [
        ("s3:GetObject", object_arn, True, "env-file"),
        ("kms:Decrypt", key_arn, False, "env-file"),
    ]
    assert report.exit_code == 2
    [denial] = report.first_failure_denials()
    assert (denial.phase, denial.action, denial.resource) == (PHASE_EXECUTION, "kms:Decrypt", key_arn)
    assert "task execution role `s3-only`" in denial.diagnosis
    # wrong-role detection asks the task role the same question, S3's context included
    assert denial.other_role_allows is True
    allowed = check_task(sim, env_file_task("identity-reader"))
    assert [(r.action, r.allowed) for r in allowed.requirements if r.step == "env-file"] == [
        ("s3:GetObject", True),
        ("kms:Decrypt", True),
    ]
    assert allowed.exit_code == 0


def test_check_task_role_actions_include_the_decrypt(sim: Simulator) -> None:
    definition = env_file_task("identity-reader", task_role="s3-only")
    report = check_task(sim, definition, [("s3:GetObject", "arn:aws:s3:::iam-config/app.env")])
    runtime = [(r.action, r.allowed) for r in report.requirements if r.phase == PHASE_RUNTIME]
    assert runtime == [("s3:GetObject", True), ("kms:Decrypt", False)]
