"""The account a task runs in, as declared by a world file: typed, validated, ready to seed.

Names are the user's names; ARNs are derived from the world's account and region as AWS forms them.
Two kinds of identifier exist only once the world is seeded (AWS picks them): Secrets Manager's
6-character ARN suffix and KMS key ids. ``seed()`` records them here; before that ``secret_arn`` gives
the partial ARN (which AWS accepts as a secret reference) and ``key_arn`` the alias ARN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InputError

PolicyDocument = Mapping[str, Any]
Tags = Mapping[str, str]


@dataclass(frozen=True)
class Role:
    name: str
    trust: PolicyDocument
    managed: tuple[str, ...] = ()  # policy ARNs (AWS managed or this world's customer managed)
    inline: Mapping[str, PolicyDocument] = field(default_factory=dict)
    boundary: str | None = None  # policy ARN
    tags: Tags = field(default_factory=dict)
    path: str = "/"
    description: str = ""


@dataclass(frozen=True)
class User:
    name: str
    managed: tuple[str, ...] = ()
    inline: Mapping[str, PolicyDocument] = field(default_factory=dict)
    boundary: str | None = None
    tags: Tags = field(default_factory=dict)
    path: str = "/"


@dataclass(frozen=True)
class ManagedPolicy:
    """A customer managed policy (``policies:``)."""

    name: str
    document: PolicyDocument
    path: str = "/"
    description: str = ""


@dataclass(frozen=True)
class Scp:
    name: str
    document: PolicyDocument


@dataclass(frozen=True)
class KmsKey:
    name: str
    aliases: tuple[str, ...] = ()  # "alias/..."
    policy: PolicyDocument | None = None  # None: the default key policy (account root may do kms:*)
    description: str = ""
    tags: Tags = field(default_factory=dict)


ParameterType = Literal["String", "StringList", "SecureString"]


@dataclass(frozen=True)
class SsmParameter:
    name: str
    value: str
    type: ParameterType = "String"
    key: str | None = None  # KMS key reference (world key name, alias or ARN); SecureString only
    description: str = ""
    tags: Tags = field(default_factory=dict)


@dataclass(frozen=True)
class Secret:
    name: str
    value: str  # JSON values are stored as their JSON text, as the console does
    key: str | None = None
    policy: PolicyDocument | None = None
    description: str = ""
    tags: Tags = field(default_factory=dict)


@dataclass(frozen=True)
class EcrRepository:
    name: str
    images: Mapping[str, str] = field(default_factory=dict)  # tag -> local Docker image
    policy: PolicyDocument | None = None
    tags: Tags = field(default_factory=dict)


@dataclass(frozen=True)
class LogGroup:
    name: str
    retention_days: int | None = None
    tags: Tags = field(default_factory=dict)


@dataclass(frozen=True)
class S3Bucket:
    name: str
    policy: PolicyDocument | None = None
    objects: Mapping[str, str] = field(default_factory=dict)  # key -> content
    tags: Tags = field(default_factory=dict)
    # default encryption SSE-KMS under this key (world key name, alias or ARN); None: SSE-S3
    kms_key: str | None = None
    bucket_key: bool = False  # S3 Bucket Key: KMS is asked with the bucket's ARN, not the object's
    object_keys: Mapping[str, str] = field(default_factory=dict)  # object key -> its own KMS key


@dataclass(frozen=True)
class SqsQueue:
    name: str
    policy: PolicyDocument | None = None
    tags: Tags = field(default_factory=dict)


@dataclass(frozen=True)
class SnsTopic:
    name: str
    policy: PolicyDocument | None = None
    tags: Tags = field(default_factory=dict)


KeyType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class DynamoTable:
    name: str
    hash_key: str
    hash_key_type: KeyType = "S"
    range_key: str | None = None
    range_key_type: KeyType = "S"
    tags: Tags = field(default_factory=dict)


@dataclass
class World:
    source: str
    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    scps: list[Scp] = field(default_factory=list)
    kms_keys: dict[str, KmsKey] = field(default_factory=dict)
    ssm_parameters: dict[str, SsmParameter] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    ecr_repositories: dict[str, EcrRepository] = field(default_factory=dict)
    log_groups: dict[str, LogGroup] = field(default_factory=dict)
    s3_buckets: dict[str, S3Bucket] = field(default_factory=dict)
    sqs_queues: dict[str, SqsQueue] = field(default_factory=dict)
    sns_topics: dict[str, SnsTopic] = field(default_factory=dict)
    dynamodb_tables: dict[str, DynamoTable] = field(default_factory=dict)
    # identifiers AWS chooses, filled in by seed(): secret name -> full ARN, key name -> key id
    seeded_secret_arns: dict[str, str] = field(default_factory=dict)
    seeded_key_ids: dict[str, str] = field(default_factory=dict)

    # --- ARNs -----------------------------------------------------------------------------------
    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    def role_arn(self, name: str) -> str:
        role = self.roles.get(name)
        path = role.path if role else "/"
        return self._arn("iam", f"role{path}{name}", region=False)

    def user_arn(self, name: str) -> str:
        user = self.users.get(name)
        return self._arn("iam", f"user{user.path if user else '/'}{name}", region=False)

    def policy_arn(self, name: str) -> str:
        policy = self.policies.get(name)
        return self._arn("iam", f"policy{policy.path if policy else '/'}{name}", region=False)

    def secret_arn(self, name: str) -> str:
        """The full ARN once seeded (with the random suffix), else the partial ARN."""
        return self.seeded_secret_arns.get(name) or self._arn("secretsmanager", f"secret:{name}")

    def parameter_arn(self, name: str) -> str:
        return self._arn("ssm", f"parameter{name if name.startswith('/') else '/' + name}")

    def key_arn(self, name_or_alias: str) -> str:
        """Key ARN of a world key, by its name in the world or one of its aliases (``alias/x`` or ``x``).
        Before seeding the key id is unknown and the alias ARN is returned."""
        key = self.find_key(name_or_alias)
        if key is None:
            raise InputError(f"no KMS key {name_or_alias!r} in the world", where=self.source)
        key_id = self.seeded_key_ids.get(key.name)
        if key_id:
            return self._arn("kms", f"key/{key_id}")
        if key.aliases:
            return self._arn("kms", key.aliases[0])
        raise InputError(
            f"KMS key {key.name!r} has no alias and the world is not seeded yet", where=self.source
        )

    def find_key(self, ref: str) -> KmsKey | None:
        """A world key by name, alias (with or without ``alias/``) or alias ARN."""
        if ref in self.kms_keys:
            return self.kms_keys[ref]
        alias = ref.split(":", 5)[-1] if ref.startswith("arn:") else ref
        alias = alias if alias.startswith("alias/") else f"alias/{alias}"
        return next((k for k in self.kms_keys.values() if alias in k.aliases), None)

    def bucket_arn(self, name: str) -> str:
        return self._arn("s3", name, region=False, account=False)

    def object_arn(self, bucket: str, key: str) -> str:
        return self._arn("s3", f"{bucket}/{key}", region=False, account=False)

    def log_group_arn(self, name: str) -> str:
        return self._arn("logs", f"log-group:{name}")

    def repository_arn(self, name: str) -> str:
        return self._arn("ecr", f"repository/{name}")

    def repository_uri(self, name: str) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{name}"

    def queue_arn(self, name: str) -> str:
        return self._arn("sqs", name)

    def topic_arn(self, name: str) -> str:
        return self._arn("sns", name)

    def table_arn(self, name: str) -> str:
        return self._arn("dynamodb", f"table/{name}")
