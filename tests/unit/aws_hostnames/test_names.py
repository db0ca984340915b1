from __future__ import annotations

import pytest

from simulator.aws_hostnames import is_aws_name


@pytest.mark.parametrize(
    "name",
    [
        "ssm.us-east-1.amazonaws.com",
        "sts.amazonaws.com",
        "app-data.s3.amazonaws.com",
        "my.dotted.bucket.s3.eu-west-1.amazonaws.com.",
        "SQS.US-WEST-2.AMAZONAWS.COM",
        "s3.dualstack.us-east-1.api.aws",
        "kms.cn-north-1.amazonaws.com.cn",
    ],
)
def test_aws_service_names(name: str) -> None:
    assert is_aws_name(name)


@pytest.mark.parametrize(
    "name", ["amazonaws.com", "example.com", "amazonaws.com.evil.test", "notamazonaws.com", ""]
)
def test_other_names(name: str) -> None:
    assert not is_aws_name(name)
