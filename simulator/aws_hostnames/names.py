"""Which DNS names are AWS service endpoints: every name under a partition's DNS suffix, as botocore's
partition data lists them (amazonaws.com, api.aws, amazonaws.com.cn, ...)."""

from __future__ import annotations

from functools import cache

import botocore.loaders


@cache
def aws_dns_suffixes() -> frozenset[str]:
    partitions = botocore.loaders.create_loader().load_data("partitions")["partitions"]
    return frozenset(
        suffix.lower()
        for partition in partitions
        for key in ("dnsSuffix", "dualStackDnsSuffix")
        if (suffix := partition["outputs"].get(key))
    )


def is_aws_name(name: str) -> bool:
    """``ssm.us-east-1.amazonaws.com`` and ``bucket.s3.amazonaws.com`` are; ``amazonaws.com`` itself and
    ``example.com`` are not."""
    name = name.rstrip(".").lower()
    return any(name.endswith("." + suffix) for suffix in aws_dns_suffixes())
