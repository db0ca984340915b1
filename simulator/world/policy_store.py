"""The policies and resource facts the authorizer needs, read back from the AWS backend.

Identity policies, boundaries and resource policies come from the backend's own APIs, so a change made
through the backend (``iam put-role-policy``, ``s3api put-bucket-policy`` ...) takes effect after
``invalidate()``. SCPs exist only in the world file (there is no Organizations backend). Everything is
compiled once with the IAM policy parser and cached until ``invalidate()``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..backend.base import Backend
from ..iam.model import PolicyKind, PolicySet, Principal, PrincipalType
from ..iam.policy import Policy, parse_policy
from ..policy_source import ResourceInfo, is_aws_managed_key
from .aws_managed import aws_managed_key_policy
from .converge import error_code
from .model import World

_CLIENT_CONFIG = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})

# error codes meaning "no such resource" / "no such policy on it", per service
_NOT_FOUND = {
    "NoSuchEntity",
    "NoSuchBucket",
    "NotFoundException",
    "ResourceNotFoundException",
    "ParameterNotFound",
    "RepositoryNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "404",  # HeadBucket has no error body
}
_NO_POLICY = {
    "NoSuchBucketPolicy",
    "RepositoryPolicyNotFoundException",
    "NoSuchTagSet",
    "NoSuchTagSetError",
    "ServerSideEncryptionConfigurationNotFoundError",
}


def _is_sse_kms(algorithm: Any) -> bool:
    """SSE-KMS or DSSE-KMS (``aws:kms``, ``aws:kms:dsse``), as S3 names its server-side encryption."""
    return str(algorithm or "").startswith("aws:kms")


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN; empty strings when it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "", "", "", ""
    return parts[2], parts[3], parts[4], parts[5]


class BackendPolicyStore:
    """``PolicySource`` over a backend's admin session. Thread-safe."""

    def __init__(
        self, admin_session: boto3.Session, world: World, *, endpoint_url: str | None = None
    ) -> None:
        self._session = admin_session
        self._world = world
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._principals: dict[str, PolicySet] = {}
        self._resources: dict[str, ResourceInfo] = {}
        self._managed: dict[tuple[str, PolicyKind], Policy] = {}  # shared by every role that attaches it
        self._scps = tuple(
            parse_policy(scp.document, name=scp.name, kind=PolicyKind.SCP) for scp in world.scps
        )

    @classmethod
    def for_backend(cls, backend: Backend, world: World) -> BackendPolicyStore:
        return cls(backend.admin_session(), world, endpoint_url=backend.endpoint_url)

    # --- PolicySource ------------------------------------------------------------------------------
    def principal_policies(self, principal: Principal) -> PolicySet:
        key = principal.role_arn or principal.arn
        with self._lock:
            cached = self._principals.get(key)
        if cached is not None:
            return cached
        policies = self._load_principal(principal)
        with self._lock:
            self._principals[key] = policies
        return policies

    def resource_info(self, arn: str) -> ResourceInfo:
        with self._lock:
            cached = self._resources.get(arn)
        if cached is not None:
            return cached
        info = self._load_resource(arn)
        with self._lock:
            self._resources[arn] = info
        return info

    def invalidate(self) -> None:
        with self._lock:
            self._principals.clear()
            self._resources.clear()
            self._managed.clear()

    # --- plumbing ----------------------------------------------------------------------------------
    def _client(self, service: str, region: str = "") -> Any:
        region = region or self._world.region
        with self._lock:  # boto3 sessions are not thread-safe; the clients they make are
            client = self._clients.get((service, region))
            if client is None:
                client = self._session.client(
                    service, region_name=region, endpoint_url=self._endpoint_url, config=_CLIENT_CONFIG
                )
                self._clients[(service, region)] = client
            return client

    @staticmethod
    def _document(value: Any) -> Mapping[str, Any] | str:
        return value if isinstance(value, Mapping) else str(value)

    # --- principals --------------------------------------------------------------------------------
    def _load_principal(self, principal: Principal) -> PolicySet:
        if principal.type is PrincipalType.ASSUMED_ROLE and principal.role_name:
            identity, boundary = self._entity_policies("role", principal.role_name)
        elif principal.type is PrincipalType.USER and principal.username:
            identity, boundary = self._entity_policies("user", principal.username)
        else:
            identity, boundary = (), None
        return PolicySet(identity=identity, boundary=boundary, scps=self._scps)

    def _entity_policies(self, kind: str, name: str) -> tuple[tuple[Policy, ...], Policy | None]:
        """Inline + attached managed policies and the permissions boundary of a role or user."""
        iam = self._client("iam")
        noun = "Role" if kind == "role" else "User"
        arg = {f"{noun}Name": name}
        try:
            entity = getattr(iam, f"get_{kind}")(**arg)[noun]
        except ClientError as err:
            if error_code(err) in _NOT_FOUND:
                return (), None
            raise
        policies: list[Policy] = []
        for page in iam.get_paginator(f"list_{kind}_policies").paginate(**arg):
            for policy_name in page["PolicyNames"]:
                doc = getattr(iam, f"get_{kind}_policy")(**arg, PolicyName=policy_name)["PolicyDocument"]
                policies.append(parse_policy(self._document(doc), name=policy_name, kind=PolicyKind.IDENTITY))
        for page in iam.get_paginator(f"list_attached_{kind}_policies").paginate(**arg):
            for attached in page["AttachedPolicies"]:
                policies.append(self.managed_policy(attached["PolicyArn"], PolicyKind.IDENTITY))
        boundary_arn = entity.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        boundary = self.managed_policy(boundary_arn, PolicyKind.BOUNDARY) if boundary_arn else None
        return tuple(policies), boundary

    def managed_policy(self, arn: str, kind: PolicyKind) -> Policy:
        with self._lock:
            cached = self._managed.get((arn, kind))
        if cached is None:
            cached = self._load_managed_policy(arn, kind)
            with self._lock:
                self._managed[(arn, kind)] = cached
        return cached

    def _load_managed_policy(self, arn: str, kind: PolicyKind) -> Policy:
        iam = self._client("iam")
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        return parse_policy(self._document(version["Document"]), name=policy["PolicyName"], kind=kind)

    # --- resources ---------------------------------------------------------------------------------
    def _load_resource(self, arn: str) -> ResourceInfo:
        service, region, _, resource = _arn_parts(arn)
        loader: Callable[[str, str, str], ResourceInfo] | None = {
            "s3": self._s3,
            "kms": self._kms,
            "secretsmanager": self._secret,
            "ssm": self._parameter,
            "ecr": self._repository,
            "sqs": self._queue,
            "sns": self._topic,
            "logs": self._log_group,
            "dynamodb": self._table,
            "iam": self._iam_resource,
        }.get(service)
        if loader is None:  # a service whose resources carry no policy we model
            return ResourceInfo(arn=arn, exists=True)
        try:
            return loader(arn, region, resource)
        except ClientError as err:
            if error_code(err) in _NOT_FOUND:
                return ResourceInfo(arn=arn, exists=False)
            raise

    def _optional(self, call: Callable[[], Any], absent: set[str] = _NO_POLICY) -> Any:
        """``call()``, or None when the backend says the policy/tag set (or what ``absent`` names) is absent."""
        try:
            return call()
        except ClientError as err:
            if error_code(err) in absent:
                return None
            raise

    def _resource_policy(self, text: Any, name: str) -> Policy | None:
        if not text:
            return None
        return parse_policy(
            text if isinstance(text, str) else json.dumps(text), name=name, kind=PolicyKind.RESOURCE
        )

    def _s3(self, arn: str, region: str, resource: str) -> ResourceInfo:
        """A bucket: its policy, tags and default KMS key. An object: its bucket's policy and tags (which
        govern it) and the KMS key that encrypts it, if it exists yet."""
        bucket, _, key = resource.partition("/")
        s3 = self._client("s3")
        if key:
            bucket_info = self.resource_info(arn.split("/", 1)[0])
            head = self._optional(lambda: s3.head_object(Bucket=bucket, Key=key), _NOT_FOUND) or {}
            encrypted = _is_sse_kms(head.get("ServerSideEncryption"))
            return dataclasses.replace(
                bucket_info,
                arn=arn,
                kms_key_arn=self._customer_key(head.get("SSEKMSKeyId")) if encrypted else None,
                kms_bucket_key=encrypted and bool(head.get("BucketKeyEnabled")),
            )
        s3.head_bucket(Bucket=bucket)
        policy = self._optional(lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"])
        tagging = self._optional(lambda: s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) or []
        encryption = self._optional(lambda: s3.get_bucket_encryption(Bucket=bucket)) or {}
        rules = encryption.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        rule = next(
            (
                r
                for r in rules
                if _is_sse_kms(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm"))
            ),
            {},
        )
        return ResourceInfo(
            arn=arn,
            exists=True,
            policy=self._resource_policy(policy, bucket),
            tags={t["Key"]: t["Value"] for t in tagging},
            kms_key_arn=self._customer_key(
                rule.get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
            ),
            kms_bucket_key=bool(rule.get("BucketKeyEnabled")),
        )

    def _customer_key(self, key_ref: str | None) -> str | None:
        """The ARN of the customer managed key S3 encrypts with: None for none or the AWS managed aws/s3,
        whose key policy lets every principal of the account use it through S3."""
        if not key_ref or is_aws_managed_key(key_ref):
            return None
        return self.key_arn(key_ref)

    def key_arn(self, key_ref: str, region: str = "") -> str | None:
        """Key id, key ARN, alias name or alias ARN (incl. AWS managed ``alias/aws/ssm``) -> key ARN."""
        try:
            return self._client("kms", region).describe_key(KeyId=key_ref)["KeyMetadata"]["Arn"]
        except ClientError as err:
            if error_code(err) in _NOT_FOUND:
                return None
            raise

    def _kms(self, arn: str, region: str, resource: str) -> ResourceInfo:
        """Key id, key ARN or alias ARN; ``ResourceInfo.arn`` is the key ARN, which IAM evaluates."""
        kms = self._client("kms", region)
        meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
        key_arn = meta["Arn"]
        aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=meta["KeyId"]).get("Aliases", [])]
        managed = next((a for a in aliases if a.startswith("alias/aws/")), None)
        # moto gives an AWS managed key (alias/aws/ssm...) an ordinary default policy: AWS's own instead
        _, partition, _, key_region, account, _ = key_arn.split(":", 5)
        policy = (
            aws_managed_key_policy(managed, key_region, account, partition)
            if managed
            else kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]
        )
        tags = kms.list_resource_tags(KeyId=meta["KeyId"]).get("Tags", [])
        return ResourceInfo(
            arn=key_arn,
            exists=True,
            policy=self._resource_policy(policy, meta["KeyId"]),
            tags={t["TagKey"]: t["TagValue"] for t in tags},
        )

    def _secret(self, arn: str, region: str, resource: str) -> ResourceInfo:
        sm = self._client("secretsmanager", region)
        # secret:NAME-AbCdEf (full) or secret:NAME (partial); json-key/version suffixes are not part of it
        secret_id = ":".join(arn.split(":")[:7])
        described = sm.describe_secret(SecretId=secret_id)
        policy = sm.get_resource_policy(SecretId=described["ARN"]).get("ResourcePolicy")
        key = described.get("KmsKeyId")
        return ResourceInfo(
            arn=described["ARN"],
            exists=True,
            policy=self._resource_policy(policy, described["Name"]),
            tags={t["Key"]: t["Value"] for t in described.get("Tags", [])},
            kms_key_arn=self.key_arn(key, region) if key else None,
        )

    def _parameter(self, arn: str, region: str, resource: str) -> ResourceInfo:
        ssm = self._client("ssm", region)
        name = resource.removeprefix("parameter")
        candidates = [name] if "/" in name[1:] else [name[1:], name]  # "parameter/x": x or /x
        for candidate in candidates:
            found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [candidate]}])[
                "Parameters"
            ]
            if found:
                break
        else:
            return ResourceInfo(arn=arn, exists=False)
        param = found[0]
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=param["Name"]).get(
            "TagList", []
        )
        key = param.get("KeyId") or ("alias/aws/ssm" if param["Type"] == "SecureString" else None)
        return ResourceInfo(
            arn=arn,
            exists=True,
            tags={t["Key"]: t["Value"] for t in tags},
            kms_key_arn=self.key_arn(key, region) if key else None,
        )

    def _repository(self, arn: str, region: str, resource: str) -> ResourceInfo:
        ecr = self._client("ecr", region)
        name = resource.removeprefix("repository/")
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        policy = self._optional(lambda: ecr.get_repository_policy(repositoryName=name)["policyText"])
        tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"]).get("tags", [])
        key = repo.get("encryptionConfiguration", {}).get("kmsKey")
        return ResourceInfo(
            arn=arn,
            exists=True,
            policy=self._resource_policy(policy, name),
            tags={t["Key"]: t["Value"] for t in tags},
            kms_key_arn=self.key_arn(key, region) if key else None,
        )

    def _queue(self, arn: str, region: str, resource: str) -> ResourceInfo:
        sqs = self._client("sqs", region)
        _, _, account, name = _arn_parts(arn)
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy", "KmsMasterKeyId"])
        attributes = attributes.get("Attributes", {})
        key = attributes.get("KmsMasterKeyId")
        return ResourceInfo(
            arn=arn,
            exists=True,
            policy=self._resource_policy(attributes.get("Policy"), name),
            tags=sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
            kms_key_arn=self.key_arn(key, region) if key else None,
        )

    def _topic(self, arn: str, region: str, resource: str) -> ResourceInfo:
        sns = self._client("sns", region)
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        tags = sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
        key = attributes.get("KmsMasterKeyId")
        return ResourceInfo(
            arn=arn,
            exists=True,
            policy=self._resource_policy(attributes.get("Policy"), resource),
            tags={t["Key"]: t["Value"] for t in tags},
            kms_key_arn=self.key_arn(key, region) if key else None,
        )

    def _log_group(self, arn: str, region: str, resource: str) -> ResourceInfo:
        logs = self._client("logs", region)
        # log-group:NAME, log-group:NAME:*, log-group:NAME:log-stream:STREAM
        name = resource.removeprefix("log-group:").split(":log-stream:", 1)[0].removesuffix(":*")
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == name), None)
        if group is None:
            return ResourceInfo(arn=arn, exists=False)
        tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
        key = group.get("kmsKeyId")
        return ResourceInfo(
            arn=arn, exists=True, tags=tags, kms_key_arn=self.key_arn(key, region) if key else None
        )

    def _table(self, arn: str, region: str, resource: str) -> ResourceInfo:
        dynamodb = self._client("dynamodb", region)
        name = resource.removeprefix("table/").split("/", 1)[0]
        table = dynamodb.describe_table(TableName=name)["Table"]
        tags = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
        key = table.get("SSEDescription", {}).get("KMSMasterKeyArn")
        return ResourceInfo(arn=arn, exists=True, tags={t["Key"]: t["Value"] for t in tags}, kms_key_arn=key)

    def _iam_resource(self, arn: str, region: str, resource: str) -> ResourceInfo:
        """A role as the resource of ``sts:AssumeRole``: its trust policy is the resource policy."""
        if not resource.startswith("role/"):
            return ResourceInfo(arn=arn, exists=True)
        role = self._client("iam").get_role(RoleName=resource.rsplit("/", 1)[-1])["Role"]
        trust = parse_policy(
            self._document(role["AssumeRolePolicyDocument"]), name=f"{role['RoleName']} trust policy",
            kind=PolicyKind.TRUST,
        )  # fmt: skip
        return ResourceInfo(
            arn=arn, exists=True, policy=trust, tags={t["Key"]: t["Value"] for t in role.get("Tags", [])}
        )
