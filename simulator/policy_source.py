"""What the authorizer needs to know about principals and resources, independent of where it lives.

The gateway asks a ``PolicySource`` for the policies of a caller and the facts of a resource; the
implementation (``simulator.world.policy_store``) reads them back from the AWS backend, so a policy
changed through the backend's own API takes effect at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .iam.model import PolicyKind, PolicySet, Principal
from .iam.policy import Policy

_READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet")


def is_read_operation(operation: str) -> bool:
    """Whether an API call only reads: anything else may change a policy, a tag or a key, so cached
    policies and resource facts are dropped after it."""
    return operation.startswith(_READ_PREFIXES)


def is_aws_managed_key(key_ref: str) -> bool:
    """Whether a key reference names an AWS managed key (``alias/aws/s3``, or its alias ARN)."""
    return key_ref.split(":", 5)[-1].startswith("alias/aws/")


@dataclass(frozen=True)
class ResourceInfo:
    """Facts about one resource ARN: its resource-based policy, tags, and the KMS key that encrypts it."""

    arn: str
    exists: bool
    policy: Policy | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    kms_key_arn: str | None = None  # customer managed key, if the resource is encrypted with one
    # S3: an S3 Bucket Key encrypts the object (or, for a bucket, its objects), so KMS is asked with
    # the bucket's ARN as encryption context instead of the object's
    kms_bucket_key: bool = False


class PolicySource(Protocol):
    def principal_policies(self, principal: Principal) -> PolicySet:
        """Identity policies, permissions boundary, SCPs and session policy of ``principal``
        (``resource`` left empty: it depends on the request)."""
        ...

    def resource_info(self, arn: str) -> ResourceInfo:
        """Resource policy, tags and KMS key of ``arn``; ``exists=False`` when the backend has none."""
        ...

    def managed_policy(self, arn: str, kind: PolicyKind) -> Policy:
        """The default version of managed policy ``arn``, parsed as a policy of ``kind``."""
        ...

    def invalidate(self) -> None:
        """Forget cached policies and facts (called after any write request passes the gateway)."""
        ...
