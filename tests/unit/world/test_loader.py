"""World file loading: the documented format, and a precise error for each kind of mistake."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import InputError
from simulator.world import load_world, world_from_dict

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_SECRET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
}
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}

SPEC_EXAMPLE = """
account: "111122223333"            # default 123456789012
region: us-east-1
roles:
  ecsTaskExecutionRole:
    trust: ecs-tasks
    managed: [AmazonECSTaskExecutionRolePolicy]
    inline:
      read-db-secret:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: "*"}]
    boundary: my-boundary
    tags: {team: payments}
  app-task-role: {trust: ecs-tasks}
policies:
  my-boundary: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}
scps: [{Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}]
kms_keys: {app-key: {alias: alias/app}}
ssm_parameters:
  /app/db-host: {value: db.local}
  /app/db-password: {type: SecureString, value: s3cr3t, key: app-key}
secrets: {app/db: {value: {username: app, password: pw}, key: app-key}}
ecr_repositories: {app: {images: {latest: "app:dev"}}}
log_groups: [/ecs/app]
s3_buckets: {app-config: {objects: {prod.env: "FEATURE_X=1\\n"}}}
sqs_queues: {jobs: {}}
dynamodb_tables: {orders: {hash_key: id}}
"""


def world_file(tmp_path: Path, text: str, name: str = "world.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def base() -> dict[str, Any]:
    return {
        "account": "111122223333",
        "roles": {"app-role": {"inline": {"read": copy.deepcopy(READ_SECRET)}}},
        "kms_keys": {"app-key": {"alias": "alias/app"}},
    }


def test_spec_example_loads(tmp_path: Path) -> None:
    world = load_world(world_file(tmp_path, SPEC_EXAMPLE))
    assert world.account == "111122223333"
    role = world.roles["ecsTaskExecutionRole"]
    assert role.trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert role.managed == ("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",)
    assert role.boundary == "arn:aws:iam::111122223333:policy/my-boundary"
    assert role.tags == {"team": "payments"}
    assert world.ssm_parameters["/app/db-password"].type == "SecureString"
    assert json.loads(world.secrets["app/db"].value) == {"username": "app", "password": "pw"}
    assert world.ecr_repositories["app"].images == {"latest": "app:dev"}
    assert world.s3_buckets["app-config"].objects == {"prod.env": "FEATURE_X=1\n"}
    assert list(world.log_groups) == ["/ecs/app"]
    assert world.dynamodb_tables["orders"].hash_key == "id"
    assert len(world.scps) == 1


def test_arns(tmp_path: Path) -> None:
    world = load_world(world_file(tmp_path, SPEC_EXAMPLE))
    assert world.role_arn("app-task-role") == "arn:aws:iam::111122223333:role/app-task-role"
    assert world.parameter_arn("/app/db-host") == "arn:aws:ssm:us-east-1:111122223333:parameter/app/db-host"
    assert world.secret_arn("app/db") == "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db"
    assert world.key_arn("alias/app") == "arn:aws:kms:us-east-1:111122223333:alias/app"
    world.seeded_key_ids["app-key"] = "1234abcd-12ab-34cd-56ef-1234567890ab"
    assert (
        world.key_arn("app") == "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    assert world.bucket_arn("app-config") == "arn:aws:s3:::app-config"
    assert world.log_group_arn("/ecs/app") == "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/app"
    assert world.repository_uri("app") == "111122223333.dkr.ecr.us-east-1.amazonaws.com/app"


def test_defaults_and_empty_world() -> None:
    world = world_from_dict(None, "empty.yaml")
    assert (world.account, world.region, world.roles) == ("123456789012", "us-east-1", {})


def test_json_world_and_json_position(tmp_path: Path) -> None:
    world = load_world(world_file(tmp_path, json.dumps(base()), "world.json"))
    assert "app-role" in world.roles
    with pytest.raises(InputError, match=r"world.json:2:1: invalid JSON"):
        load_world(world_file(tmp_path, '{"account": "111122223333",\n}', "world.json"))


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"world.yaml:4:1: invalid YAML"):
        load_world(world_file(tmp_path, "account: '111122223333'\nroles:\n  a: [\n"))


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"world.yaml:3:3: invalid YAML: duplicate key 'app'"):
        load_world(world_file(tmp_path, "roles:\n  app: {}\n  app: {}\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="world file not found"):
        load_world(tmp_path / "nope.yaml")


def test_x_keys_hold_anchors(tmp_path: Path) -> None:
    text = (
        "x-allow: &allow {Version: '2012-10-17', Statement: [{Effect: Allow, Action: '*', Resource: '*'}]}\n"
        "roles: {a: {inline: {all: *allow}}}\n"
    )
    assert load_world(world_file(tmp_path, text)).roles["a"].inline["all"] == ALLOW_ALL


def test_trust_shorthands() -> None:
    world = world_from_dict(
        {"roles": {"a": {"trust": ["ecs-tasks", "lambda.amazonaws.com", "111122223333"]}}}
    )
    principal = world.roles["a"].trust["Statement"][0]["Principal"]
    assert principal == {
        "Service": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"],
        "AWS": "111122223333",
    }


def test_managed_policy_by_arn_and_customer_name() -> None:
    data = base()
    data["policies"] = {"mine": ALLOW_ALL}
    data["roles"]["app-role"]["managed"] = [
        "mine",
        "arn:aws:iam::111122223333:policy/mine",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ]
    assert world_from_dict(data).roles["app-role"].managed == (
        "arn:aws:iam::111122223333:policy/mine",
        "arn:aws:iam::111122223333:policy/mine",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    )


def test_parameter_shorthands() -> None:
    world = world_from_dict({"ssm_parameters": {"/a/port": 5432, "/a/hosts": ["a", "b"]}})
    assert world.ssm_parameters["/a/port"].value == "5432"
    assert (world.ssm_parameters["/a/hosts"].type, world.ssm_parameters["/a/hosts"].value) == (
        "StringList",
        "a,b",
    )


def test_bucket_default_encryption_and_object_keys() -> None:
    data = base()
    data["kms_keys"]["other-key"] = None
    data["s3_buckets"] = {
        "app-config": {
            "encryption": {"kms_key": "alias/app", "bucket_key": True},
            "objects": {"prod.env": "A=1\n", "other.env": {"content": "B=2\n", "kms_key": "other-key"}},
        },
        "plain": {"objects": {"x": {"content": "y"}}},
    }
    world = world_from_dict(data)
    bucket = world.s3_buckets["app-config"]
    assert (bucket.kms_key, bucket.bucket_key) == ("alias/app", True)
    assert bucket.objects == {"prod.env": "A=1\n", "other.env": "B=2\n"}
    assert bucket.object_keys == {"other.env": "other-key"}
    plain = world.s3_buckets["plain"]
    assert (plain.kms_key, plain.bucket_key, plain.objects, plain.object_keys) == (
        None,
        False,
        {"x": "y"},
        {},
    )


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node: Any = data
    keys = dotted.split("|")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return data


BAD = [
    # (path to set, value, expected "where", expected message fragment)
    ("accont", "1", "accont", "unknown key 'accont'; did you mean 'account'?"),
    ("account", "1234", "account", "not a 12-digit"),
    ("account", 1234, "account", "quote it"),
    ("region", "us-east-9", "region", "unknown region 'us-east-9'"),
    ("roles", ["a"], "roles", "expected a mapping, got list"),
    ("roles|app-role|manged", [], "roles.app-role.manged", "did you mean 'managed'?"),
    (
        "roles|app-role|managed",
        ["AmazonECSTaskExecutionRolePolicyy"],
        "roles.app-role.managed[0]",
        "did you mean 'AmazonECSTaskExecutionRolePolicy'?",
    ),
    (
        "roles|app-role|managed",
        ["arn:aws:iam::111122223333:policy/none"],
        "roles.app-role.managed[0]",
        "neither an AWS managed policy",
    ),
    ("roles|app-role|boundary", "nope", "roles.app-role.boundary", "unknown managed policy 'nope'"),
    (
        "roles|app-role|inline|read",
        {"Version": "2012-10-17", "Statement": []},
        "roles.app-role.inline.read",
        "Statement",
    ),
    (
        "roles|app-role|inline|read",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]},
        "roles.app-role.inline.read",
        "",
    ),
    ("roles|app-role|inline|read", "{not json", "roles.app-role.inline.read", "not valid JSON"),
    ("roles|app-role|tags", {"team": True}, "roles.app-role.tags.team", "quote it"),
    ("roles|app-role|tags", ["team"], "roles.app-role.tags", "expected a mapping, got list"),
    ("roles|bad name!", {}, 'roles."bad name!"', "invalid IAM name"),
    (
        "roles|app-role|trust",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        },
        "roles.app-role.trust",
        "",
    ),
    ("kms_keys|app-key|alias", "app", "kms_keys.app-key.alias", "must start with 'alias/'"),
    ("kms_keys|app-key|alias", "alias/aws/ssm", "kms_keys.app-key.alias", "reserved"),
    ("kms_keys|other|alias", "alias/app", "kms_keys.other.alias", "already used by key 'app-key'"),
    ("ssm_parameters|/p|type", "Securestring", "ssm_parameters./p.type", "did you mean 'SecureString'?"),
    (
        "ssm_parameters|/p",
        {"type": "String", "value": "x", "key": "app-key"},
        "ssm_parameters./p.key",
        "only a SecureString",
    ),
    (
        "ssm_parameters|/p",
        {"type": "SecureString", "value": "x", "key": "nokey"},
        "ssm_parameters./p.key",
        "unknown KMS key 'nokey'",
    ),
    ("ssm_parameters|/p", {"type": "SecureString"}, "ssm_parameters./p.value", "needs a value"),
    ("ssm_parameters|a/b", "x", "ssm_parameters.a/b", "must start with '/'"),
    ("ssm_parameters|/aws/x", "x", "ssm_parameters./aws/x", "reserved"),
    ("secrets|s", {"key": "app-key"}, "secrets.s.value", "needs a value"),
    (
        "secrets|s",
        {
            "value": "x",
            "policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
                ],
            },
        },
        "secrets.s.policy",
        "",
    ),
    ("secrets|s", {"value": "x", "kye": "app-key"}, "secrets.s.kye", "did you mean 'key'?"),
    ("ecr_repositories|App", {}, "ecr_repositories.App", "invalid repository name"),
    (
        "ecr_repositories|app|images",
        {"latest": ["x"]},
        "ecr_repositories.app.images.latest",
        "expected a string",
    ),
    (
        "log_groups",
        {"/ecs/app": {"retention_days": "7"}},
        "log_groups./ecs/app.retention_days",
        "positive number",
    ),
    ("log_groups", "/ecs/app", "log_groups", "expected a mapping or a list of names"),
    ("log_groups", ["/a", "/a"], "log_groups[1]", "listed twice"),
    ("s3_buckets|Bad_Bucket", {}, "s3_buckets.Bad_Bucket", "invalid bucket name"),
    ("s3_buckets|b-1|objects", {"k": {"x": 1}}, "s3_buckets.b-1.objects.k", "expected a string"),
    (
        "s3_buckets|b-1|objects",
        {"k": {"content": "x", "kms_key": "nokey"}},
        "s3_buckets.b-1.objects.k.kms_key",
        "unknown KMS key 'nokey'",
    ),
    (
        "s3_buckets|b-1|objects",
        {"k": {"content": "x", "key": "app-key"}},
        "s3_buckets.b-1.objects.k.key",
        "unknown key 'key'",
    ),
    (
        "s3_buckets|b-1|encryption",
        {"kms_key": "alias/ap"},
        "s3_buckets.b-1.encryption.kms_key",
        "'alias/app'",
    ),
    (
        "s3_buckets|b-1|encryption",
        {"bucket_key": True},
        "s3_buckets.b-1.encryption.kms_key",
        "needs a kms_key",
    ),
    (
        "s3_buckets|b-1|encryption",
        {"kms_key": "app-key", "bucket_key": "yes"},
        "s3_buckets.b-1.encryption.bucket_key",
        "expected true or false, got string",
    ),
    ("s3_buckets|b-1|encryption", "app-key", "s3_buckets.b-1.encryption", "expected a mapping, got string"),
    ("sqs_queues|q|policy", [], "sqs_queues.q.policy", "expected a mapping, got list"),
    ("sns_topics|t|tags", {"k": "v" * 300}, "sns_topics.t.tags.k", "at most 256"),
    ("dynamodb_tables|orders", {}, "dynamodb_tables.orders.hash_key", "needs a hash_key"),
    (
        "dynamodb_tables|orders",
        {"hash_key": "id", "hash_key_type": "string"},
        "dynamodb_tables.orders.hash_key_type",
        "is not one of S, N, B",
    ),
    ("scps", {"Version": "2012-10-17", "Statement": []}, "scps", "expected a list of policy documents"),
    ("scps", [{"Version": "2012-10-17"}], "scps[0]", "Statement"),
    ("users|u|trust", "ecs-tasks", "users.u.trust", "unknown key 'trust'"),
]


@pytest.mark.parametrize(("dotted", "value", "where", "fragment"), BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_bad_world_names_file_and_path(dotted: str, value: Any, where: str, fragment: str) -> None:
    data = _set(base(), dotted, value)
    with pytest.raises(InputError) as info:
        world_from_dict(data, "world.yaml")
    assert info.value.where == f"world.yaml: {where}"
    assert fragment in info.value.message


def test_top_level_must_be_mapping() -> None:
    with pytest.raises(
        InputError, match=r"world\.yaml: a world file is a mapping at the top level, got list"
    ):
        world_from_dict([1], "world.yaml")
