"""The real AWS host names inside task containers: for SDKs that ignore ``AWS_ENDPOINT_URL`` (boto3
before 1.28.57, the Java and Go v1 SDKs...) and for code that builds AWS URLs itself.

A container's DNS server answers every AWS name with 169.254.170.2, where the gateway also listens
for TLS (port 443) with certificates from a CA made for this simulator; the container trusts that CA
through the usual bundle variables. Unmodified application code then reaches the simulator exactly as
it reaches AWS. ``hostnames.AwsHostnames`` runs it (imported only when asked for: it needs cryptography).
"""

from __future__ import annotations

from ..docker.network import ENDPOINT_IP, GATEWAY_PORT
from .names import is_aws_name

__all__ = ["BUNDLE_IN_CONTAINER", "CA_BUNDLE_VARIABLES", "gateway_environment", "is_aws_name"]

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


def gateway_environment(aws_hostnames: bool) -> dict[str, str]:
    """How a container (a task's, or a compose service under serve) finds the gateway: at
    ``AWS_ENDPOINT_URL``, or with ``aws_hostnames`` at the AWS host names, trusting the CA bundle."""
    if aws_hostnames:
        return dict.fromkeys(CA_BUNDLE_VARIABLES, BUNDLE_IN_CONTAINER)
    return {"AWS_ENDPOINT_URL": f"http://{ENDPOINT_IP}:{GATEWAY_PORT}"}
