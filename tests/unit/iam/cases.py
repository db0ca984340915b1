"""Building blocks for the IAM conformance tables: accounts, principals, resources, policy shorthands.

Each case is one ``simulate`` request plus the decision the IAM User Guide says AWS makes, and ``doc``
names the User Guide page (and section) the case encodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCT = "111122223333"
OTHER = "444455556666"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app/s1"
OTHER_SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app/s2"
ROLE = f"arn:aws:iam::{ACCT}:role/app"
USER = f"arn:aws:iam::{ACCT}:user/alice"
ROOT = f"arn:aws:iam::{ACCT}:root"
EXT_SESSION = f"arn:aws:sts::{OTHER}:assumed-role/ext/s1"
EXT_ROLE = f"arn:aws:iam::{OTHER}:role/ext"
EXT_ROOT = f"arn:aws:iam::{OTHER}:root"
ECS_TASKS = "ecs-tasks.amazonaws.com"
BUCKET = "arn:aws:s3:::app-bucket"
OBJECT = f"{BUCKET}/data/x.txt"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PARAM = f"arn:aws:ssm:us-east-1:{ACCT}:parameter/app/x"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:app/db-AbCdEf"
TARGET_ROLE = f"arn:aws:iam::{ACCT}:role/target"

# User Guide page titles, cited by the cases.
EVAL = "Policy evaluation logic"
EVAL_DENYALLOW = (
    "Policy evaluation logic > Determining whether a request is allowed or denied within an account"
)
EVAL_RBP = "Policy evaluation logic > Resource-based policies and implicit denies in other policy types (same account)"
CROSS = "Cross-account policy evaluation logic"
SCP = "Service control policies (SCPs) > SCP evaluation"
BOUNDARY = "Permissions boundaries for IAM entities"
SESSION_DOC = "Policies and permissions in IAM > Session policies"
KMS = "AWS KMS Developer Guide: Key policies in AWS KMS > Default key policy"
KMS_VIA = "AWS KMS Developer Guide: kms:ViaService condition key"
TRUST = "IAM roles > How IAM roles differ from resource-based policies (role trust policy)"
PRINCIPAL = "IAM JSON policy elements: Principal"
NOTPRINCIPAL = "IAM JSON policy elements: NotPrincipal"
NOTACTION = "IAM JSON policy elements: NotAction"
NOTRESOURCE = "IAM JSON policy elements: NotResource"
ACTION = "IAM JSON policy elements: Action"
RESOURCE = "IAM JSON policy elements: Resource"
COND = "IAM JSON policy elements: Condition operators"
COND_STRING = f"{COND} > String condition operators"
COND_NUMERIC = f"{COND} > Numeric condition operators"
COND_DATE = f"{COND} > Date condition operators"
COND_BOOL = f"{COND} > Boolean condition operators"
COND_BINARY = f"{COND} > Binary condition operators"
COND_IP = f"{COND} > IP address condition operators"
COND_ARN = f"{COND} > Amazon Resource Name (ARN) condition operators"
COND_IFEXISTS = f"{COND} > ...IfExists condition operators"
COND_NULL = f"{COND} > Condition operator to check existence of condition keys"
COND_ELEMENT = (
    "IAM JSON policy elements: Condition > The condition block (evaluation logic for multiple keys or values)"
)
SETS = "Single-valued vs. multivalued context keys > Set operators for multivalued context keys"
VARS = "IAM policy elements: Variables and tags"
S3 = "Amazon S3 User Guide: Bucket policy examples"


def stmt(effect: str = "Allow", action: Any = "*", resource: Any = "*", **elements: Any) -> dict[str, Any]:
    """A statement; pass NotAction=/NotResource= to replace Action/Resource, resource=None to omit it."""
    out: dict[str, Any] = {"Effect": effect}
    if "NotAction" not in elements:
        out["Action"] = action
    if resource is not None and "NotResource" not in elements:
        out["Resource"] = resource
    out.update(elements)
    return out


def pol(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any = "*", resource: Any = "*", **elements: Any) -> dict[str, Any]:
    return pol(stmt("Allow", action, resource, **elements))


def deny(action: Any = "*", resource: Any = "*", **elements: Any) -> dict[str, Any]:
    return pol(stmt("Deny", action, resource, **elements))


def grant(principal: Any, action: Any = "*", resource: Any = "*", effect: str = "Allow", **elements: Any):
    """A resource-based policy statement (with Principal) as a one-statement policy."""
    key = "NotPrincipal" if elements.pop("not_principal", False) else "Principal"
    return pol(stmt(effect, action, resource, **{key: principal}, **elements))


@dataclass(frozen=True)
class Case:
    id: str
    doc: str
    expect: str  # Allow | ExplicitDeny | ImplicitDeny
    blocked_by: str | None
    request: dict[str, Any] = field(default_factory=dict)


def case(
    id: str,
    doc: str,
    expect: str,
    blocked_by: str | None = None,
    *,
    action: str = "s3:GetObject",
    resource: str = OBJECT,
    principal: str = SESSION,
    **request: Any,
) -> Case:
    return Case(
        id,
        doc,
        expect,
        blocked_by,
        {"principal": principal, "action": action, "resource": resource, **request},
    )
