"""Rendered errors read back by botocore's own response parsers give AWS's code and exact message."""

from __future__ import annotations

import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from simulator.gateway.catalog import catalog
from simulator.gateway.errors import Family, Problem, render, style_for

MESSAGE = (
    "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: x:Y on resource: <&> because ..."
)


def parsed_error(service: str, operation: str, problem: Problem, message: str | None = MESSAGE, head=False):
    model = catalog().model(service)
    rendered = render(style_for(service, model.protocol, model.metadata), problem, message, head=head)
    response = {
        "status_code": rendered.status,
        "headers": HeadersDict(rendered.headers),
        "body": rendered.body,
    }
    output = model.operation_model(operation).output_shape
    return rendered.status, create_parser(model.protocol).parse(response, output)["Error"]


@pytest.mark.parametrize(
    ("service", "operation", "problem", "status", "code"),
    [
        ("ssm", "GetParameters", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("secretsmanager", "GetSecretValue", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("kms", "Decrypt", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("ecr", "GetAuthorizationToken", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("logs", "CreateLogStream", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("dynamodb", "GetItem", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("s3", "GetObject", Problem.ACCESS_DENIED, 403, "AccessDenied"),
        ("sts", "AssumeRole", Problem.ACCESS_DENIED, 403, "AccessDenied"),
        ("sns", "Publish", Problem.ACCESS_DENIED, 403, "AccessDenied"),
        ("sqs", "SendMessage", Problem.ACCESS_DENIED, 400, "AccessDenied"),
        ("lambda", "Invoke", Problem.ACCESS_DENIED, 400, "AccessDeniedException"),
        ("ssm", "GetParameter", Problem.UNKNOWN_ACCESS_KEY, 400, "UnrecognizedClientException"),
        ("sts", "GetCallerIdentity", Problem.UNKNOWN_ACCESS_KEY, 403, "InvalidClientTokenId"),
        ("sqs", "ReceiveMessage", Problem.UNKNOWN_ACCESS_KEY, 400, "InvalidClientTokenId"),
        ("s3", "GetObject", Problem.UNKNOWN_ACCESS_KEY, 403, "InvalidAccessKeyId"),
        ("ssm", "GetParameter", Problem.EXPIRED_TOKEN, 400, "ExpiredTokenException"),
        ("sts", "GetCallerIdentity", Problem.EXPIRED_TOKEN, 400, "ExpiredToken"),
        ("s3", "GetObject", Problem.EXPIRED_TOKEN, 400, "ExpiredToken"),
        ("ssm", "GetParameter", Problem.SIGNATURE_MISMATCH, 400, "InvalidSignatureException"),
        ("sts", "GetCallerIdentity", Problem.SIGNATURE_MISMATCH, 403, "SignatureDoesNotMatch"),
        ("s3", "PutObject", Problem.SIGNATURE_MISMATCH, 403, "SignatureDoesNotMatch"),
        ("s3", "GetObject", Problem.CLOCK_SKEW, 403, "RequestTimeTooSkewed"),
        ("ssm", "GetParameter", Problem.MISSING_AUTH, 400, "MissingAuthenticationTokenException"),
        ("sts", "GetCallerIdentity", Problem.MISSING_AUTH, 403, "MissingAuthenticationToken"),
    ],
)
def test_sdk_sees_the_aws_code_and_message(service, operation, problem, status, code):
    got_status, error = parsed_error(service, operation, problem)
    assert (got_status, error["Code"], error["Message"]) == (status, code, MESSAGE)


def test_default_messages_are_aws_wording():
    _, error = parsed_error("sts", "GetCallerIdentity", Problem.UNKNOWN_ACCESS_KEY, message=None)
    assert error["Message"] == "The security token included in the request is invalid."
    _, error = parsed_error("s3", "GetObject", Problem.SIGNATURE_MISMATCH, message=None)
    assert error["Message"] == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


def test_head_errors_have_no_body():
    status, error = parsed_error("s3", "HeadObject", Problem.ACCESS_DENIED, head=True)
    assert (status, error["Code"]) == (403, "403")


def test_styles():
    assert style_for("s3", "rest-xml").family is Family.S3
    assert style_for("sts", "query").family is Family.QUERY
    sqs = catalog().model("sqs")
    style = style_for("sqs", sqs.protocol, sqs.metadata)
    assert style.family is Family.JSON and style.query_compatible
