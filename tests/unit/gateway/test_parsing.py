"""Real boto3 requests parse back to their operation and input, for every protocol."""

from __future__ import annotations

import pytest

from simulator.gateway.errors import GatewayError, Problem
from simulator.gateway.parsing import IncomingRequest, parse_request

from .wire import capture, capture_with, client

CASES = [
    # (service, boto3 method, params, operation, expected params subset)
    (
        "ssm",
        "get_parameter",
        {"Name": "/app/db", "WithDecryption": True},
        "GetParameter",
        {"Name": "/app/db", "WithDecryption": True},
    ),
    ("ssm", "get_parameters", {"Names": ["/a", "/b"]}, "GetParameters", {"Names": ["/a", "/b"]}),
    (
        "secretsmanager",
        "get_secret_value",
        {"SecretId": "app/db", "VersionStage": "AWSCURRENT"},
        "GetSecretValue",
        {"SecretId": "app/db", "VersionStage": "AWSCURRENT"},
    ),
    ("kms", "decrypt", {"CiphertextBlob": b"xyz", "KeyId": "alias/app"}, "Decrypt", {"KeyId": "alias/app"}),
    ("ecr", "get_authorization_token", {}, "GetAuthorizationToken", {}),
    (
        "ecr",
        "batch_get_image",
        {"repositoryName": "app", "imageIds": [{"imageTag": "latest"}]},
        "BatchGetImage",
        {"repositoryName": "app"},
    ),
    (
        "logs",
        "create_log_stream",
        {"logGroupName": "/ecs/app", "logStreamName": "s/c/1"},
        "CreateLogStream",
        {"logGroupName": "/ecs/app", "logStreamName": "s/c/1"},
    ),
    (
        "sqs",
        "send_message",
        {"QueueUrl": "http://h/123456789012/jobs", "MessageBody": "x"},
        "SendMessage",
        {"QueueUrl": "http://h/123456789012/jobs"},
    ),
    (
        "sts",
        "assume_role",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "sess"},
        "AssumeRole",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "sess"},
    ),
    ("sts", "get_caller_identity", {}, "GetCallerIdentity", {}),
    (
        "sns",
        "publish",
        {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"},
        "Publish",
        {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
    ),
    (
        "dynamodb",
        "get_item",
        {"TableName": "orders", "Key": {"id": {"S": "1"}}},
        "GetItem",
        {"TableName": "orders"},
    ),
    (
        "s3",
        "get_object",
        {"Bucket": "bkt", "Key": "dir/a b.env"},
        "GetObject",
        {"Bucket": "bkt", "Key": "dir/a b.env"},
    ),
    ("s3", "get_object", {"Bucket": "bkt", "Key": "k", "VersionId": "v1"}, "GetObject", {"VersionId": "v1"}),
    ("s3", "head_object", {"Bucket": "bkt", "Key": "k"}, "HeadObject", {"Bucket": "bkt", "Key": "k"}),
    ("s3", "put_object", {"Bucket": "bkt", "Key": "k", "Body": b"data"}, "PutObject", {"Key": "k"}),
    (
        "s3",
        "copy_object",
        {"Bucket": "bkt", "Key": "k", "CopySource": "src/o"},
        "CopyObject",
        {"CopySource": "src/o"},
    ),
    ("s3", "list_objects_v2", {"Bucket": "bkt", "Prefix": "p/"}, "ListObjectsV2", {"Prefix": "p/"}),
    ("s3", "list_objects", {"Bucket": "bkt"}, "ListObjects", {"Bucket": "bkt"}),
    ("s3", "get_bucket_location", {"Bucket": "bkt"}, "GetBucketLocation", {"Bucket": "bkt"}),
    ("s3", "get_bucket_policy", {"Bucket": "bkt"}, "GetBucketPolicy", {"Bucket": "bkt"}),
    (
        "s3",
        "put_bucket_tagging",
        {"Bucket": "bkt", "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}},
        "PutBucketTagging",
        {"Bucket": "bkt"},
    ),
    ("s3", "head_bucket", {"Bucket": "bkt"}, "HeadBucket", {"Bucket": "bkt"}),
    ("s3", "create_bucket", {"Bucket": "bkt"}, "CreateBucket", {"Bucket": "bkt"}),
    ("s3", "list_buckets", {}, "ListBuckets", {}),
    (
        "s3",
        "delete_objects",
        {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}},
        "DeleteObjects",
        {"Delete": {"Object": [{"Key": "a"}, {"Key": "b"}]}},
    ),
    ("s3", "create_multipart_upload", {"Bucket": "bkt", "Key": "k"}, "CreateMultipartUpload", {"Key": "k"}),
    (
        "s3",
        "upload_part",
        {"Bucket": "bkt", "Key": "k", "UploadId": "u", "PartNumber": 1, "Body": b"x"},
        "UploadPart",
        {"UploadId": "u"},
    ),
    ("lambda", "invoke", {"FunctionName": "fn"}, "Invoke", {"FunctionName": "fn"}),
]


@pytest.mark.parametrize(("service", "method", "params", "operation", "expected"), CASES)
def test_boto3_request_parses_to_its_operation(service, method, params, operation, expected):
    request = capture(service, method, **params)
    parsed = parse_request(request, service)
    assert parsed.operation_name == operation
    for key, value in expected.items():
        assert parsed.params[key] == value


def test_s3_virtual_host_addressing_puts_the_bucket_back():
    made = client("s3", endpoint="http://s3.localhost:4566", s3={"addressing_style": "virtual"})
    request = capture_with(made, "get_object", Bucket="vbucket", Key="x/y")
    assert request.host.startswith("vbucket.")
    parsed = parse_request(request, "s3")
    assert (parsed.operation_name, parsed.params["Bucket"], parsed.params["Key"]) == (
        "GetObject",
        "vbucket",
        "x/y",
    )


def test_sqs_query_protocol_requests_still_parse():
    body = b"Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fh%2F1%2Fq&MessageBody=x"
    request = IncomingRequest(
        "POST", "/", "", {"host": "h", "content-type": "application/x-www-form-urlencoded"}, body
    )
    parsed = parse_request(request, "sqs")
    assert parsed.operation_name == "SendMessage"
    assert parsed.params["QueueUrl"] == "http://h/1/q"


def test_dynamodb_streams_shares_the_signing_name():
    request = capture("dynamodbstreams", "list_streams")
    assert parse_request(request, "dynamodb").service_name == "dynamodbstreams"


@pytest.mark.parametrize(
    ("headers", "body", "problem"),
    [
        ({"x-amz-target": "AmazonSSM.NoSuchThing"}, b"{}", Problem.UNKNOWN_OPERATION),
        ({"x-amz-target": "AmazonSSM.GetParameter"}, b"{not json", Problem.MALFORMED_BODY),
        ({"x-amz-target": "AmazonSSM.GetParameter"}, b"[1, 2]", Problem.MALFORMED_BODY),
        ({"x-amz-target": "AmazonSSM.GetParameter"}, b"\xff\xfe", Problem.MALFORMED_BODY),
    ],
)
def test_bad_json_requests_fail_cleanly(headers, body, problem):
    request = IncomingRequest("POST", "/", "", {"host": "h", **headers}, body)
    with pytest.raises(GatewayError) as err:
        parse_request(request, "ssm")
    assert err.value.problem is problem


def test_malformed_s3_xml_body_is_malformed_xml():
    request = IncomingRequest("POST", "/bkt", "delete", {"host": "h"}, b"<Delete><Object>")
    with pytest.raises(GatewayError) as err:
        parse_request(request, "s3")
    assert err.value.problem is Problem.MALFORMED_BODY


def test_unknown_query_action():
    request = IncomingRequest("POST", "/", "", {"host": "h"}, b"Action=Nope&Version=2011-06-15")
    with pytest.raises(GatewayError) as err:
        parse_request(request, "sts")
    assert err.value.problem is Problem.UNKNOWN_OPERATION
    assert "Nope" in str(err.value)
