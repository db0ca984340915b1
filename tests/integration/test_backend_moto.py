"""Embedded moto, seeded with a world holding every resource kind, read back with plain boto3."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from simulator.backend import EmbeddedMoto, RemoteEndpoint, localstack_endpoint, make_backend
from simulator.errors import EnvironmentProblem, InputError
from simulator.iam.model import PolicyKind, Principal, PrincipalType
from simulator.world import BackendPolicyStore, SeededWorld, seed, world_from_dict

ACCOUNT = "111122223333"
ALLOW_SECRETS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    ],
}


def resource_policy(action: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Own", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": action, "Resource": "*"}
        ],
    }  # fmt: skip


WORLD = {
    "account": ACCOUNT,
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {
            "trust": "ecs-tasks",
            "managed": ["AmazonECSTaskExecutionRolePolicy", "boundary"],
            "inline": {"read-secrets": ALLOW_SECRETS},
            "boundary": "boundary",
            "tags": {"team": "payments"},
        },
        "app-task-role": {"inline": {"s3": ALLOW_SECRETS}},
    },
    "users": {"dev": {"inline": {"s": ALLOW_SECRETS}}},
    "policies": {
        "boundary": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    },
    "scps": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    "kms_keys": {
        "app-key": {"alias": "alias/app", "tags": {"k": "v"}},
        "strict-key": {"alias": "alias/strict", "policy": resource_policy("kms:*")},
    },
    "ssm_parameters": {
        "/app/db-host": "db.local",
        "/app/db-password": {"type": "SecureString", "value": "s3cr3t", "key": "app-key", "tags": {"t": "1"}},
        "/app/default-key": {"type": "SecureString", "value": "x"},
        "/app/hosts": ["a", "b"],
    },
    "secrets": {
        "app/db": {
            "value": {"username": "app", "password": "pw"},
            "key": "alias/app",
            "policy": resource_policy("secretsmanager:GetSecretValue"),
            "tags": {"env": "prod"},
        },
        "plain": "text",
    },
    "ecr_repositories": {
        "app": {
            "images": {"latest": "ecs-sim/busybox:latest", "v1": "ecs-sim/python:latest"},
            "policy": resource_policy("ecr:BatchGetImage"),
        },
    },
    "log_groups": {"/ecs/app": {"retention_days": 7, "tags": {"a": "b"}}},
    "s3_buckets": {
        "app-config": {
            "policy": resource_policy("s3:GetObject"),
            "objects": {"prod.env": "FEATURE_X=1\n"},
            "tags": {"b": "c"},
        }
    },
    "sqs_queues": {"jobs": {"policy": resource_policy("sqs:SendMessage")}, "jobs.fifo": None},
    "sns_topics": {"events": {"policy": resource_policy("sns:Publish")}},
    "dynamodb_tables": {"orders": {"hash_key": "id", "range_key": "at", "range_key_type": "N"}},
}


@pytest.fixture(scope="module")
def seeded() -> Iterator[SeededWorld]:
    world = world_from_dict(json.loads(json.dumps(WORLD)), "world.yaml")
    with EmbeddedMoto(account=ACCOUNT) as backend:
        yield seed(world, backend)


def client(seeded: SeededWorld, service: str) -> Any:
    return seeded.backend.admin_session().client(service, endpoint_url=seeded.backend.endpoint_url)


def test_admin_session_acts_in_the_world_account(seeded: SeededWorld) -> None:
    assert client(seeded, "sts").get_caller_identity()["Account"] == ACCOUNT


def test_iam(seeded: SeededWorld) -> None:
    iam = client(seeded, "iam")
    role = iam.get_role(RoleName="ecsTaskExecutionRole")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"
    }
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == f"arn:aws:iam::{ACCOUNT}:policy/boundary"
    assert {"Key": "team", "Value": "payments"} in role["Tags"]
    attached = iam.list_attached_role_policies(RoleName="ecsTaskExecutionRole")["AttachedPolicies"]
    assert {p["PolicyName"] for p in attached} == {"AmazonECSTaskExecutionRolePolicy", "boundary"}
    doc = iam.get_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="read-secrets")["PolicyDocument"]
    assert doc == ALLOW_SECRETS
    assert iam.list_user_policies(UserName="dev")["PolicyNames"] == ["s"]


def test_assumed_role_credentials_map_back_to_the_role(seeded: SeededWorld) -> None:
    role_arn = seeded.world.role_arn("ecsTaskExecutionRole")
    creds = client(seeded, "sts").assume_role(RoleArn=role_arn, RoleSessionName="task-1")["Credentials"]
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )
    identity = session.client("sts", endpoint_url=seeded.backend.endpoint_url).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ecsTaskExecutionRole/task-1"
    assert identity["Account"] == ACCOUNT


def test_ssm(seeded: SeededWorld) -> None:
    ssm = client(seeded, "ssm")
    assert ssm.get_parameter(Name="/app/db-host")["Parameter"]["Value"] == "db.local"
    secure = ssm.get_parameter(Name="/app/db-password", WithDecryption=True)["Parameter"]
    assert (secure["Type"], secure["Value"]) == ("SecureString", "s3cr3t")
    assert ssm.get_parameter(Name="/app/db-password")["Parameter"]["Value"] != "s3cr3t"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/app/db-password"]}])
    assert described["Parameters"][0]["KeyId"] == seeded.key_arns["app-key"]
    assert ssm.get_parameter(Name="/app/hosts")["Parameter"]["Type"] == "StringList"


def test_secrets(seeded: SeededWorld) -> None:
    sm = client(seeded, "secretsmanager")
    arn = seeded.secret_arns["app/db"]
    assert (
        arn.startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db-")
        and len(arn.rsplit("-")[-1]) == 6
    )
    assert seeded.world.secret_arn("app/db") == arn
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == {
        "username": "app",
        "password": "pw",
    }
    assert sm.get_secret_value(SecretId="plain")["SecretString"] == "text"
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"])["Statement"][0]["Sid"] == "Own"


def test_kms(seeded: SeededWorld) -> None:
    kms = client(seeded, "kms")
    key_arn = seeded.key_arns["app-key"]
    assert seeded.world.key_arn("alias/app") == key_arn
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["Arn"] == key_arn
    policy = json.loads(
        kms.get_key_policy(KeyId=seeded.key_arns["strict-key"], PolicyName="default")["Policy"]
    )
    assert policy["Statement"][0]["Sid"] == "Own"
    default = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    assert default["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_ecr(seeded: SeededWorld) -> None:
    ecr = client(seeded, "ecr")
    images = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "latest"}, {"imageTag": "v1"}])
    assert {i["imageId"]["imageTag"] for i in images["images"]} == {"latest", "v1"}
    uri = seeded.world.repository_uri("app")
    assert seeded.local_image(uri) == "ecs-sim/busybox:latest"
    assert seeded.local_image(f"{uri}:v1") == "ecs-sim/python:latest"
    assert len(set(seeded.image_digests.values())) == 2
    assert seeded.local_image(f"{uri}@{seeded.image_digests[uri + ':v1']}") == "ecs-sim/python:latest"
    assert "Own" in ecr.get_repository_policy(repositoryName="app")["policyText"]


def test_logs_s3_sqs_sns_dynamodb(seeded: SeededWorld) -> None:
    groups = client(seeded, "logs").describe_log_groups(logGroupNamePrefix="/ecs/app")["logGroups"]
    assert groups[0]["retentionInDays"] == 7
    s3 = client(seeded, "s3")
    assert s3.get_object(Bucket="app-config", Key="prod.env")["Body"].read() == b"FEATURE_X=1\n"
    assert "Own" in s3.get_bucket_policy(Bucket="app-config")["Policy"]
    sqs = client(seeded, "sqs")
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    assert "Own" in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert sqs.get_queue_url(QueueName="jobs.fifo")["QueueUrl"].endswith("jobs.fifo")
    topic = seeded.world.topic_arn("events")
    assert "Own" in client(seeded, "sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    table = client(seeded, "dynamodb").describe_table(TableName="orders")["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["id", "at"]


def test_policy_store_reads_principals(seeded: SeededWorld) -> None:
    world = seeded.world
    store = BackendPolicyStore.for_backend(seeded.backend, world)
    principal = Principal(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/ecsTaskExecutionRole/t",
        account=ACCOUNT,
        type=PrincipalType.ASSUMED_ROLE,
        role_arn=world.role_arn("ecsTaskExecutionRole"),
        session_name="t",
    )
    policies = store.principal_policies(principal)
    assert {p.name for p in policies.identity} == {
        "read-secrets",
        "AmazonECSTaskExecutionRolePolicy",
        "boundary",
    }
    assert policies.boundary is not None and policies.boundary.kind is PolicyKind.BOUNDARY
    assert len(policies.scps) == 1
    # a change through the backend shows after invalidate()
    iam = client(seeded, "iam")
    iam.put_role_policy(
        RoleName="ecsTaskExecutionRole", PolicyName="extra", PolicyDocument=json.dumps(ALLOW_SECRETS)
    )
    try:
        assert "extra" not in {p.name for p in store.principal_policies(principal).identity}
        store.invalidate()
        assert "extra" in {p.name for p in store.principal_policies(principal).identity}
    finally:
        iam.delete_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="extra")


def test_policy_store_reads_resources(seeded: SeededWorld) -> None:
    world = seeded.world
    store = BackendPolicyStore.for_backend(seeded.backend, world)
    key_arn = seeded.key_arns["app-key"]

    secret = store.resource_info(world.secret_arn("app/db") + ":password::")
    assert secret.exists and secret.policy is not None and secret.policy.kind is PolicyKind.RESOURCE
    assert (dict(secret.tags), secret.kms_key_arn) == ({"env": "prod"}, key_arn)

    param = store.resource_info(world.parameter_arn("/app/db-password"))
    assert (param.exists, dict(param.tags), param.kms_key_arn) == (True, {"t": "1"}, key_arn)
    default_key = store.resource_info(world.parameter_arn("/app/default-key")).kms_key_arn
    assert default_key is not None and ":key/" in default_key  # alias/aws/ssm resolved to its key

    for ref in (key_arn, f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"):
        key = store.resource_info(ref)
        assert (key.arn, dict(key.tags)) == (key_arn, {"k": "v"}) and key.policy is not None

    bucket = store.resource_info(world.object_arn("app-config", "prod.env"))
    assert bucket.policy is not None and dict(bucket.tags) == {"b": "c"}
    for arn in (world.repository_arn("app"), world.queue_arn("jobs"), world.topic_arn("events")):
        assert store.resource_info(arn).policy is not None, arn
    assert store.resource_info(world.log_group_arn("/ecs/app") + ":*").tags == {"a": "b"}
    assert store.resource_info(world.table_arn("orders")).exists
    trust = store.resource_info(world.role_arn("app-task-role")).policy
    assert trust is not None and trust.kind is PolicyKind.TRUST

    missing = [
        world.bucket_arn("nope-bucket"), world.secret_arn("nope"), world.parameter_arn("/nope"),
        world.repository_arn("nope"), world.queue_arn("nope"), world.topic_arn("nope"), world.table_arn("nope"),
        world.log_group_arn("/nope"), world.role_arn("nope"),
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ]  # fmt: skip
    for arn in missing:
        assert not store.resource_info(arn).exists, arn


def test_reseeding_an_incompatible_shape_names_the_entry(seeded: SeededWorld) -> None:
    again = world_from_dict(
        {"account": ACCOUNT, "dynamodb_tables": {"orders": {"hash_key": "pk"}}}, "again.yaml"
    )
    with pytest.raises(
        InputError,
        match=r"again.yaml: dynamodb_tables.orders: table 'orders' already exists .* HASH key id \(S\)",
    ):
        seed(again, seeded.backend)


def test_make_backend_reads_env_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_SIM_BACKEND", "url")
    monkeypatch.setenv("ECS_SIM_BACKEND_URL", "http://127.0.0.1:4566")
    backend = make_backend(account=ACCOUNT)
    assert backend.endpoint_url == "http://127.0.0.1:4566"
    assert backend.admin_session().get_credentials().access_key == ACCOUNT
    monkeypatch.setenv("ECS_SIM_BACKEND", "moto")
    assert isinstance(make_backend(account=ACCOUNT), EmbeddedMoto)
    monkeypatch.setenv("ECS_SIM_BACKEND", "lcoalstack")
    with pytest.raises(InputError, match="unknown backend 'lcoalstack'"):
        make_backend()


def test_sequential_instances_start_clean() -> None:
    world = {"account": "222233334444", "s3_buckets": {"reused-bucket": {}}, "roles": {"r": {}}}
    for _ in range(2):  # the second run would fail on existing names if state leaked
        with EmbeddedMoto(account="222233334444") as backend:
            seed(world_from_dict(world, "w.yaml"), backend)


def test_remote_endpoint_checks_the_account(seeded: SeededWorld) -> None:
    # moto maps an unknown access key (here: "111122223333", LocalStack's convention) to 123456789012
    with RemoteEndpoint(seeded.backend.endpoint_url, account="123456789012") as remote:
        assert remote.admin_session().client("sts", endpoint_url=remote.endpoint_url).get_caller_identity()
    with pytest.raises(EnvironmentProblem, match="acts in account 123456789012, not 111122223333"):
        RemoteEndpoint(seeded.backend.endpoint_url, account=ACCOUNT).start()


def test_remote_endpoint_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(EnvironmentProblem, match="is not reachable"):
            RemoteEndpoint(f"http://127.0.0.1:{port}").start()


def test_port_in_use_is_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(EnvironmentProblem, match=r"cannot start moto on 127\.0\.0\.1"):
            EmbeddedMoto(port=sock.getsockname()[1]).start()


def test_a_failed_start_does_not_keep_the_accounts_state_alive() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(EnvironmentProblem):
            EmbeddedMoto(account="333344445555", port=sock.getsockname()[1]).start()
    with EmbeddedMoto(account="333344445555") as first:
        first.admin_session().client("sqs", endpoint_url=first.endpoint_url).create_queue(QueueName="left")
    with EmbeddedMoto(account="333344445555") as second:
        sqs = second.admin_session().client("sqs", endpoint_url=second.endpoint_url)
        assert sqs.list_queues().get("QueueUrls", []) == []  # wiped when the last user stopped


def test_localstack_endpoint_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("LOCALSTACK_HOST", "127.0.0.1:4599")
    assert localstack_endpoint() == "http://127.0.0.1:4599"
    monkeypatch.setenv("ECS_SIM_BACKEND", "localstack")
    assert make_backend(account=ACCOUNT).endpoint_url == "http://127.0.0.1:4599"


def test_kms_key_pairs_made_on_first_use_still_sign(seeded: SeededWorld) -> None:
    kms = client(seeded, "kms")
    for spec, algorithm in (("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256")):
        key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        signature = kms.sign(KeyId=key, Message=b"m", SigningAlgorithm=algorithm)["Signature"]
        verified = kms.verify(KeyId=key, Message=b"m", Signature=signature, SigningAlgorithm=algorithm)
        assert verified["SignatureValid"]
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)


def test_policy_store_is_thread_safe(seeded: SeededWorld) -> None:
    world = seeded.world
    store = BackendPolicyStore.for_backend(seeded.backend, world)
    arns = [world.secret_arn("app/db"), world.parameter_arn("/app/db-password"), world.bucket_arn("app-config"),
            world.repository_arn("app"), world.queue_arn("jobs"), seeded.key_arns["app-key"]] * 4  # fmt: skip
    with ThreadPoolExecutor(max_workers=8) as pool:
        infos = list(pool.map(store.resource_info, arns))
        store.invalidate()
        again = list(pool.map(store.resource_info, arns))
    assert all(info.exists for info in infos + again)
    assert [i.arn for i in infos] == [i.arn for i in again]


SSM_WITHOUT_EC2 = """
import sys
from simulator.backend import EmbeddedMoto
with EmbeddedMoto() as moto:
    ssm = moto.admin_session().client("ssm", endpoint_url=moto.endpoint_url)
    ssm.put_parameter(Name="/app/color", Value="blue", Type="String")
    assert ssm.get_parameter(Name="/app/color")["Parameter"]["Value"] == "blue"
    print("ec2 imported for SSM:", "moto.ec2.models" in sys.modules)
    # Run Command by tag targets EC2 instances: the real EC2 backends, imported now.
    command = ssm.send_command(DocumentName="AWS-RunShellScript", Targets=[{"Key": "tag:Name", "Values": ["web"]}])
    print("targets resolved:", command["Command"]["TargetCount"], "moto.ec2.models" in sys.modules)
"""


def test_ssm_is_served_without_importing_ec2_until_ssm_needs_it() -> None:
    """moto's SSM models import EC2's (0.9 s) at import time; the embedded backend defers that."""
    done = subprocess.run(
        [sys.executable, "-c", SSM_WITHOUT_EC2], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ec2 imported for SSM: False", "targets resolved: 0 True"]
