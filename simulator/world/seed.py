"""Create a world's roles and resources in the AWS backend, through its own API as an admin.

Seeding converges: a resource the backend already has (a remote backend keeps its state between runs)
is updated to what the world declares rather than created again; see ``converge``. Identifiers AWS
chooses (KMS key ids, the random suffix of secret ARNs, image digests) are recorded in the ``World``
and in the returned ``SeededWorld``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..backend.base import Backend
from ..errors import EnvironmentProblem, InputError
from .converge import (
    default_key_policy,
    default_topic_policy,
    mismatch,
    or_none,
    policy_json,
    sync_tags,
    tag_dict,
    tag_list,
)
from .model import (
    DynamoTable,
    EcrRepository,
    KmsKey,
    LogGroup,
    S3Bucket,
    Secret,
    SnsTopic,
    SqsQueue,
    SsmParameter,
    World,
)
from .paths import join_path
from .seed_iam import seed_iam

# S3 on an IP:port endpoint must use path-style addressing
_CLIENT_CONFIG = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
T = TypeVar("T")
_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
_SECRETS_MANAGER_KEY = "alias/aws/secretsmanager"  # what a secret without a KmsKeyId is encrypted with


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
                where=self.where(path),
            ) from None
        except BotoCoreError as err:
            raise EnvironmentProblem(f"AWS backend at {self.backend.endpoint_url}: {err}") from None

    def where(self, path: str) -> str:
        return f"{self.world.source}: {path}"

    def key_id(self, ref: str | None) -> str | None:
        """A key reference of the world file as the KMS API accepts it."""
        if ref is None:
            return None
        key = self.world.find_key(ref)
        return self.key_arns[key.name] if key else ref

    def each(
        self, client: Any, section: str, items: Mapping[str, T], one: Callable[[Any, T, str], None]
    ) -> None:
        """``one(client, item, path)`` for every item of a world section, refusals naming the item."""
        for name, item in items.items():
            path = join_path(section, name)
            with self.step(path):
                one(client, item, path)

    # --- services ---------------------------------------------------------------------------------
    def kms(self) -> None:
        """A key with an alias is found by it and reused (updated); one without is created every time."""
        kms = self.client("kms")
        with self.step("kms_keys"):
            pages = kms.get_paginator("list_aliases").paginate()
            targets = {
                a["AliasName"]: a["TargetKeyId"]
                for page in pages
                for a in page["Aliases"]
                if a.get("TargetKeyId")
            }
        self.each(kms, "kms_keys", self.world.kms_keys, partial(self.key, targets=targets))

    def key(self, kms: Any, key: KmsKey, path: str, *, targets: Mapping[str, str]) -> None:
        alias = next((a for a in key.aliases if a in targets), None)
        if alias is None:
            args: dict[str, Any] = {"Tags": tag_list(key.tags, "TagKey", "TagValue")}
            if key.policy is not None:
                args["Policy"] = policy_json(key.policy)
            if key.description:
                args["Description"] = key.description
            meta = kms.create_key(**args)["KeyMetadata"]
        else:
            meta = self.update_key(kms, key, alias, targets[alias], path)
        self.key_arns[key.name] = meta["Arn"]
        self.world.seeded_key_ids[key.name] = meta["KeyId"]
        for alias in key.aliases:
            if alias not in targets:
                kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
            elif targets[alias] != meta["KeyId"]:  # it names another key: point it at this one
                kms.update_alias(AliasName=alias, TargetKeyId=meta["KeyId"])

    def update_key(self, kms: Any, key: KmsKey, alias: str, key_id: str, path: str) -> dict[str, Any]:
        meta: dict[str, Any] = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        shape = (
            meta.get("KeyManager", "CUSTOMER"),
            meta.get("KeySpec", "SYMMETRIC_DEFAULT"),
            meta.get("KeyUsage", "ENCRYPT_DECRYPT"),
        )
        if shape != ("CUSTOMER", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"):
            raise mismatch(
                self.where(path), f"alias {alias!r}", f"key {key_id} ({', '.join(shape)})",
                "a customer managed SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key",
            )  # fmt: skip
        if meta["KeyState"] == "PendingDeletion":
            kms.cancel_key_deletion(KeyId=key_id)  # leaves it disabled
        if meta["KeyState"] != "Enabled":
            kms.enable_key(KeyId=key_id)
        policy = (
            key.policy
            if key.policy is not None
            else default_key_policy(self.world.partition, self.world.account)
        )
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy_json(policy))
        if meta.get("Description", "") != key.description:
            kms.update_key_description(KeyId=key_id, Description=key.description)
        pages = kms.get_paginator("list_resource_tags").paginate(KeyId=key_id)
        sync_tags(
            tag_dict([t for page in pages for t in page["Tags"]], "TagKey", "TagValue"),
            key.tags,
            lambda t: kms.tag_resource(KeyId=key_id, Tags=tag_list(t, "TagKey", "TagValue")),
            lambda keys: kms.untag_resource(KeyId=key_id, TagKeys=keys),
        )
        return meta

    def iam(self) -> None:
        seed_iam(self.client("iam"), self.world, self.step)

    def ssm(self) -> None:
        self.each(self.client("ssm"), "ssm_parameters", self.world.ssm_parameters, self.parameter)

    def parameter(self, ssm: Any, param: SsmParameter, path: str) -> None:
        """An existing parameter is overwritten (a new version); ``Overwrite`` cannot go with ``Tags``."""
        args: dict[str, Any] = {"Name": param.name, "Value": param.value, "Type": param.type}
        if param.type == "SecureString" and param.key:
            args["KeyId"] = self.key_id(param.key)
        if param.description:
            args["Description"] = param.description
        tags = {"Tags": tag_list(param.tags)} if param.tags else {}
        if or_none(lambda: ssm.put_parameter(**args, **tags), "ParameterAlreadyExists"):
            return
        ssm.put_parameter(**args, Overwrite=True)
        resource = {"ResourceType": "Parameter", "ResourceId": param.name}
        sync_tags(
            tag_dict(ssm.list_tags_for_resource(**resource)["TagList"]),
            param.tags,
            lambda t: ssm.add_tags_to_resource(**resource, Tags=tag_list(t)),
            lambda keys: ssm.remove_tags_from_resource(**resource, TagKeys=keys),
        )

    def secretsmanager(self) -> None:
        self.each(self.client("secretsmanager"), "secrets", self.world.secrets, self.secret)

    def secret(self, sm: Any, secret: Secret, path: str) -> None:
        args: dict[str, Any] = {"Name": secret.name, "SecretString": secret.value}
        if secret.key:
            args["KmsKeyId"] = self.key_id(secret.key)
        if secret.description:
            args["Description"] = secret.description
        if secret.tags:
            args["Tags"] = tag_list(secret.tags)
        answer = or_none(lambda: sm.create_secret(**args), "ResourceExistsException")
        arn = answer["ARN"] if answer else self.update_secret(sm, secret, args.get("KmsKeyId"))
        if secret.policy is not None:
            sm.put_resource_policy(SecretId=arn, ResourcePolicy=policy_json(secret.policy))
        elif answer is None:
            sm.delete_resource_policy(SecretId=arn)
        self.secret_arns[secret.name] = arn
        self.world.seeded_secret_arns[secret.name] = arn

    def update_secret(self, sm: Any, secret: Secret, key_id: str | None) -> str:
        """The world's value as a new current version, after the key it is encrypted with is set."""
        current = sm.describe_secret(SecretId=secret.name)
        arn: str = current["ARN"]
        if current.get("DeletedDate"):  # scheduled for deletion: no value can be put until restored
            sm.restore_secret(SecretId=arn)
        metadata: dict[str, Any] = {}
        if current.get("KmsKeyId") != key_id:
            metadata["KmsKeyId"] = key_id or _SECRETS_MANAGER_KEY
        if current.get("Description", "") != secret.description:
            metadata["Description"] = secret.description
        if metadata:
            sm.update_secret(SecretId=arn, **metadata)
        sm.put_secret_value(SecretId=arn, SecretString=secret.value)
        sync_tags(
            tag_dict(current.get("Tags", [])),
            secret.tags,
            lambda t: sm.tag_resource(SecretId=arn, Tags=tag_list(t)),
            lambda keys: sm.untag_resource(SecretId=arn, TagKeys=keys),
        )
        return arn

    def ecr(self) -> None:
        self.each(self.client("ecr"), "ecr_repositories", self.world.ecr_repositories, self.repository)

    def repository(self, ecr: Any, repo: EcrRepository, path: str) -> None:
        """Tags are moved to the world's images; images the world does not name stay."""
        name = repo.name
        answer = or_none(
            lambda: ecr.create_repository(repositoryName=name, tags=tag_list(repo.tags)),
            "RepositoryAlreadyExistsException",
        )
        if answer is None:
            arn = self.world.repository_arn(name)
            sync_tags(
                tag_dict(ecr.list_tags_for_resource(resourceArn=arn)["tags"]),
                repo.tags,
                lambda t: ecr.tag_resource(resourceArn=arn, tags=tag_list(t)),
                lambda keys: ecr.untag_resource(resourceArn=arn, tagKeys=keys),
            )
        if repo.policy is not None:
            ecr.set_repository_policy(repositoryName=name, policyText=policy_json(repo.policy))
        elif answer is None:
            or_none(
                lambda: ecr.delete_repository_policy(repositoryName=name), "RepositoryPolicyNotFoundException"
            )
        repository_uri = self.world.repository_uri(name)
        for tag, local_image in repo.images.items():
            digest = self.put_image(ecr, name, tag, local_image)
            self.images[f"{repository_uri}:{tag}"] = local_image
            self.images[f"{repository_uri}@{digest}"] = local_image
            self.digests[f"{repository_uri}:{tag}"] = digest

    @staticmethod
    def put_image(ecr: Any, repository: str, tag: str, local_image: str) -> str:
        """The digest of the image ``tag`` now names (ECR refuses to push the same image to a tag again)."""
        image = or_none(
            lambda: ecr.put_image(
                repositoryName=repository,
                imageManifest=image_manifest(local_image),
                imageManifestMediaType=_DOCKER_MANIFEST,
                imageTag=tag,
            ),
            "ImageAlreadyExistsException",
        )
        if image is not None:
            return str(image["image"]["imageId"]["imageDigest"])
        details = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
        return str(details[0]["imageDigest"])

    def logs(self) -> None:
        self.each(self.client("logs"), "log_groups", self.world.log_groups, self.log_group)

    def log_group(self, logs: Any, group: LogGroup, path: str) -> None:
        name = group.name
        tags = {"tags": dict(group.tags)} if group.tags else {}
        answer = or_none(
            lambda: logs.create_log_group(logGroupName=name, **tags), "ResourceAlreadyExistsException"
        )
        if group.retention_days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=group.retention_days)
        if answer is not None:
            return
        if not group.retention_days:
            logs.delete_retention_policy(logGroupName=name)
        sync_tags(
            logs.list_tags_log_group(logGroupName=name).get("tags", {}),
            group.tags,
            lambda t: logs.tag_log_group(logGroupName=name, tags=t),
            lambda keys: logs.untag_log_group(logGroupName=name, tags=keys),
        )

    def s3(self) -> None:
        """S3 creates a bucket idempotently in us-east-1: this account's buckets are listed first to tell
        a bucket seeded before (whose tags, encryption and policy are then reset) from a new one."""
        s3 = self.client("s3")
        with self.step("s3_buckets"):
            pages = s3.get_paginator("list_buckets").paginate()
            owned = {b["Name"] for page in pages for b in page["Buckets"]}
        self.each(s3, "s3_buckets", self.world.s3_buckets, partial(self.bucket, owned=owned))

    def bucket(self, s3: Any, bucket: S3Bucket, path: str, *, owned: set[str]) -> None:
        name = bucket.name
        existed = name in owned
        if not existed:
            args: dict[str, Any] = {}
            if self.world.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.world.region}
            s3.create_bucket(Bucket=name, **args)
        if bucket.tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(bucket.tags)})
        elif existed:
            s3.delete_bucket_tagging(Bucket=name)
        if bucket.kms_key:  # before the objects, which it then encrypts
            default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.key_id(bucket.kms_key)}
            rule = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bucket.bucket_key}
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
        elif existed:  # back to SSE-S3
            s3.delete_bucket_encryption(Bucket=name)
        for key, content in bucket.objects.items():
            sse: dict[str, Any] = {}
            if key in bucket.object_keys:
                sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_id(bucket.object_keys[key])}
            s3.put_object(Bucket=name, Key=key, Body=content.encode(), **sse)
        if bucket.policy is not None:  # last: a policy that denies may cover the seeding's own writes
            s3.put_bucket_policy(Bucket=name, Policy=policy_json(bucket.policy))
        elif existed:
            s3.delete_bucket_policy(Bucket=name)

    def sqs(self) -> None:
        self.each(self.client("sqs"), "sqs_queues", self.world.sqs_queues, self.queue)

    def queue(self, sqs: Any, queue: SqsQueue, path: str) -> None:
        """CreateQueue answers for an existing queue when the attributes sent match, so it would keep a
        policy the world dropped: the queue is looked up first."""
        found = or_none(lambda: sqs.get_queue_url(QueueName=queue.name), *_NO_QUEUE)
        if found is None:
            attributes = {"FifoQueue": "true"} if queue.name.endswith(".fifo") else {}
            if queue.policy is not None:
                attributes["Policy"] = policy_json(queue.policy)
            sqs.create_queue(QueueName=queue.name, Attributes=attributes, tags=dict(queue.tags))
            return
        url = found["QueueUrl"]
        policy = policy_json(queue.policy) if queue.policy is not None else ""  # "": no policy
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        sync_tags(
            sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
            queue.tags,
            lambda t: sqs.tag_queue(QueueUrl=url, Tags=t),
            lambda keys: sqs.untag_queue(QueueUrl=url, TagKeys=keys),
        )

    def sns(self) -> None:
        """CreateTopic answers for an existing topic: this account's topics are listed first to tell."""
        sns = self.client("sns")
        with self.step("sns_topics"):
            pages = sns.get_paginator("list_topics").paginate()
            existing = {t["TopicArn"] for page in pages for t in page["Topics"]}
        self.each(sns, "sns_topics", self.world.sns_topics, partial(self.topic, existing=existing))

    def topic(self, sns: Any, topic: SnsTopic, path: str, *, existing: set[str]) -> None:
        arn = self.world.topic_arn(topic.name)
        if arn not in existing:
            attributes = {"FifoTopic": "true"} if topic.name.endswith(".fifo") else {}
            if topic.policy is not None:
                attributes["Policy"] = policy_json(topic.policy)
            sns.create_topic(Name=topic.name, Attributes=attributes, Tags=tag_list(topic.tags))
            return
        policy = topic.policy if topic.policy is not None else default_topic_policy(arn, self.world.account)
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy_json(policy))
        sync_tags(
            tag_dict(sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])),
            topic.tags,
            lambda t: sns.tag_resource(ResourceArn=arn, Tags=tag_list(t)),
            lambda keys: sns.untag_resource(ResourceArn=arn, TagKeys=keys),
        )

    def dynamodb(self) -> None:
        self.each(self.client("dynamodb"), "dynamodb_tables", self.world.dynamodb_tables, self.table)

    def table(self, dynamodb: Any, table: DynamoTable, path: str) -> None:
        """An existing table is kept, items and all, when its key schema is the world's; else an error."""
        keys: list[tuple[str, str, str]] = [(table.hash_key, table.hash_key_type, "HASH")]
        if table.range_key:
            keys.append((table.range_key, table.range_key_type, "RANGE"))
        args = {"Tags": tag_list(table.tags)} if table.tags else {}
        answer = or_none(
            lambda: dynamodb.create_table(
                TableName=table.name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": role} for k, _, role in keys],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t, _ in keys],
                **args,
            ),
            "ResourceInUseException",
        )
        if answer is not None:
            return
        current = dynamodb.describe_table(TableName=table.name)["Table"]
        types = {a["AttributeName"]: a["AttributeType"] for a in current["AttributeDefinitions"]}
        schema = [
            (k["AttributeName"], types.get(k["AttributeName"], "?"), k["KeyType"])
            for k in current["KeySchema"]
        ]
        if sorted(schema, key=lambda k: k[2]) != keys:  # HASH before RANGE, as ``keys``
            raise mismatch(
                self.where(path),
                f"table {table.name!r}",
                f"key schema {_schema_text(schema)}",
                _schema_text(keys),
            )
        arn = current["TableArn"]
        pages = dynamodb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
        sync_tags(
            tag_dict([t for page in pages for t in page["Tags"]]),
            table.tags,
            lambda t: dynamodb.tag_resource(ResourceArn=arn, Tags=tag_list(t)),
            lambda keys: dynamodb.untag_resource(ResourceArn=arn, TagKeys=keys),
        )


def _schema_text(keys: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{role} key {name} ({kind})" for name, kind, role in keys)


def seed(world: World, backend: Backend) -> SeededWorld:
    """Create everything ``world`` declares in ``backend`` (started), or update it to the world where the
    backend has it already; nothing the world does not name is changed."""
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
