"""Real boto3 requests, captured just before they would be sent, as the gateway would receive them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config

from simulator.gateway.parsing import IncomingRequest

ENDPOINT = "http://127.0.0.1:4566"
REGION = "us-east-1"


class _Captured(Exception):
    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: AWSPreparedRequest, **_: Any) -> None:
    raise _Captured(request)


def client(
    service: str,
    *,
    key: str = "AKIDEXAMPLE",
    secret: str = "secret",
    token: str | None = None,
    endpoint: str = ENDPOINT,
    **config: Any,
) -> Any:
    made = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}, **config),
    )
    made.meta.events.register("before-send", _capture)
    return made


def incoming(prepared: AWSPreparedRequest, client_ip: str = "127.0.0.1") -> IncomingRequest:
    url = urlsplit(prepared.url)
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    headers.setdefault("host", url.netloc)
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return IncomingRequest(prepared.method, url.path or "/", url.query, headers, body, client_ip)


def capture(service: str, operation: str, /, **params: Any) -> IncomingRequest:
    """The request ``client(service).operation(**params)`` sends, as received by the gateway."""
    return capture_with(client(service), operation, **params)


def capture_with(made: Any, operation: str, /, **params: Any) -> IncomingRequest:
    try:
        getattr(made, operation)(**params)
    except _Captured as captured:
        return incoming(captured.request)
    raise AssertionError(f"{operation} sent nothing")
