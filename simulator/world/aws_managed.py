"""AWS managed policies by name, from moto's bundled copy of them (the policies the backend serves)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any


@cache
def aws_managed_policies() -> dict[str, dict[str, Any]]:
    """Name -> moto's entry (``Path``, ``Document``, ``DefaultVersionId``, dates); 4.7 MB of JSON, read once
    per process for the world loader and the embedded backend alike. Do not modify it."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


# What the key policy of an AWS managed key (alias/aws/SERVICE) lets principals do through the service.
_THROUGH_THE_SERVICE = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
    "kms:DescribeKey",
]


def aws_managed_key_policy(alias: str, region: str, account: str, partition: str = "aws") -> dict[str, Any]:
    """The key policy AWS gives the AWS managed key ``alias`` (``alias/aws/ssm``...): every principal of
    the account may use it through that service (and only so), the account may read its metadata; no
    identity policy can grant more, as the policy does not delegate to the account."""
    service = alias.removeprefix("alias/aws/")
    return {
        "Version": "2012-10-17",
        "Id": f"auto-{service}",
        "Statement": [
            {
                "Sid": f"Allow access through {service} for all principals in the account that are authorized "
                f"to use {service}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": _THROUGH_THE_SERVICE,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": f"{service}.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }


def aws_managed_names() -> list[str]:
    return list(aws_managed_policies())


def aws_managed_arn(name: str, partition: str = "aws") -> str | None:
    """``arn:aws:iam::aws:policy/<path><name>`` for a known AWS managed policy name, else None."""
    entry = aws_managed_policies().get(name)
    return f"arn:{partition}:iam::aws:policy{entry['Path']}{name}" if entry else None


def is_aws_managed_arn(arn: str) -> bool:
    partition = arn.split(":", 2)[1] if arn.count(":") >= 2 else ""
    return aws_managed_arn(arn.rsplit("/", 1)[-1], partition) == arn
