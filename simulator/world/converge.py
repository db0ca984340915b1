"""Bringing a resource that already exists in the backend in line with the world.

A remote backend (LocalStack, a moto server) keeps its state between runs, so seeding a world twice
finds its roles, secrets and buckets there already. Seeding then updates each one to what the world
declares instead of failing. Only what the world names is touched: other worlds may share the backend.
A resource whose shape cannot be changed in place (a table's key schema, a role's path) is an error
naming the world entry and the difference: replacing it would lose what it holds.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ..errors import InputError

T = TypeVar("T")


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def policy_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document)


def tag_list(tags: Mapping[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def tag_dict(tags: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in tags}


def or_none(call: Callable[[], T], *codes: str) -> T | None:
    """``call()``'s answer, or None when the backend refuses it with one of the error ``codes`` (it
    exists already, for a create; it does not exist, for a lookup)."""
    try:
        return call()
    except ClientError as err:
        if error_code(err) in codes:
            return None
        raise


def sync_tags(
    current: Mapping[str, str],
    wanted: Mapping[str, str],
    tag: Callable[[dict[str, str]], object],
    untag: Callable[[list[str]], object],
) -> None:
    """Make a resource's tags ``wanted``: tags matter to ``aws:ResourceTag`` conditions."""
    stale = [k for k in current if k not in wanted]
    if stale:
        untag(stale)
    changed = {k: v for k, v in wanted.items() if current.get(k) != v}
    if changed:
        tag(changed)


def same_document(current: Any, wanted: Mapping[str, Any]) -> bool:
    """Whether a policy document read back from the backend (parsed, JSON text, or URL-encoded JSON as
    IAM's query API sends it) is ``wanted``."""
    if isinstance(current, str):
        try:
            current = json.loads(urllib.parse.unquote(current) if current.startswith("%7B") else current)
        except ValueError:
            return False
    return bool(current == json.loads(policy_json(wanted)))


def mismatch(where: str, what: str, has: str, declared: str) -> InputError:
    return InputError(
        f"{what} already exists in the AWS backend with {has}, but the world declares {declared}; "
        "it cannot be changed in place: delete it from the backend or give it another name in the world",
        where=where,
    )


def default_key_policy(partition: str, account: str) -> dict[str, Any]:
    """The key policy KMS gives a key created without one: the account may use it through IAM."""
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def default_topic_policy(topic_arn: str, account: str) -> dict[str, Any]:
    """The access policy SNS gives a topic created without one: the owning account may use it."""
    return {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "SNS:GetTopicAttributes",
                    "SNS:SetTopicAttributes",
                    "SNS:AddPermission",
                    "SNS:RemovePermission",
                    "SNS:DeleteTopic",
                    "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic",
                    "SNS:Publish",
                ],
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
            }
        ],
    }
