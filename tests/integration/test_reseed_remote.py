"""Seeding into a backend that keeps its state between runs: a moto server process behind ``--backend url``,
as LocalStack would be. The second seed converges the backend to the world file: nothing is duplicated,
what the world changed is changed, what it dropped from a resource is dropped, what it does not name
stays, and the gateway decides with the new policies."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from test_backend_moto import resource_policy
from test_localstack import CATALOG, free_port, localstack, localstack_python, wait_until_answering  # noqa: F401 (fixtures)

from simulator import Simulator
from simulator.backend import make_backend
from simulator.backend.base import Backend
from simulator.ecs.trust import ecs_can_assume
from simulator.errors import InputError
from simulator.world import BackendPolicyStore, SeededWorld, seed, world_from_dict

ACCOUNT = "111122223333"
REGION = "us-east-1"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TASK_EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def allow(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


WORLD_V1: dict[str, Any] = {
    "account": ACCOUNT,
    "region": REGION,
    "roles": {
        "ecsTaskExecutionRole": {
            "managed": ["AmazonECSTaskExecutionRolePolicy", "shared-read"],
            "inline": {"read-db": allow("secretsmanager:GetSecretValue"), "logs": allow("logs:*")},
            "boundary": "wide",
            "tags": {"team": "a", "old": "x"},
        },
    },
    "policies": {"shared-read": allow("s3:GetObject"), "wide": allow("*")},
    "kms_keys": {"app-key": {"aliases": ["alias/app", "alias/app-2"], "tags": {"k": "v1"}}},
    "ssm_parameters": {
        "/app/host": "db-1.local",
        "/app/password": {"type": "SecureString", "value": "s3cr3t", "key": "app-key", "tags": {"t": "1"}},
        "/app/only-in-v1": "kept",
    },
    "secrets": {
        "app/db": {
            "value": {"password": "pw1"},
            "key": "alias/app",
            "policy": resource_policy("secretsmanager:GetSecretValue"),
            "tags": {"env": "prod"},
        }
    },
    "ecr_repositories": {
        "app": {"images": {"latest": "ecs-sim/busybox:latest"}, "policy": resource_policy("ecr:*")}
    },
    "log_groups": {"/ecs/app": {"retention_days": 7, "tags": {"a": "b"}}},
    "s3_buckets": {
        "reseed-config": {
            "policy": resource_policy("s3:GetObject"),
            "objects": {"prod.env": "X=1\n"},
            "encryption": {"kms_key": "app-key"},
            "tags": {"b": "c"},
        }
    },
    "sqs_queues": {"jobs": {"policy": resource_policy("sqs:SendMessage"), "tags": {"q": "1"}}},
    "sns_topics": {"events": {"policy": resource_policy("sns:Publish")}},
    "dynamodb_tables": {"orders": {"hash_key": "id", "tags": {"d": "1"}}},
}


def changed_world() -> dict[str, Any]:
    """WORLD_V1 with something changed or dropped in every section."""
    world = copy.deepcopy(WORLD_V1)
    role = world["roles"]["ecsTaskExecutionRole"]
    role["trust"] = "lambda"
    role["managed"] = ["AmazonECSTaskExecutionRolePolicy"]
    role["inline"] = {"read-db": allow("ssm:GetParameters")}  # changed; "logs" dropped
    del role["boundary"]
    role["tags"] = {"team": "b"}
    world["policies"]["shared-read"] = allow("s3:GetObject", "s3:ListBucket")
    world["kms_keys"]["app-key"] = {
        "alias": "alias/app",
        "policy": resource_policy("kms:*"),
        "tags": {"k": "v2"},
    }
    params = world["ssm_parameters"]
    params["/app/host"] = "db-2.local"
    params["/app/password"] = {"type": "SecureString", "value": "n3w", "key": "app-key"}
    del params["/app/only-in-v1"]
    world["secrets"]["app/db"] = {"value": {"password": "pw2"}}  # key dropped: the AWS managed one
    world["ecr_repositories"]["app"] = {"images": {"latest": "ecs-sim/python:latest"}}
    world["log_groups"]["/ecs/app"] = {"tags": {"a": "b"}}
    world["s3_buckets"]["reseed-config"] = {"objects": {"prod.env": "X=2\n"}}
    world["sqs_queues"]["jobs"] = {"tags": {"q": "2"}}
    world["sns_topics"]["events"] = {}
    return world


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A moto server process of its own, acting in ACCOUNT: state that outlives every seeding."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        env=os.environ | {"MOTO_ACCOUNT_ID": ACCOUNT, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_answering(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(params=["moto-server", "localstack"])
def any_server(request: pytest.FixtureRequest) -> str:
    """A moto server or a LocalStack (whose S3, KMS, SQS, SNS, DynamoDB and ECR this machine's install
    does not serve: the tests that seed those run on the moto server only)."""
    return str(request.getfixturevalue("moto_server" if request.param == "moto-server" else "localstack"))


def remote(url: str) -> Backend:
    backend = make_backend("url", url, region=REGION, account=ACCOUNT)
    backend.start()  # checks the account; a remote backend has nothing to start or stop
    return backend


def seed_dict(document: dict[str, Any], backend: Backend, source: str = "world.yaml") -> SeededWorld:
    return seed(world_from_dict(copy.deepcopy(document), source), backend)


def client(backend: Backend, service: str) -> Any:
    return backend.admin_session().client(service, endpoint_url=backend.endpoint_url, region_name=REGION)


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def snapshot(backend: Backend) -> dict[str, Any]:
    """What a user sees of the world's resources with plain AWS calls (ids, documents, counts)."""
    iam, kms, sm = client(backend, "iam"), client(backend, "kms"), client(backend, "secretsmanager")
    ssm, s3, sqs = client(backend, "ssm"), client(backend, "s3"), client(backend, "sqs")
    role = "ecsTaskExecutionRole"
    queue = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    return {
        "role": {k: v for k, v in iam.get_role(RoleName=role)["Role"].items() if k != "RoleLastUsed"},
        "inline": {
            name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        },
        "attached": sorted(
            p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        ),
        "role_tags": iam.list_role_tags(RoleName=role)["Tags"],
        "policy_versions": len(
            iam.list_policy_versions(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/shared-read")["Versions"]
        ),
        "keys": sorted(k["KeyId"] for k in kms.list_keys()["Keys"]),
        "aliases": sorted(
            (a["AliasName"], a["TargetKeyId"])
            for a in kms.list_aliases()["Aliases"]
            if not a["AliasName"].startswith("alias/aws/")
        ),
        "parameters": {
            p["Name"]: (p["Value"], p["Version"])
            for p in ssm.get_parameters_by_path(Path="/app", WithDecryption=True)["Parameters"]
        },
        "secrets": sorted((s["Name"], s["ARN"]) for s in sm.list_secrets()["SecretList"]),
        "secret_value": sm.get_secret_value(SecretId="app/db")["SecretString"],
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "objects": sorted(o["Key"] for o in s3.list_objects_v2(Bucket="reseed-config").get("Contents", [])),
        "queues": sqs.list_queues().get("QueueUrls", []),
        "queue_policy": sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"]).get(
            "Attributes", {}
        ),
        "topics": client(backend, "sns").list_topics()["Topics"],
        "tables": client(backend, "dynamodb").list_tables()["TableNames"],
        "repositories": [
            r["repositoryName"] for r in client(backend, "ecr").describe_repositories()["repositories"]
        ],
        "log_groups": client(backend, "logs").describe_log_groups()["logGroups"],
    }


def test_seeding_the_same_world_twice_changes_nothing(moto_server: str) -> None:
    backend = remote(moto_server)
    first = seed_dict(WORLD_V1, backend)
    before = snapshot(backend)
    second = seed_dict(WORLD_V1, backend)
    after = snapshot(backend)
    # the parameters got a new version each (PutParameter Overwrite), with the same value
    assert {k: v[0] for k, v in after.pop("parameters").items()} == {
        k: v[0] for k, v in before.pop("parameters").items()
    }
    assert after == before
    assert len(before["keys"]) == 1 and len(before["secrets"]) == 1
    assert second.key_arns == first.key_arns and second.secret_arns == first.secret_arns
    assert second.image_digests == first.image_digests and second.images == first.images
    assert second.world.seeded_key_ids == first.world.seeded_key_ids


def test_a_changed_world_converges(moto_server: str) -> None:
    backend = remote(moto_server)
    first = seed_dict(WORLD_V1, backend)
    s3 = client(backend, "s3")
    s3.put_object(Bucket="reseed-config", Key="someone-elses.env", Body=b"Y=1\n")
    # deleted meanwhile, within their recovery windows: reseeding restores them
    client(backend, "secretsmanager").delete_secret(SecretId="app/db", RecoveryWindowInDays=7)
    client(backend, "kms").schedule_key_deletion(
        KeyId=first.world.seeded_key_ids["app-key"], PendingWindowInDays=7
    )
    second = seed_dict(changed_world(), backend, "world-v2.yaml")
    state = snapshot(backend)
    iam, kms, sm = client(backend, "iam"), client(backend, "kms"), client(backend, "secretsmanager")

    # IAM: trust, inline (changed and dropped), attached, boundary and tags replaced
    trust = state["role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert trust == {"Service": "lambda.amazonaws.com"}
    assert state["inline"] == {"read-db": allow("ssm:GetParameters")}
    assert state["attached"] == [TASK_EXEC_POLICY]
    assert "PermissionsBoundary" not in state["role"]
    assert state["role_tags"] == [{"Key": "team", "Value": "b"}]
    shared = f"arn:aws:iam::{ACCOUNT}:policy/shared-read"
    default = iam.get_policy(PolicyArn=shared)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=shared, VersionId=default)["PolicyVersion"]["Document"]
    assert document == allow("s3:GetObject", "s3:ListBucket") and state["policy_versions"] == 2

    # KMS: the key found by its alias is reused, its policy and tags replaced; the alias the world
    # dropped still names it (nothing the world does not name is deleted)
    key_id = second.world.seeded_key_ids["app-key"]
    assert key_id == first.world.seeded_key_ids["app-key"] and state["keys"] == [key_id]
    assert state["aliases"] == [("alias/app", key_id), ("alias/app-2", key_id)]
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == resource_policy(
        "kms:*"
    )
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "k", "TagValue": "v2"}]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"

    # SSM: values overwritten (a new version); a parameter the world dropped is kept; tags replaced
    assert state["parameters"] == {
        "/app/host": ("db-2.local", 2),
        "/app/password": ("n3w", 2),
        "/app/only-in-v1": ("kept", 1),
    }
    ssm = client(backend, "ssm")
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/app/password")["TagList"] == []

    # Secrets Manager: the same secret, a new current value, no policy, no tags
    assert state["secrets"] == [("app/db", first.secret_arns["app/db"])]
    assert json.loads(state["secret_value"]) == {"password": "pw2"}
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId="app/db")
    assert not sm.describe_secret(SecretId="app/db").get("Tags")
    assert "DeletedDate" not in sm.describe_secret(SecretId="app/db")
    assert "KmsKeyId" not in sm.describe_secret(SecretId="app/db")  # the AWS managed key, as never given one

    # ECR: the tag moved to the new image, the policy is gone
    uri = f"{second.world.repository_uri('app')}:latest"
    assert second.image_digests[uri] != first.image_digests[uri]
    assert second.local_image(uri) == "ecs-sim/python:latest"
    ecr = client(backend, "ecr")
    assert (
        ecr.describe_images(repositoryName="app")["imageDetails"][0]["imageDigest"]
        == second.image_digests[uri]
    )
    assert (
        error_code(lambda: ecr.get_repository_policy(repositoryName="app"))
        == "RepositoryPolicyNotFoundException"
    )

    # Logs, S3, SQS, SNS
    [group] = state["log_groups"]
    assert "retentionInDays" not in group
    assert s3.get_object(Bucket="reseed-config", Key="prod.env")["Body"].read() == b"X=2\n"
    assert state["objects"] == ["prod.env", "someone-elses.env"]
    assert error_code(lambda: s3.get_bucket_policy(Bucket="reseed-config")) == "NoSuchBucketPolicy"
    assert error_code(lambda: s3.get_bucket_tagging(Bucket="reseed-config")) == "NoSuchTagSet"
    assert s3.head_object(Bucket="reseed-config", Key="prod.env").get("ServerSideEncryption") != "aws:kms"
    assert not state["queue_policy"].get("Policy")
    assert client(backend, "sqs").list_queue_tags(QueueUrl=state["queues"][0]).get("Tags") == {"q": "2"}
    topic = state["topics"][0]["TopicArn"]
    policy = json.loads(client(backend, "sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    assert len(state["queues"]) == len(state["topics"]) == len(state["tables"]) == 1

    # what the authorizer reads back: the new identity policies, no boundary, the new trust
    store = BackendPolicyStore.for_backend(backend, second.world)
    with Simulator(second.world, backend=backend, docker=False) as sim:
        principal = sim.role_principal(EXEC_ROLE, "s")
        assert principal is not None
        policies = store.principal_policies(principal)
        assert sorted(p.name for p in policies.identity) == ["AmazonECSTaskExecutionRolePolicy", "read-db"]
        assert policies.boundary is None
        assert store.resource_info(second.secret_arns["app/db"]).kms_key_arn is None
        param = second.world.parameter_arn("/app/host")
        assert sim.authorize(principal, "ssm:GetParameters", param).allowed
        assert not sim.authorize(
            principal, "secretsmanager:GetSecretValue", second.secret_arns["app/db"]
        ).allowed
    assert not ecs_can_assume(store, EXEC_ROLE, ACCOUNT, f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/default")


def test_incompatible_shapes_name_the_entry_and_the_difference(moto_server: str) -> None:
    backend = remote(moto_server)
    seed_dict(
        {"account": ACCOUNT, "dynamodb_tables": {"orders": {"hash_key": "id"}}, "roles": {"app": {}}}, backend
    )
    table = {"account": ACCOUNT, "dynamodb_tables": {"orders": {"hash_key": "pk", "range_key": "at"}}}
    with pytest.raises(InputError) as caught:
        seed_dict(table, backend, "w2.yaml")
    assert str(caught.value) == (
        "w2.yaml: dynamodb_tables.orders: table 'orders' already exists in the AWS backend with key schema "
        "HASH key id (S), but the world declares HASH key pk (S), RANGE key at (S); it cannot be changed in "
        "place: delete it from the backend or give it another name in the world"
    )
    with pytest.raises(
        InputError,
        match=r"^w3.yaml: roles.app: role 'app' already exists .* with path /, but the world declares path /svc/",
    ):
        seed_dict({"account": ACCOUNT, "roles": {"app": {"path": "/svc/"}}}, backend, "w3.yaml")
    client(backend, "kms").create_alias(
        AliasName="alias/signing",
        TargetKeyId=client(backend, "kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")[
            "KeyMetadata"
        ]["KeyId"],
    )
    with pytest.raises(
        InputError,
        match=r"^w4.yaml: kms_keys.app-key: alias 'alias/signing' already exists .*RSA_2048, SIGN_VERIFY",
    ):
        seed_dict(
            {"account": ACCOUNT, "kms_keys": {"app-key": {"alias": "alias/signing"}}}, backend, "w4.yaml"
        )


TASKDEF = {
    "family": "reseed",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": EXEC_ROLE,
    "containerDefinitions": [
        {
            "name": "app",
            "image": "ecs-sim/busybox:latest",
            "essential": True,
            "command": ["sh", "-c", 'echo "DB_PASSWORD=$DB_PASSWORD"'],
            "secrets": [
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db:password::",
                }
            ],
        }
    ],
}


def secret_world(password: str, *, granted: bool) -> dict[str, Any]:
    inline = {
        "read-db": allow(
            "secretsmanager:GetSecretValue", resource="arn:aws:secretsmanager:*:*:secret:app/db-*"
        )
    }
    return {
        "account": ACCOUNT,
        "roles": {"ecsTaskExecutionRole": {"inline": inline if granted else {}}},
        "secrets": {"app/db": {"value": {"password": password}}},
    }


@pytest.mark.docker
def test_a_task_after_the_next_seed_has_the_new_permissions(any_server: str) -> None:
    backend = remote(any_server)
    results = []
    for password, granted in (("pw1", False), ("pw2", True), ("pw3", False)):
        world = world_from_dict(secret_world(password, granted=granted), f"{password}.yaml")
        with Simulator(world, backend=backend) as sim:
            results.append(sim.run_task(TASKDEF))
    denied_first, allowed, denied_again = results
    denied_first.assert_stopped_with("TaskFailedToStart")
    denied_first.assert_denied("secretsmanager:GetSecretValue", phase="execution")
    assert allowed.exit_code == 0, allowed.explain()
    assert "DB_PASSWORD=pw2" in allowed.logs("app")
    # the third world drops the inline policy again: the backend's copy of it is deleted
    denied_again.assert_stopped_with("TaskFailedToStart")
    denied_again.assert_denied("secretsmanager:GetSecretValue", phase="execution")


@pytest.mark.docker
def test_ecs_sim_run_twice_against_one_moto_server(moto_server: str, tmp_path: Path) -> None:
    folder = CATALOG / "asm-json-key"
    changed = tmp_path / "world.yaml"
    document = yaml.safe_load((folder / "world.yaml").read_text())
    document["secrets"]["app/db"]["value"]["password"] = "rotated"
    changed.write_text(yaml.safe_dump(document))
    outputs = []
    for world in (folder / "world.yaml", folder / "world.yaml", changed):
        done = subprocess.run(
            [sys.executable, "-m", "simulator", "run", str(folder / "taskdef.json"), "--world", str(world),
             "--backend", "url", "--endpoint-url", moto_server],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stderr)
    assert "DB_PASSWORD=pw" in outputs[0] and "DB_PASSWORD=pw" in outputs[1]
    assert "DB_PASSWORD=rotated" in outputs[2]
    secrets = client(remote(moto_server), "secretsmanager").list_secrets()["SecretList"]
    assert [s["Name"] for s in secrets] == ["app/db"]
