"""`Simulator(aws_hostnames=True)`: unmodified application code reaches the simulator at the real AWS
host names. Debian's boto3 1.26 (in ecs-sim/python, shadowed by a current one) predates
AWS_ENDPOINT_URL: with no endpoint configured it calls ssm.us-east-1.amazonaws.com and
app-data.s3.amazonaws.com over TLS, as it would on ECS, and gets the task role's answers, denials
included, from the gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from test_reliability_support import nothing, of_owner, rules_of

from simulator.api import Simulator
from simulator.aws_hostnames import BUNDLE_IN_CONTAINER
from simulator.diagnosis import PHASE_RUNTIME
from simulator.docker import docker_client
from simulator.docker.network import ENDPOINT_IP

pytestmark = pytest.mark.docker

IMAGE = "ecs-sim/python:latest"
WORLD = {
    "region": "us-east-1",
    "roles": {
        "exec": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "app": {
            "trust": "ecs-tasks",
            "inline": {
                "read": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["ssm:GetParameter", "s3:GetObject"], "Resource": "*"}
                    ],
                }
            },
        },
    },
    "ssm_parameters": {"/app/color": {"value": "blue"}},
    "s3_buckets": {"app-data": {"objects": {"hello.txt": "hi there"}}},
}

# Debian's own boto3 only: the image's current one (in /usr/local) would honour AWS_ENDPOINT_URL.
OLD_SDK_APP = """
import json, os, sys
sys.path = [p for p in sys.path if "/usr/local/" not in p]
import boto3, botocore.exceptions
out = {"boto3": boto3.__version__, "endpoint_url": os.environ.get("AWS_ENDPOINT_URL")}
out["ssm"] = boto3.client("ssm").get_parameter(Name="/app/color")["Parameter"]["Value"]
s3 = boto3.client("s3")
out["s3"] = s3.get_object(Bucket="app-data", Key="hello.txt")["Body"].read().decode()
out["s3_host"] = s3.meta.endpoint_url
try:
    s3.put_object(Bucket="app-data", Key="new.txt", Body=b"1")
except botocore.exceptions.ClientError as err:
    out["put"] = err.response["Error"]
print(json.dumps(out))
"""

# What the name server answers, and that TLS to those names is trusted only through the bundle.
PLUMBING = """
import json, os, socket, ssl
out = {n: socket.gethostbyname(n) for n in ("sts.amazonaws.com", "my-bucket.s3.us-west-2.amazonaws.com")}
out["bundle"] = os.environ.get("AWS_CA_BUNDLE")
out["ssl_cert_file"] = os.environ.get("SSL_CERT_FILE")
def handshake(context):
    with socket.create_connection(("ssm.us-east-1.amazonaws.com", 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="ssm.us-east-1.amazonaws.com") as tls:
            return tls.getpeercert()["subjectAltName"]
out["with_bundle"] = handshake(ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"]))
try:
    handshake(ssl.create_default_context(cafile="/etc/ssl/certs/ca-certificates.crt"))
except ssl.SSLCertVerificationError as err:
    out["public_cas_only"] = err.verify_message
print(json.dumps(out))
"""


def _taskdef(code: str, network_mode: str) -> dict[str, Any]:
    return {
        "family": "aws-hostnames",
        "networkMode": network_mode,
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "exec",
        "taskRoleArn": "app",
        "containerDefinitions": [{"name": "app", "image": IMAGE, "command": ["python3", "-c", code]}],
    }


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


@pytest.fixture(scope="module")
def sim(client) -> Iterator[Simulator]:
    with Simulator(WORLD, aws_hostnames=True) as simulator:
        yield simulator


def _printed(sim: Simulator, code: str, network_mode: str = "awsvpc") -> tuple[Any, dict[str, Any]]:
    lines: list[str] = []
    result = sim.run_task(_taskdef(code, network_mode), log_sink=lambda _, line: lines.append(line))
    assert result.exit_code == 0, "\n".join(lines) + json.dumps(result.to_json())
    return result, json.loads(lines[-1])


@pytest.mark.parametrize("network_mode", ["awsvpc", "bridge"])
def test_an_sdk_without_endpoint_support_reaches_the_gateway(sim: Simulator, network_mode: str) -> None:
    result, out = _printed(sim, OLD_SDK_APP, network_mode)
    major, minor, _ = (int(part) for part in out["boto3"].split("."))
    assert (major, minor) < (1, 28), out  # AWS_ENDPOINT_URL arrived in 1.28.57
    assert out["endpoint_url"] is None
    assert out["ssm"] == "blue"
    assert out["s3"] == "hi there"
    assert out["s3_host"].startswith("https://") and out["s3_host"].endswith(".amazonaws.com"), out
    assert out["put"]["Code"] == "AccessDenied"
    assert out["put"]["Message"].startswith("User: arn:aws:sts::123456789012:assumed-role/app/"), out
    assert out["put"]["Message"].endswith("because no identity-based policy allows the s3:PutObject action")
    [denial] = result.to_json()["denials"]
    assert (denial["phase"], denial["action"], denial["resource"]) == (
        PHASE_RUNTIME,
        "s3:PutObject",
        "arn:aws:s3:::app-data/new.txt",
    )


def test_aws_names_resolve_to_the_endpoint_and_only_the_bundle_trusts_them(sim: Simulator) -> None:
    _, out = _printed(sim, PLUMBING)
    assert out["sts.amazonaws.com"] == ENDPOINT_IP
    assert out["my-bucket.s3.us-west-2.amazonaws.com"] == ENDPOINT_IP
    assert out["bundle"] == out["ssl_cert_file"] == BUNDLE_IN_CONTAINER
    assert out["with_bundle"] == [["DNS", "ssm.us-east-1.amazonaws.com"]]
    assert "unable to get local issuer certificate" in out["public_cas_only"], out


def test_stop_removes_the_name_server_forwards_and_the_keys(client) -> None:
    with Simulator(WORLD, aws_hostnames=True) as simulator:
        assert simulator.network is not None and simulator.aws_hostnames is not None
        network = simulator.network.name
        bundle = Path(simulator.aws_hostnames.certificates.bundle_path)
        protocols = {rule.spec[rule.spec.index("-p") + 1] for rule in rules_of(network)}
        assert protocols == {"tcp", "udp"}
        assert bundle.is_file()
    assert not rules_of(network)
    assert not bundle.parent.exists()
    assert nothing(of_owner(client, simulator.owner_id))
