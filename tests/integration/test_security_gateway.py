"""The gateway of a running Simulator under hostile requests over real HTTP: unsigned, wrongly signed,
replayed outside the allowed clock skew, another role's session token, oversized and malformed query,
JSON and XML bodies. Each gets the service's own error; never an Allow, never a crash (the gateway
answers the next request as before)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.api import Simulator
from simulator.sessions import Session

ACCOUNT, REGION = "111122223333", "us-east-1"
PARAMETER = "/app/db-host"
BUCKET = "app-data"
WORLD = {
    "account": ACCOUNT,
    "region": REGION,
    "roles": {
        "reader": {
            "inline": {
                "read": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"},
                        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                    ],
                }
            }
        },
        "nobody": {},
    },
    "ssm_parameters": {PARAMETER: "db.internal"},
    "s3_buckets": {BUCKET: {"objects": {"hello.txt": "hello"}}},
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD, docker=False) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def reader(sim: Simulator) -> Session:
    return sim.assume_role(f"arn:aws:iam::{ACCOUNT}:role/reader", "hostile-reader", "hostile/reader")


@pytest.fixture(scope="module")
def nobody(sim: Simulator) -> Session:
    return sim.assume_role(f"arn:aws:iam::{ACCOUNT}:role/nobody", "hostile-nobody", "hostile/nobody")


def _credentials(session: Session, *, secret: str | None = None, token: str | None = None) -> Credentials:
    return Credentials(
        session.access_key_id,
        secret if secret is not None else session.secret_access_key,
        token if token is not None else session.session_token,
    )


def send(
    sim: Simulator,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    sign: tuple[Credentials, str] | None = None,
    at: datetime | None = None,
) -> tuple[int, bytes]:
    """One raw HTTP request to the gateway; ``sign`` = (credentials, service) signs it with SigV4 (S3's
    flavour for s3), as of ``at`` when given. Returns the status and the body."""
    url = sim.gateway.url.rstrip("/") + path
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    if sign is not None:
        credentials, service = sign
        signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(credentials, service, REGION)
        if at is None:
            signer.add_auth(request)
        else:
            original = botocore.auth.get_current_datetime
            botocore.auth.get_current_datetime = lambda: at
            try:
                signer.add_auth(request)
            finally:
                botocore.auth.get_current_datetime = original
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            method,
            parts.path + (f"?{parts.query}" if parts.query else ""),
            prepared.body,
            dict(prepared.headers),
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def ssm_get(sim: Simulator, sign: tuple[Credentials, str] | None, *, body: bytes | None = None, **kw: Any):
    return send(
        sim,
        "POST",
        "/",
        body if body is not None else json.dumps({"Name": PARAMETER}).encode(),
        {"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"},
        sign=sign,
        **kw,
    )


def error_code(body: bytes) -> str:
    """``__type`` of a JSON error or ``<Code>`` of an XML one."""
    text = body.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        return str(json.loads(text).get("__type", "")).rsplit("#", 1)[-1]
    start = text.find("<Code>")
    return text[start + 6 : text.find("</Code>")] if start >= 0 else text[:200]


def assert_still_serving(sim: Simulator, reader: Session) -> None:
    status, body = ssm_get(sim, (_credentials(reader), "ssm"))
    assert status == 200, body
    assert json.loads(body)["Parameter"]["Value"] == "db.internal"


def test_a_valid_request_is_allowed(sim, reader) -> None:
    assert_still_serving(sim, reader)


def test_unsigned_requests(sim, reader) -> None:
    status, body = ssm_get(sim, None)
    assert (status, error_code(body)) == (400, "MissingAuthenticationTokenException")
    status, body = send(sim, "GET", f"/{BUCKET}/hello.txt")
    assert (status, error_code(body)) == (403, "AccessDenied")
    status, body = send(sim, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15")
    assert status in (400, 403) and error_code(body) in ("MissingAuthenticationToken", "AccessDenied"), body
    assert_still_serving(sim, reader)


def test_wrong_signatures(sim, reader) -> None:
    wrong = _credentials(reader, secret="not-the-secret")
    status, body = ssm_get(sim, (wrong, "ssm"))
    assert (status, error_code(body)) == (400, "InvalidSignatureException")
    status, body = send(sim, "GET", f"/{BUCKET}/hello.txt", sign=(wrong, "s3"))
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    # A valid signature over another body: the body was changed in flight.
    request = AWSRequest(
        method="POST",
        url=sim.gateway.url,
        data=json.dumps({"Name": PARAMETER}).encode(),
        headers={"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(_credentials(reader), "ssm", REGION).add_auth(request)
    headers = dict(request.headers)
    status, body = send(sim, "POST", "/", json.dumps({"Name": "/app/other"}).encode(), headers)
    assert (status, error_code(body)) == (400, "InvalidSignatureException")
    assert_still_serving(sim, reader)


@pytest.mark.parametrize("offset", [timedelta(minutes=-20), timedelta(minutes=20)], ids=["past", "future"])
def test_requests_signed_outside_the_clock_skew(sim, reader, offset) -> None:
    at = datetime.now(UTC) + offset
    status, body = ssm_get(sim, (_credentials(reader), "ssm"), at=at)
    assert (status, error_code(body)) == (400, "InvalidSignatureException")
    assert (b"Signature expired" if offset < timedelta(0) else b"Signature not yet current") in body
    status, body = send(sim, "GET", f"/{BUCKET}/hello.txt", sign=(_credentials(reader), "s3"), at=at)
    assert status == 403 and error_code(body) == "RequestTimeTooSkewed", body
    # Within the allowed skew the same request passes.
    status, _ = ssm_get(sim, (_credentials(reader), "ssm"), at=datetime.now(UTC) - timedelta(minutes=4))
    assert status == 200


def test_a_session_token_of_another_role(sim, reader, nobody) -> None:
    """The reader's key and secret with the other role's token: the token does not belong to the key."""
    mixed = _credentials(reader, token=nobody.session_token)
    status, body = ssm_get(sim, (mixed, "ssm"))
    assert status in (400, 403) and error_code(body) in (
        "UnrecognizedClientException",
        "InvalidSignatureException",
    ), body
    status, body = send(sim, "GET", f"/{BUCKET}/hello.txt", sign=(mixed, "s3"))
    assert status in (400, 403) and error_code(body) in (
        "InvalidToken",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
    ), body
    no_token = Credentials(reader.access_key_id, reader.secret_access_key, None)
    status, body = ssm_get(sim, (no_token, "ssm"))
    assert status in (400, 403) and status != 200, body
    assert_still_serving(sim, reader)


def test_oversized_bodies(sim, reader) -> None:
    ssm = boto3.client(
        "ssm",
        endpoint_url=sim.gateway.url,
        region_name=REGION,
        aws_access_key_id=reader.access_key_id,
        aws_secret_access_key=reader.secret_access_key,
        aws_session_token=reader.session_token,
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:  # botocore reads the answer sent before the body is read
        ssm.get_parameter(Name="x" * (21 * 1024 * 1024))
    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    # A Content-Length far beyond the limit is refused before any body is read.
    status, body = send(
        sim,
        "POST",
        "/",
        b"{}",
        {
            "X-Amz-Target": "AmazonSSM.GetParameter",
            "Content-Type": "application/x-amz-json-1.1",
            "Content-Length": str(10**12),
        },
    )
    assert (status, error_code(body)) == (413, "RequestEntityTooLargeException"), body
    assert_still_serving(sim, reader)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"text"',
        b"\xff\xfe\x00garbage",
        b"{" * 10000,
        b'{"Name": 5}',
        b"",
    ],
)
def test_malformed_json_bodies(sim, reader, body) -> None:
    status, answer = ssm_get(sim, (_credentials(reader), "ssm"), body=body)
    assert 400 <= status < 500, answer
    assert error_code(answer) in (
        "SerializationException",
        "ValidationException",
        "InvalidParameterValueException",
        "MissingAuthenticationTokenException",
    ), answer
    assert_still_serving(sim, reader)


@pytest.mark.parametrize(
    "body",
    [
        b"Action=GetQueueUrl&Version=2012-11-05&QueueName=%ZZ",
        b"Action=NoSuchAction&Version=2012-11-05",
        b"Version=2012-11-05",
        b"&&&===&&",
        b"\xff\xfe\x00",
    ],
)
def test_malformed_query_bodies(sim, reader, body) -> None:
    status, answer = send(
        sim,
        "POST",
        "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=(_credentials(reader), "sqs"),
    )
    assert 400 <= status < 500, answer
    assert_still_serving(sim, reader)


@pytest.mark.parametrize(
    "body",
    [
        b"<Tagging><TagSet>",
        b"not xml at all",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    ],
)
def test_malformed_xml_bodies(sim, reader, body) -> None:
    status, answer = send(sim, "PUT", f"/{BUCKET}?tagging", body, sign=(_credentials(reader), "s3"))
    assert (status, error_code(answer)) == (400, "MalformedXML"), answer
    assert_still_serving(sim, reader)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(
        ["AmazonSSM.GetParameter", "secretsmanager.GetSecretValue", "TrentService.Decrypt", "", "x.y"]
    ),
    body=st.binary(max_size=300),
    path=st.sampled_from(["/", f"/{BUCKET}/hello.txt", "/%ZZ", "/?Action=GetCallerIdentity"]),
)
def test_a_role_without_permissions_never_gets_an_allow(sim, nobody, target, body, path) -> None:
    status, answer = send(
        sim,
        "POST",
        path,
        body,
        {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        sign=(
            _credentials(nobody),
            "s3" if path.startswith(f"/{BUCKET}") else target.split(".")[0].lower() or "ssm",
        ),
    )
    assert 400 <= status < 500, (status, answer[:300])
