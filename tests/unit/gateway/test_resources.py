"""boto3 calls -> the IAM action(s) and resource ARN(s) AWS authorizes them with."""

from __future__ import annotations

import pytest

from simulator.gateway.parsing import parse_request
from simulator.gateway.resources import KmsUse, Place, checks_for, iam_action

from .wire import capture

ACCOUNT = "123456789012"
PLACE = Place("us-east-1", ACCOUNT)
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db-AbCdEf"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class FakeLookups:
    """What the backend would answer: one secret and one aliased key exist."""

    def secret_arn(self, secret_id: str) -> str | None:
        return SECRET_ARN if secret_id in ("app/db", SECRET_ARN, SECRET_ARN[:-7]) else None

    def key_arn(self, key_id: str) -> str | None:
        return KEY_ARN if key_id in ("alias/app", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app") else None

    def key_of_ciphertext(self, ciphertext_b64: str) -> str | None:
        return KEY_ARN

    def upload_key(self, upload_id: str) -> tuple[bool, str | None]:
        return {"under-app": (True, KEY_ARN), "under-sse-s3": (True, None)}.get(upload_id, (False, None))


def checks(service: str, method: str, **params):
    parsed = parse_request(capture(service, method, **params), service)
    return [(c.action, c.resource) for c in checks_for(parsed, PLACE, FakeLookups())]


P = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"
LOGS = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group"

CASES = [
    ("ssm", "get_parameter", {"Name": "/app/db-host"}, [("ssm:GetParameter", f"{P}/app/db-host")]),
    ("ssm", "get_parameter", {"Name": "plain:3"}, [("ssm:GetParameter", f"{P}/plain")]),
    ("ssm", "get_parameter", {"Name": f"{P}/app/x"}, [("ssm:GetParameter", f"{P}/app/x")]),
    (
        "ssm",
        "get_parameters",
        {"Names": ["/a", "/b"]},
        [("ssm:GetParameters", f"{P}/a"), ("ssm:GetParameters", f"{P}/b")],
    ),
    ("ssm", "get_parameters_by_path", {"Path": "/app"}, [("ssm:GetParametersByPath", f"{P}/app")]),
    ("ssm", "describe_parameters", {}, [("ssm:DescribeParameters", "*")]),
    (
        "secretsmanager",
        "get_secret_value",
        {"SecretId": "app/db"},
        [("secretsmanager:GetSecretValue", SECRET_ARN)],
    ),
    (
        "secretsmanager",
        "get_secret_value",
        {"SecretId": SECRET_ARN[:-7]},
        [("secretsmanager:GetSecretValue", SECRET_ARN)],
    ),
    (
        "secretsmanager",
        "get_secret_value",
        {"SecretId": "missing"},
        [("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:missing")],
    ),
    ("kms", "decrypt", {"CiphertextBlob": b"x", "KeyId": "alias/app"}, [("kms:Decrypt", KEY_ARN)]),
    ("kms", "decrypt", {"CiphertextBlob": b"x"}, [("kms:Decrypt", KEY_ARN)]),
    (
        "kms",
        "describe_key",
        {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        [("kms:DescribeKey", KEY_ARN)],
    ),
    ("kms", "list_keys", {}, [("kms:ListKeys", "*")]),
    ("ecr", "get_authorization_token", {}, [("ecr:GetAuthorizationToken", "*")]),
    (
        "ecr",
        "batch_get_image",
        {"repositoryName": "app", "imageIds": [{"imageTag": "latest"}]},
        [("ecr:BatchGetImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app")],
    ),
    (
        "ecr",
        "get_download_url_for_layer",
        {"repositoryName": "team/app", "layerDigest": "sha256:" + "0" * 64, "registryId": "210987654321"},
        [("ecr:GetDownloadUrlForLayer", "arn:aws:ecr:us-east-1:210987654321:repository/team/app")],
    ),
    (
        "logs",
        "create_log_group",
        {"logGroupName": "/ecs/app"},
        [("logs:CreateLogGroup", f"{LOGS}:/ecs/app:log-stream:")],
    ),
    (
        "logs",
        "create_log_stream",
        {"logGroupName": "/ecs/app", "logStreamName": "ecs/web/abc"},
        [("logs:CreateLogStream", f"{LOGS}:/ecs/app:log-stream:ecs/web/abc")],
    ),
    (
        "logs",
        "put_log_events",
        {"logGroupName": "/ecs/app", "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": "m"}]},
        [("logs:PutLogEvents", f"{LOGS}:/ecs/app:log-stream:s")],
    ),
    ("logs", "describe_log_groups", {}, [("logs:DescribeLogGroups", f"{LOGS}::log-stream:")]),
    ("s3", "get_object", {"Bucket": "bkt", "Key": "a/b.env"}, [("s3:GetObject", "arn:aws:s3:::bkt/a/b.env")]),
    (
        "s3",
        "get_object",
        {"Bucket": "bkt", "Key": "k", "VersionId": "v1"},
        [("s3:GetObjectVersion", "arn:aws:s3:::bkt/k")],
    ),
    ("s3", "head_object", {"Bucket": "bkt", "Key": "k"}, [("s3:GetObject", "arn:aws:s3:::bkt/k")]),
    (
        "s3",
        "put_object",
        {"Bucket": "bkt", "Key": "k", "Body": b"1"},
        [("s3:PutObject", "arn:aws:s3:::bkt/k")],
    ),
    ("s3", "list_objects_v2", {"Bucket": "bkt"}, [("s3:ListBucket", "arn:aws:s3:::bkt")]),
    ("s3", "list_objects", {"Bucket": "bkt"}, [("s3:ListBucket", "arn:aws:s3:::bkt")]),
    ("s3", "head_bucket", {"Bucket": "bkt"}, [("s3:ListBucket", "arn:aws:s3:::bkt")]),
    ("s3", "get_bucket_location", {"Bucket": "bkt"}, [("s3:GetBucketLocation", "arn:aws:s3:::bkt")]),
    ("s3", "create_bucket", {"Bucket": "bkt"}, [("s3:CreateBucket", "arn:aws:s3:::bkt")]),
    ("s3", "list_buckets", {}, [("s3:ListAllMyBuckets", "*")]),
    ("s3", "get_bucket_cors", {"Bucket": "bkt"}, [("s3:GetBucketCORS", "arn:aws:s3:::bkt")]),
    ("s3", "delete_bucket_tagging", {"Bucket": "bkt"}, [("s3:PutBucketTagging", "arn:aws:s3:::bkt")]),
    (
        "s3",
        "copy_object",
        {"Bucket": "dst", "Key": "k", "CopySource": {"Bucket": "src", "Key": "o", "VersionId": "v2"}},
        [("s3:PutObject", "arn:aws:s3:::dst/k"), ("s3:GetObjectVersion", "arn:aws:s3:::src/o")],
    ),
    (
        "s3",
        "delete_objects",
        {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "v"}]}},
        [("s3:DeleteObject", "arn:aws:s3:::bkt/a"), ("s3:DeleteObjectVersion", "arn:aws:s3:::bkt/b")],
    ),
    ("sts", "get_caller_identity", {}, []),
    (
        "sts",
        "assume_role",
        {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/app", "RoleSessionName": "sess"},
        [("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/app")],
    ),
    (
        "sqs",
        "send_message",
        {"QueueUrl": f"http://127.0.0.1:5000/{ACCOUNT}/jobs", "MessageBody": "m"},
        [("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs")],
    ),
    (
        "sqs",
        "send_message_batch",
        {
            "QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/jobs",
            "Entries": [{"Id": "1", "MessageBody": "m"}],
        },
        [("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs")],
    ),
    (
        "sqs",
        "get_queue_url",
        {"QueueName": "jobs"},
        [("sqs:GetQueueUrl", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs")],
    ),
    ("sqs", "list_queues", {}, [("sqs:ListQueues", "*")]),
    (
        "sns",
        "publish",
        {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:events", "Message": "m"},
        [("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:events")],
    ),
    (
        "sns",
        "create_topic",
        {"Name": "events"},
        [("sns:CreateTopic", f"arn:aws:sns:us-east-1:{ACCOUNT}:events")],
    ),
    (
        "dynamodb",
        "get_item",
        {"TableName": "orders", "Key": {"id": {"S": "1"}}},
        [("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders")],
    ),
    (
        "dynamodb",
        "query",
        {"TableName": "orders", "IndexName": "by-user", "KeyConditionExpression": "u = :u"},
        [("dynamodb:Query", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders/index/by-user")],
    ),
    (
        "dynamodb",
        "batch_get_item",
        {"RequestItems": {"a": {"Keys": [{"id": {"S": "1"}}]}, "b": {"Keys": [{"id": {"S": "1"}}]}}},
        [
            ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/a"),
            ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/b"),
        ],
    ),
    (
        "lambda",
        "invoke",
        {"FunctionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"},
        [("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn")],
    ),
]


@pytest.mark.parametrize(("service", "method", "params", "expected"), CASES)
def test_boto3_call_maps_to_action_and_resource(service, method, params, expected):
    assert checks(service, method, **params) == expected


def test_ssm_decrypting_reads_ask_for_the_kms_check():
    parsed = parse_request(capture("ssm", "get_parameters", Names=["/a"], WithDecryption=True), "ssm")
    assert [c.kms for c in checks_for(parsed, PLACE, FakeLookups())] == [KmsUse("kms:Decrypt", f"{P}/a")]
    parsed = parse_request(capture("ssm", "get_parameter", Name="/a"), "ssm")
    assert [c.kms for c in checks_for(parsed, PLACE, FakeLookups())] == [None]


def test_context_keys_of_the_request():
    parsed = parse_request(
        capture("s3", "list_objects_v2", Bucket="bkt", Prefix="home/", Delimiter="/"), "s3"
    )
    (check,) = checks_for(parsed, PLACE, FakeLookups())
    assert check.context["s3:prefix"] == "home/"
    assert check.context["s3:delimiter"] == "/"
    parsed = parse_request(
        capture("secretsmanager", "get_secret_value", SecretId="app/db", VersionStage="AWSPREVIOUS"),
        "secretsmanager",
    )
    (check,) = checks_for(parsed, PLACE, FakeLookups())
    assert check.context["secretsmanager:VersionStage"] == "AWSPREVIOUS"
    assert check.context["secretsmanager:SecretId"] == "app/db"
    parsed = parse_request(
        capture("kms", "decrypt", CiphertextBlob=b"x", KeyId="alias/app", EncryptionContext={"app": "web"}),
        "kms",
    )
    (check,) = checks_for(parsed, PLACE, FakeLookups())
    assert check.context["kms:EncryptionContext:app"] == "web"


def test_s3_object_checks_take_the_bucket_policy():
    parsed = parse_request(capture("s3", "get_object", Bucket="bkt", Key="k"), "s3")
    (check,) = checks_for(parsed, PLACE, FakeLookups())
    assert check.policy_arn == "arn:aws:s3:::bkt"


def test_iam_action_versions_only_where_iam_has_a_version_action():
    assert iam_action("s3", "PutObject", {"VersionId": "v"}) == "s3:PutObject"
    assert iam_action("s3", "GetObjectTagging", {"VersionId": "v"}) == "s3:GetObjectVersionTagging"
    assert iam_action("ssm", "GetParameter") == "ssm:GetParameter"


def test_request_tags_become_context_keys():
    shapes = [
        (
            "ssm",
            "put_parameter",
            {"Name": "/a", "Value": "v", "Type": "String", "Tags": [{"Key": "team", "Value": "x"}]},
        ),
        ("sqs", "create_queue", {"QueueName": "q", "tags": {"team": "x"}}),
        ("kms", "create_key", {"Tags": [{"TagKey": "team", "TagValue": "x"}]}),
        ("s3", "put_object", {"Bucket": "bkt", "Key": "k", "Body": b"1", "Tagging": "team=x"}),
    ]
    for service, method, params in shapes:
        parsed = parse_request(capture(service, method, **params), service)
        (check,) = checks_for(parsed, PLACE, FakeLookups())
        assert check.context["aws:RequestTag/team"] == "x", service
        assert check.context["aws:TagKeys"] == ["team"], service


OBJ, BKT = "arn:aws:s3:::bkt/k", "arn:aws:s3:::bkt"
DECRYPT_OBJECT = KmsUse("kms:Decrypt", OBJ)
DEFAULT_KEY = KmsUse("kms:GenerateDataKey", BKT)  # the bucket's default key, if it has a customer managed one


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("get_object", {}, [DECRYPT_OBJECT]),
        ("head_object", {}, [DECRYPT_OBJECT]),  # authorized as s3:GetObject
        ("get_object", {"VersionId": "v1"}, [DECRYPT_OBJECT]),  # s3:GetObjectVersion
        ("get_object_tagging", {}, [None]),
        ("delete_object", {}, [None]),
        ("put_object", {"Body": b"1"}, [DEFAULT_KEY]),
        ("put_object", {"Body": b"1", "ServerSideEncryption": "AES256"}, [None]),
        # SSE-KMS without a key id: the AWS managed aws/s3, usable by the whole account through S3
        ("put_object", {"Body": b"1", "ServerSideEncryption": "aws:kms"}, [None]),
        (
            "put_object",
            {"Body": b"1", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/aws/s3"},
            [None],
        ),
        (
            "put_object",
            {"Body": b"1", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/app"},
            [KmsUse("kms:GenerateDataKey", BKT, KEY_ARN)],
        ),
        (
            "put_object",
            {"Body": b"1", "ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": KEY_ARN.rsplit("/", 1)[1]},
            [KmsUse("kms:GenerateDataKey", BKT, KEY_ARN)],
        ),
        ("create_multipart_upload", {}, [DEFAULT_KEY]),
        # a part: S3 decrypts the upload's data key with the caller's kms:Decrypt
        ("upload_part", {"UploadId": "unknown", "PartNumber": 1, "Body": b"1"}, [KmsUse("kms:Decrypt", BKT)]),
        (
            "upload_part",
            {"UploadId": "under-app", "PartNumber": 1, "Body": b"1"},
            [KmsUse("kms:Decrypt", BKT, KEY_ARN)],
        ),
        ("upload_part", {"UploadId": "under-sse-s3", "PartNumber": 1, "Body": b"1"}, [None]),
        (
            "copy_object",
            {"CopySource": "src/a.env"},
            [DEFAULT_KEY, KmsUse("kms:Decrypt", "arn:aws:s3:::src/a.env")],
        ),
    ],
)
def test_s3_object_operations_name_the_kms_call_s3_makes(method, params, expected):
    parsed = parse_request(capture("s3", method, Bucket="bkt", Key="k", **params), "s3")
    assert [c.kms for c in checks_for(parsed, PLACE, FakeLookups())] == expected


def test_s3_bucket_operations_use_no_key():
    for method in ("list_objects_v2", "get_bucket_encryption"):
        parsed = parse_request(capture("s3", method, Bucket="bkt"), "s3")
        assert [c.kms for c in checks_for(parsed, PLACE, FakeLookups())] == [None], method
    parsed = parse_request(
        capture("s3", "delete_objects", Bucket="bkt", Delete={"Objects": [{"Key": "k"}]}), "s3"
    )
    assert [c.kms for c in checks_for(parsed, PLACE, FakeLookups())] == [None]
