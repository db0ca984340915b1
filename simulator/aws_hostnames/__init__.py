"""The real AWS host names inside task containers: for SDKs that ignore ``AWS_ENDPOINT_URL`` (boto3
before 1.28.57, the Java and Go v1 SDKs...) and for code that builds AWS URLs itself.

A container's DNS server answers every AWS name with 169.254.170.2, where the gateway also listens
for TLS (port 443) with certificates from a CA made for this simulator; the container trusts that CA
through the usual bundle variables. Unmodified application code then reaches the simulator exactly as
it reaches AWS.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from docker.types import Mount

from .certificates import HostCertificates
from .dns import AwsNameServer
from .names import is_aws_name

__all__ = ["BUNDLE_IN_CONTAINER", "CA_BUNDLE_VARIABLES", "AwsHostnames", "is_aws_name"]

BUNDLE_IN_CONTAINER = "/etc/ecs-sim/aws-ca-bundle.pem"
# Where each runtime looks for extra trusted CAs: botocore and the AWS CLI, OpenSSL-based clients
# (Python's ssl, Go, Ruby), requests, curl, Node. The bundle holds the public CAs too, so that
# replacing a runtime's default bundle keeps every other HTTPS site working.
CA_BUNDLE_VARIABLES = (
    "AWS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)


class AwsHostnames:
    """The CA, its certificates and the name server of one simulator; :meth:`close` removes them."""

    def __init__(self, endpoint_ip: str) -> None:
        self._endpoint_ip = endpoint_ip
        self._name_server: AwsNameServer | None = None
        self._directory = Path(tempfile.mkdtemp(prefix="ecs-sim-aws-hostnames-"))  # mode 0700: keys
        try:
            self.certificates = HostCertificates(self._directory)
        except BaseException:
            self.close()
            raise

    def serve_names(self, bind_ip: str) -> int:
        """Start answering DNS on ``bind_ip``; returns the UDP port."""
        self._name_server = AwsNameServer(bind_ip, self._endpoint_ip)
        self._name_server.start()
        return self._name_server.port

    @property
    def dns_servers(self) -> list[str]:
        """What a container that owns its network namespace names as its DNS server."""
        return [self._endpoint_ip]

    def environment(self) -> dict[str, str]:
        return dict.fromkeys(CA_BUNDLE_VARIABLES, BUNDLE_IN_CONTAINER)

    def mount(self) -> Mount:
        return Mount(BUNDLE_IN_CONTAINER, str(self.certificates.bundle_path), type="bind", read_only=True)

    def close(self) -> None:
        if self._name_server is not None:
            self._name_server.stop()
            self._name_server = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self._directory)
