"""The HTTP server on loopback, read by real clients (http.client, botocore's container provider)."""

from __future__ import annotations

import http.client
import socket
from datetime import UTC, datetime, timedelta

import pytest
from botocore.credentials import ContainerProvider

from simulator.endpoints import EndpointServer, TaskCredentials

CREDS = TaskCredentials(
    role_arn="arn:aws:iam::111122223333:role/app-task-role",
    access_key_id="ASIAEXAMPLE",
    secret_access_key="secret",
    token="token",
    expiration=datetime.now(UTC) + timedelta(hours=1),
)


@pytest.fixture
def server():
    with EndpointServer() as endpoint:
        endpoint.start("127.0.0.1")
        yield endpoint


def connect(server, index=0) -> http.client.HTTPConnection:
    host, port = server.addresses[index]
    return http.client.HTTPConnection(host, port, timeout=5)


def test_botocore_container_provider_reads_the_credentials(server):
    credentials_id = server.register_credentials(CREDS)
    host, port = server.addresses[0]
    # botocore accepts a plain-http full URI on loopback; in a task container it is the relative URI.
    provider = ContainerProvider(
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://{host}:{port}/v2/credentials/{credentials_id}"}
    )
    credentials = provider.load().get_frozen_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "ASIAEXAMPLE",
        "secret",
        "token",
    )


def test_keep_alive_serves_many_requests_on_one_connection(server):
    credentials_id = server.register_credentials(CREDS)
    connection = connect(server)
    for path in (f"/v2/credentials/{credentials_id}", "/v2/credentials/nope", "/nothing", "/health"):
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.getheader("Content-Length") == str(len(response.read()))
        assert response.getheader("Date")
    assert response.status == 200


def test_head_has_headers_but_no_body(server):
    connection = connect(server)
    connection.request("HEAD", "/health")
    response = connection.getresponse()
    assert (response.status, response.getheader("Content-Length"), response.read()) == (200, "15", b"")


def test_listeners_share_one_registry(server):
    server.add_listener("127.0.0.1")
    credentials_id = server.register_credentials(CREDS)
    bodies = []
    for index in (0, 1):
        connection = connect(server, index)
        connection.request("GET", f"/v2/credentials/{credentials_id}")
        bodies.append(connection.getresponse().read())
    assert bodies[0] == bodies[1] == CREDS.body()


def test_stop_closes_listeners_and_idle_keep_alive_connections():
    endpoint = EndpointServer()
    port = endpoint.start("127.0.0.1")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/health")
    connection.getresponse().read()
    endpoint.stop()
    endpoint.stop()  # idempotent
    assert connection.sock.recv(1) == b""  # the server side hung up
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_port_can_be_chosen(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    assert server.add_listener("127.0.0.1", free_port) == free_port
