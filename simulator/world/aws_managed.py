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


def aws_managed_names() -> list[str]:
    return list(aws_managed_policies())


def aws_managed_arn(name: str, partition: str = "aws") -> str | None:
    """``arn:aws:iam::aws:policy/<path><name>`` for a known AWS managed policy name, else None."""
    entry = aws_managed_policies().get(name)
    return f"arn:{partition}:iam::aws:policy{entry['Path']}{name}" if entry else None


def is_aws_managed_arn(arn: str) -> bool:
    partition = arn.split(":", 2)[1] if arn.count(":") >= 2 else ""
    return aws_managed_arn(arn.rsplit("/", 1)[-1], partition) == arn
