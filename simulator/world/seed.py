"""Create a world's roles and resources in the AWS backend, through its own API as an admin.

Identifiers AWS chooses (KMS key ids, the random suffix of secret ARNs, image digests) are recorded
in the ``World`` and in the returned ``SeededWorld``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..backend.base import Backend
from ..errors import EnvironmentProblem, InputError
from .model import World
from .paths import join_path

# S3 on an IP:port endpoint must use path-style addressing
_CLIENT_CONFIG = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True)
class SeededWorld:
    world: World
    backend: Backend
    secret_arns: Mapping[str, str]  # secret name -> full ARN (with the random suffix)
    key_arns: Mapping[str, str]  # world key name -> key ARN
    # "ACCT.dkr.ecr.REGION.amazonaws.com/repo:tag" (and "...repo@sha256:...") -> local Docker image;
    # "...repo:tag" -> its image digest
    images: Mapping[str, str] = field(default_factory=dict)
    image_digests: Mapping[str, str] = field(default_factory=dict)

    def local_image(self, image_uri: str) -> str | None:
        """The local Docker image an ECR image URI (``uri:tag``, ``uri@digest``, no tag: latest) maps to."""
        if ":" not in image_uri.rsplit("/", 1)[-1] and "@" not in image_uri:
            image_uri = f"{image_uri}:latest"
        return self.images.get(image_uri)


def _tag_list(tags: Mapping[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document)


def image_manifest(local_image: str) -> str:
    """A minimal Docker image manifest, distinct per local image, so ECR has a digest for each tag."""
    fake = hashlib.sha256(local_image.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": _DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 0,
                "digest": f"sha256:{fake}",
            },
            # moto derives the image digest from the layer digests
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 0,
                    "digest": f"sha256:{fake}",
                }
            ],
        }
    )


class _Seeder:
    def __init__(self, world: World, backend: Backend) -> None:
        self.world = world
        self.backend = backend
        self.session: boto3.Session = backend.admin_session()
        self.key_arns: dict[str, str] = {}
        self.secret_arns: dict[str, str] = {}
        self.images: dict[str, str] = {}
        self.digests: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return self.session.client(
            service,
            endpoint_url=self.backend.endpoint_url,
            region_name=self.world.region,
            config=_CLIENT_CONFIG,
        )

    @contextmanager
    def step(self, path: str) -> Iterator[None]:
        """Turn the backend's refusal into an error naming the world entry it came from."""
        try:
            yield
        except ClientError as err:
            error = err.response.get("Error", {})
            raise InputError(
                f"the AWS backend refused it: {error.get('Code')}: {error.get('Message')}",
                where=f"{self.world.source}: {path}",
            ) from None
        except BotoCoreError as err:
            raise EnvironmentProblem(f"AWS backend at {self.backend.endpoint_url}: {err}") from None

    def key_id(self, ref: str | None) -> str | None:
        """A key reference of the world file as the KMS API accepts it."""
        if ref is None:
            return None
        key = self.world.find_key(ref)
        return self.key_arns[key.name] if key else ref

    # --- services ---------------------------------------------------------------------------------
    def kms(self) -> None:
        kms = self.client("kms")
        for name, key in self.world.kms_keys.items():
            path = join_path("kms_keys", name)
            with self.step(path):
                args: dict[str, Any] = {"Tags": _tag_list(key.tags, "TagKey", "TagValue")}
                if key.policy is not None:
                    args["Policy"] = _json(key.policy)
                if key.description:
                    args["Description"] = key.description
                meta = kms.create_key(**args)["KeyMetadata"]
                self.key_arns[name] = meta["Arn"]
                self.world.seeded_key_ids[name] = meta["KeyId"]
                for alias in key.aliases:
                    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])

    def iam(self) -> None:
        iam = self.client("iam")
        world = self.world
        for name, policy in world.policies.items():
            with self.step(join_path("policies", name)):
                args = {"Description": policy.description} if policy.description else {}
                iam.create_policy(
                    PolicyName=name, Path=policy.path, PolicyDocument=_json(policy.document), **args
                )
        for name, role in world.roles.items():
            path = join_path("roles", name)
            with self.step(path):
                args: dict[str, Any] = {"Tags": _tag_list(role.tags)}
                if role.boundary:
                    args["PermissionsBoundary"] = role.boundary
                if role.description:
                    args["Description"] = role.description
                iam.create_role(
                    RoleName=name, Path=role.path, AssumeRolePolicyDocument=_json(role.trust), **args
                )
                for policy_name, document in role.inline.items():
                    iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=_json(document))
                for arn in role.managed:
                    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for name, user in world.users.items():
            with self.step(join_path("users", name)):
                args = {"Tags": _tag_list(user.tags)}
                if user.boundary:
                    args["PermissionsBoundary"] = user.boundary
                iam.create_user(UserName=name, Path=user.path, **args)
                for policy_name, document in user.inline.items():
                    iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=_json(document))
                for arn in user.managed:
                    iam.attach_user_policy(UserName=name, PolicyArn=arn)

    def ssm(self) -> None:
        ssm = self.client("ssm")
        for name, param in self.world.ssm_parameters.items():
            with self.step(join_path("ssm_parameters", name)):
                args: dict[str, Any] = {"Name": name, "Value": param.value, "Type": param.type}
                if param.type == "SecureString" and param.key:
                    args["KeyId"] = self.key_id(param.key)
                if param.description:
                    args["Description"] = param.description
                if param.tags:
                    args["Tags"] = _tag_list(param.tags)
                ssm.put_parameter(**args)

    def secretsmanager(self) -> None:
        sm = self.client("secretsmanager")
        for name, secret in self.world.secrets.items():
            with self.step(join_path("secrets", name)):
                args: dict[str, Any] = {"Name": name, "SecretString": secret.value}
                if secret.key:
                    args["KmsKeyId"] = self.key_id(secret.key)
                if secret.description:
                    args["Description"] = secret.description
                if secret.tags:
                    args["Tags"] = _tag_list(secret.tags)
                arn = sm.create_secret(**args)["ARN"]
                if secret.policy is not None:
                    sm.put_resource_policy(SecretId=arn, ResourcePolicy=_json(secret.policy))
                self.secret_arns[name] = arn
                self.world.seeded_secret_arns[name] = arn

    def ecr(self) -> None:
        ecr = self.client("ecr")
        for name, repo in self.world.ecr_repositories.items():
            with self.step(join_path("ecr_repositories", name)):
                ecr.create_repository(repositoryName=name, tags=_tag_list(repo.tags))
                if repo.policy is not None:
                    ecr.set_repository_policy(repositoryName=name, policyText=_json(repo.policy))
                for tag, local_image in repo.images.items():
                    image = ecr.put_image(
                        repositoryName=name,
                        imageManifest=image_manifest(local_image),
                        imageManifestMediaType=_DOCKER_MANIFEST,
                        imageTag=tag,
                    )["image"]
                    repository_uri = self.world.repository_uri(name)
                    digest = image["imageId"]["imageDigest"]
                    self.images[f"{repository_uri}:{tag}"] = local_image
                    self.images[f"{repository_uri}@{digest}"] = local_image
                    self.digests[f"{repository_uri}:{tag}"] = digest

    def logs(self) -> None:
        logs = self.client("logs")
        for name, group in self.world.log_groups.items():
            with self.step(join_path("log_groups", name)):
                logs.create_log_group(logGroupName=name, **({"tags": dict(group.tags)} if group.tags else {}))
                if group.retention_days:
                    logs.put_retention_policy(logGroupName=name, retentionInDays=group.retention_days)

    def s3(self) -> None:
        s3 = self.client("s3")
        for name, bucket in self.world.s3_buckets.items():
            with self.step(join_path("s3_buckets", name)):
                args: dict[str, Any] = {}
                if self.world.region != "us-east-1":
                    args["CreateBucketConfiguration"] = {"LocationConstraint": self.world.region}
                s3.create_bucket(Bucket=name, **args)
                if bucket.tags:
                    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(bucket.tags)})
                if bucket.kms_key:  # before the objects, which it then encrypts
                    default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.key_id(bucket.kms_key)}
                    rule = {
                        "ApplyServerSideEncryptionByDefault": default,
                        "BucketKeyEnabled": bucket.bucket_key,
                    }
                    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
                for key, content in bucket.objects.items():
                    sse: dict[str, Any] = {}
                    if key in bucket.object_keys:
                        sse = {
                            "ServerSideEncryption": "aws:kms",
                            "SSEKMSKeyId": self.key_id(bucket.object_keys[key]),
                        }
                    s3.put_object(Bucket=name, Key=key, Body=content.encode(), **sse)
                if bucket.policy is not None:  # last: a policy that denies may cover the seeding's own writes
                    s3.put_bucket_policy(Bucket=name, Policy=_json(bucket.policy))

    def sqs(self) -> None:
        sqs = self.client("sqs")
        for name, queue in self.world.sqs_queues.items():
            with self.step(join_path("sqs_queues", name)):
                attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
                if queue.policy is not None:
                    attributes["Policy"] = _json(queue.policy)
                sqs.create_queue(QueueName=name, Attributes=attributes, tags=dict(queue.tags))

    def sns(self) -> None:
        sns = self.client("sns")
        for name, topic in self.world.sns_topics.items():
            with self.step(join_path("sns_topics", name)):
                attributes = {"FifoTopic": "true"} if name.endswith(".fifo") else {}
                if topic.policy is not None:
                    attributes["Policy"] = _json(topic.policy)
                sns.create_topic(Name=name, Attributes=attributes, Tags=_tag_list(topic.tags))

    def dynamodb(self) -> None:
        dynamodb = self.client("dynamodb")
        for name, table in self.world.dynamodb_tables.items():
            with self.step(join_path("dynamodb_tables", name)):
                keys = [(table.hash_key, table.hash_key_type, "HASH")]
                if table.range_key:
                    keys.append((table.range_key, table.range_key_type, "RANGE"))
                args = {"Tags": _tag_list(table.tags)} if table.tags else {}
                dynamodb.create_table(
                    TableName=name,
                    BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": k, "KeyType": role} for k, _, role in keys],
                    AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t, _ in keys],
                    **args,
                )


def seed(world: World, backend: Backend) -> SeededWorld:
    """Create everything ``world`` declares in ``backend`` (which must be started and empty of it)."""
    if backend.account != world.account:
        raise EnvironmentProblem(
            f"the backend acts in account {backend.account}, the world {world.source} is account {world.account}"
        )
    seeder = _Seeder(world, backend)
    # Only the services the world declares something in (a client costs 20-50 ms to make, even unused),
    # one after the other: embedded moto serves them in this process, under the same interpreter lock,
    # so seeding them side by side was no faster.
    steps = [
        (world.kms_keys, seeder.kms),  # first: SSM parameters and secrets refer to the keys
        (world.policies or world.roles or world.users, seeder.iam),
        (world.ssm_parameters, seeder.ssm),
        (world.secrets, seeder.secretsmanager),
        (world.ecr_repositories, seeder.ecr),
        (world.log_groups, seeder.logs),
        (world.s3_buckets, seeder.s3),
        (world.sqs_queues, seeder.sqs),
        (world.sns_topics, seeder.sns),
        (world.dynamodb_tables, seeder.dynamodb),
    ]
    for declared, step in steps:
        if declared:
            step()
    return SeededWorld(
        world=world,
        backend=backend,
        secret_arns=dict(seeder.secret_arns),
        key_arns=dict(seeder.key_arns),
        images=dict(seeder.images),
        image_digests=dict(seeder.digests),
    )
