"""Bounded concurrent load on the credentials endpoint and the gateway, over real HTTP on loopback:
16 clients, a fixed number of requests, zero errors, and the serving process's memory stays flat
(RSS growth after a warm-up below a stated bound)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from test_reliability_support import rss_kib

from simulator.api import Simulator
from simulator.endpoints import EndpointServer, TaskCredentials
from simulator.sessions import Session

CLIENTS = 16
RSS_GROWTH_BOUND_KIB = 20 * 1024  # after warm-up; a leak of even 2 KiB per request would exceed it
ACCOUNT, REGION = "111122223333", "us-east-1"

Exchange = Callable[[http.client.HTTPConnection], None]  # one request; raises on a wrong answer


def hammer(
    host: str, port: int, exchange: Exchange, total: int, *, new_connection_every: int = 0
) -> list[str]:
    """``total`` requests from ``CLIENTS`` threads (each keeps its connection, reopened every
    ``new_connection_every`` requests when set); returns the errors."""
    errors: list[str] = []

    def client(count: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        try:
            for number in range(count):
                if new_connection_every and number % new_connection_every == 0:
                    connection.close()
                exchange(connection)
        except Exception as err:  # collected: the assertion names every kind of failure
            errors.append(f"{type(err).__name__}: {err}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(total // CLIENTS,)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    return errors


# --- credentials endpoint ------------------------------------------------------------------------


@pytest.fixture
def endpoint() -> Iterator[tuple[int, str, bytes]]:
    credentials = TaskCredentials(
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/app-task-role",
        access_key_id="ASIALOADTEST00000001",
        secret_access_key="load-secret",
        token="load-token" * 40,
        expiration=datetime.now(UTC) + timedelta(hours=6),
    )
    with EndpointServer() as server:
        port = server.start("127.0.0.1")
        credentials_id = server.register_credentials(credentials)
        yield port, f"/v2/credentials/{credentials_id}", credentials.body()


def test_credentials_endpoint_under_load(endpoint) -> None:
    port, path, body = endpoint

    def exchange(connection: http.client.HTTPConnection) -> None:
        connection.request("GET", path)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or answer != body:
            raise AssertionError(f"{response.status} {answer[:100]!r}")

    assert hammer("127.0.0.1", port, exchange, 1_600) == []  # warm-up: threads, buffers
    before = rss_kib()
    assert hammer("127.0.0.1", port, exchange, 10_000, new_connection_every=50) == []
    growth = rss_kib() - before
    assert growth < RSS_GROWTH_BOUND_KIB, f"RSS grew {growth} KiB over 10,000 requests"


def test_unknown_credentials_ids_under_load(endpoint) -> None:
    port, _, _ = endpoint

    def exchange(connection: http.client.HTTPConnection) -> None:
        connection.request("GET", "/v2/credentials/00000000-0000-0000-0000-000000000000")
        response = connection.getresponse()
        answer = response.read()
        if response.status != 400 or b"AccessKeyId" in answer:
            raise AssertionError(f"{response.status} {answer[:100]!r}")

    assert hammer("127.0.0.1", port, exchange, 4_000) == []


# --- gateway -------------------------------------------------------------------------------------

WORLD = {
    "account": ACCOUNT,
    "region": REGION,
    "roles": {
        "reader": {
            "inline": {
                "read": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
                }
            }
        },
        "nobody": {},
    },
    "ssm_parameters": {"/app/db-host": "db.internal"},
}


def signed_ssm_get(url: str, session: Session) -> tuple[bytes, dict[str, str]]:
    request = AWSRequest(
        method="POST",
        url=url,
        data=json.dumps({"Name": "/app/db-host"}).encode(),
        headers={"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"},
    )
    credentials = Credentials(session.access_key_id, session.secret_access_key, session.session_token)
    SigV4Auth(credentials, "ssm", REGION).add_auth(request)
    return request.body, dict(request.headers)


@pytest.fixture(scope="module")
def gateway_sim() -> Iterator[Simulator]:
    with Simulator(WORLD, docker=False) as sim:
        yield sim


@pytest.mark.parametrize(
    ("role", "total", "status"), [("nobody", 10_000, 400), ("reader", 1_000, 200)], ids=["denied", "allowed"]
)
def test_gateway_under_load(gateway_sim: Simulator, role: str, total: int, status: int) -> None:
    """Denied calls are answered by the gateway alone (signature, IAM decision); allowed ones go on to
    moto, which is slower, so fewer of them. The request is signed once: a replay within the allowed
    clock skew is valid SigV4, as on AWS."""
    session = gateway_sim.assume_role(f"arn:aws:iam::{ACCOUNT}:role/{role}", f"load-{role}", f"load/{role}")
    body, headers = signed_ssm_get(gateway_sim.gateway.url, session)
    parts = urlsplit(gateway_sim.gateway.url)

    def exchange(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", "/", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != status:
            raise AssertionError(f"{response.status} {answer[:200]!r}")
        if status == 400 and b"AccessDeniedException" not in answer:
            raise AssertionError(answer[:200])

    assert hammer(parts.hostname, parts.port, exchange, total // 10) == []  # warm-up
    before = rss_kib()
    assert hammer(parts.hostname, parts.port, exchange, total, new_connection_every=50) == []
    growth = rss_kib() - before
    assert growth < RSS_GROWTH_BOUND_KIB, f"RSS grew {growth} KiB over {total} requests"
