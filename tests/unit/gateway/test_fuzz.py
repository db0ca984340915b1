"""Arbitrary requests give a parse result or a clean GatewayError, never another exception."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.gateway.errors import GatewayError
from simulator.gateway.parsing import IncomingRequest, parse_request
from simulator.gateway.sigv4 import read_credential

SERVICES = st.sampled_from(["s3", "ssm", "sqs", "sts", "sns", "lambda", "logs", "dynamodb", "nosuchservice"])
TARGETS = st.sampled_from(
    ["", "AmazonSSM.GetParameter", "AmazonSQS.SendMessage", "Logs_20140328.PutLogEvents", "x"]
)
PATHS = st.one_of(
    st.text(alphabet="/abc%20?=&+~.-_{}", max_size=40).map(lambda p: "/" + p),
    st.sampled_from(["/", "/bkt", "/bkt/key", "/2015-03-31/functions/fn/invocations", "//", "/bkt/"]),
)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"{}", b"[]", b"Action=SendMessage", b"<Delete><Object><Key>a</Key></Object></Delete>"]),
    st.text(max_size=100).map(str.encode),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    service=SERVICES,
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]),
    path=PATHS,
    query=st.text(alphabet="abc=&%+XAmz-Signature", max_size=40),
    target=TARGETS,
    host=st.sampled_from(["127.0.0.1:4566", "bkt.s3.amazonaws.com", "x.localhost", ""]),
    body=BODIES,
)
def test_parser_gives_result_or_clean_error(service, method, path, query, target, host, body):
    headers = {"host": host}
    if target:
        headers["x-amz-target"] = target
    request = IncomingRequest(method, path, query, headers, body)
    try:
        parsed = parse_request(request, service)
    except GatewayError:
        return
    assert parsed.operation_name


@settings(max_examples=300, deadline=None)
@given(authorization=st.text(max_size=200), query=st.text(max_size=100))
def test_credential_reader_gives_result_or_clean_error(authorization, query):
    request = IncomingRequest("GET", "/", query, {"host": "h", "authorization": authorization}, b"")
    with contextlib.suppress(GatewayError):
        read_credential(request)
