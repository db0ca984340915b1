"""The CA and its per-name certificates, in real TLS handshakes over loopback."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from simulator.aws_hostnames.hostnames import AwsHostnames


@pytest.fixture(scope="module")
def hostnames() -> Iterator[AwsHostnames]:
    made = AwsHostnames("169.254.170.2")
    yield made
    made.close()


def handshake(server_context: ssl.SSLContext, client_context: ssl.SSLContext, name: str) -> dict:
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list[BaseException] = []

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server_context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError) as err:
            errors.append(err)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=5) as raw,
            client_context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            return tls.getpeercert()
    finally:
        thread.join(5)
        listener.close()


def test_each_aws_name_gets_its_own_certificate(hostnames: AwsHostnames) -> None:
    client = ssl.create_default_context(cafile=str(hostnames.certificates.bundle_path))
    for name in (
        "ssm.us-east-1.amazonaws.com",
        "app-data.s3.amazonaws.com",
        "my.dotted.bucket.s3.amazonaws.com",
    ):
        certificate = handshake(hostnames.certificates.server_context, client, name)
        assert certificate["subjectAltName"] == (("DNS", name),)


def test_a_name_outside_aws_is_not_vouched_for(hostnames: AwsHostnames) -> None:
    client = ssl.create_default_context(cafile=str(hostnames.certificates.bundle_path))
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(hostnames.certificates.server_context, client, "example.com")


def test_only_the_bundle_trusts_the_ca(hostnames: AwsHostnames) -> None:
    public_only = ssl.create_default_context(cafile=certifi.where())
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(hostnames.certificates.server_context, public_only, "sts.amazonaws.com")


def test_the_bundle_keeps_the_public_cas(hostnames: AwsHostnames) -> None:
    bundle = hostnames.certificates.bundle_path.read_text()
    assert bundle.startswith(Path(certifi.where()).read_text())
    assert (
        bundle.count("BEGIN CERTIFICATE") == Path(certifi.where()).read_text().count("BEGIN CERTIFICATE") + 1
    )


def test_close_removes_the_keys() -> None:
    made = AwsHostnames("169.254.170.2")
    directory = made.certificates.bundle_path.parent
    assert directory.stat().st_mode & 0o077 == 0  # keys: the owner's only
    made.close()
    assert not directory.exists()
