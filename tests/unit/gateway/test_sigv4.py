"""SigV4 verification of real botocore signatures: header auth, presigned URLs, and every refusal."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from simulator.gateway.errors import GatewayError, Problem
from simulator.gateway.sigv4 import read_credential, verify
from simulator.iam import principal_from_arn
from simulator.sessions import Session, SessionRegistry

from .wire import ENDPOINT, REGION, capture_with, client, incoming

PRINCIPAL = principal_from_arn("arn:aws:sts::123456789012:assumed-role/app/task")
SESSION = Session("ASIAEXAMPLE", "the-secret", "the-token", None, PRINCIPAL)


@pytest.fixture
def sessions() -> SessionRegistry:
    registry = SessionRegistry()
    registry.register(SESSION)
    return registry


def signed(
    service: str, method: str, *, secret: str = "the-secret", token: str | None = "the-token", **params
):
    made = client(service, key=SESSION.access_key_id, secret=secret, token=token)
    return capture_with(made, method, **params)


def check(request, sessions, now=None):
    credential = read_credential(request)
    assert credential is not None
    return verify(request, credential, sessions, now or datetime.now(UTC))


@pytest.mark.parametrize(
    ("service", "method", "params"),
    [
        ("ssm", "get_parameter", {"Name": "/a b/c"}),
        ("sts", "get_caller_identity", {}),
        ("sqs", "send_message", {"QueueUrl": "http://h/1/q", "MessageBody": "é ü"}),
        ("s3", "get_object", {"Bucket": "bkt", "Key": "dir/with space+plus~tilde.txt"}),
        ("s3", "list_objects_v2", {"Bucket": "bkt", "Prefix": "a/b c", "Delimiter": "/"}),
        ("s3", "put_object", {"Bucket": "bkt", "Key": "k", "Body": b"payload"}),
        ("lambda", "invoke", {"FunctionName": "my-fn", "Payload": b"{}"}),
    ],
)
def test_valid_signatures_verify(sessions, service, method, params):
    assert check(signed(service, method, **params), sessions) is SESSION


def test_wrong_secret_is_a_signature_mismatch(sessions):
    with pytest.raises(GatewayError) as err:
        check(signed("ssm", "get_parameter", secret="wrong", Name="/a"), sessions)
    assert err.value.problem is Problem.SIGNATURE_MISMATCH


def test_tampered_body_is_a_signature_mismatch(sessions):
    request = signed("ssm", "get_parameter", Name="/a")
    tampered = dataclasses.replace(request, body=request.body.replace(b"/a", b"/b"))
    with pytest.raises(GatewayError) as err:
        check(tampered, sessions)
    assert err.value.problem is Problem.SIGNATURE_MISMATCH


def test_s3_body_not_matching_its_declared_hash(sessions):
    request = signed("s3", "put_object", Bucket="bkt", Key="k", Body=b"payload")
    with pytest.raises(GatewayError) as err:
        check(dataclasses.replace(request, body=b"other"), sessions)
    assert err.value.problem is Problem.PAYLOAD_HASH_MISMATCH


def test_unknown_key(sessions):
    made = client("sts", key="AKIANOBODY", secret="x")
    with pytest.raises(GatewayError) as err:
        check(capture_with(made, "get_caller_identity"), sessions)
    assert err.value.problem is Problem.UNKNOWN_ACCESS_KEY


def test_revoked_key_is_expired(sessions):
    request = signed("ssm", "get_parameter", Name="/a")
    sessions.revoke(SESSION.access_key_id)
    with pytest.raises(GatewayError) as err:
        check(request, sessions)
    assert err.value.problem is Problem.EXPIRED_TOKEN


def test_expired_session(sessions):
    sessions.register(dataclasses.replace(SESSION, expiration=datetime.now(UTC) - timedelta(seconds=1)))
    with pytest.raises(GatewayError) as err:
        check(signed("ssm", "get_parameter", Name="/a"), sessions)
    assert err.value.problem is Problem.EXPIRED_TOKEN


@pytest.mark.parametrize("token", [None, "another-token"])
def test_wrong_session_token(sessions, token):
    with pytest.raises(GatewayError) as err:
        check(signed("ssm", "get_parameter", token=token, Name="/a"), sessions)
    assert err.value.problem is Problem.INVALID_TOKEN


def test_clock_skew_over_15_minutes(sessions):
    request = signed("ssm", "get_parameter", Name="/a")
    later = datetime.now(UTC) + timedelta(minutes=16)
    with pytest.raises(GatewayError) as err:
        check(request, sessions, now=later)
    assert err.value.problem is Problem.CLOCK_SKEW
    assert str(err.value).startswith("Signature expired: ")
    assert str(err.value).endswith(" - 15 min.)")
    assert check(request, sessions, now=datetime.now(UTC) + timedelta(minutes=14)) is SESSION


def test_presigned_url_verifies_and_expires(sessions):
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=SESSION.access_key_id,
        aws_secret_access_key=SESSION.secret_access_key,
        aws_session_token=SESSION.session_token,
        config=Config(signature_version="s3v4"),
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "a b"}, ExpiresIn=60)
    prepared = AWSRequest(method="GET", url=url, headers={"host": ENDPOINT.split("//")[1]}).prepare()
    request = incoming(prepared)
    credential = read_credential(request)
    assert credential is not None and credential.presigned
    assert verify(request, credential, sessions, datetime.now(UTC)) is SESSION
    with pytest.raises(GatewayError) as err:
        verify(request, credential, sessions, datetime.now(UTC) + timedelta(seconds=120))
    assert err.value.problem is Problem.PRESIGN_EXPIRED
    forged = dataclasses.replace(request, path=request.path.replace("a%20b", "a%20c"))
    with pytest.raises(GatewayError):
        verify(forged, read_credential(forged), sessions, datetime.now(UTC))


def test_streaming_payload_verifies_the_seed_signature(sessions):
    """aws-chunked uploads sign the literal STREAMING-... value; the body is forwarded untouched."""
    request = AWSRequest(
        method="PUT",
        url=f"{ENDPOINT}/bkt/key",
        data=b"5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n",
        headers={
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "x-amz-decoded-content-length": "5",
            "content-encoding": "aws-chunked",
        },
    )
    creds = Credentials(SESSION.access_key_id, SESSION.secret_access_key, SESSION.session_token)
    S3SigV4Auth(creds, "s3", REGION).add_auth(request)
    assert check(incoming(request.prepare()), sessions) is SESSION


def test_no_signature_at_all():
    request = dataclasses.replace(signed("ssm", "get_parameter", Name="/a"), headers={"host": "h"})
    assert read_credential(request) is None


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS AKIDEXAMPLE:c2lnbmF0dXJl",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ssm/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKID/us-east-1, SignedHeaders=host, Signature=00",
    ],
)
def test_malformed_authorization(authorization):
    request = dataclasses.replace(
        signed("ssm", "get_parameter", Name="/a"), headers={"host": "h", "authorization": authorization}
    )
    with pytest.raises(GatewayError) as err:
        read_credential(request)
    assert err.value.problem is Problem.MALFORMED_AUTH


def test_sigv2_presigned_url_verifies_and_expires(sessions):
    """boto3's default presigned S3 URL in us-east-1 is still SigV2 (AWSAccessKeyId/Signature/Expires)."""
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=SESSION.access_key_id,
        aws_secret_access_key=SESSION.secret_access_key,
        aws_session_token=SESSION.session_token,
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "a b"}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url
    request = incoming(AWSRequest(method="GET", url=url, headers={"host": ENDPOINT.split("//")[1]}).prepare())
    credential = read_credential(request)
    assert credential is not None and credential.version == 2
    assert verify(request, credential, sessions, datetime.now(UTC)) is SESSION
    with pytest.raises(GatewayError) as err:
        verify(request, credential, sessions, datetime.now(UTC) + timedelta(seconds=120))
    assert err.value.problem is Problem.PRESIGN_EXPIRED
    forged = dataclasses.replace(request, path=request.path.replace("a%20b", "a%20c"))
    with pytest.raises(GatewayError) as err:
        verify(forged, read_credential(forged), sessions, datetime.now(UTC))
    assert err.value.problem is Problem.SIGNATURE_MISMATCH
