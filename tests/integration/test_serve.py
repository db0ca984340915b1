"""`ecs-sim serve` as a user runs it: a real process on real Docker, reached from a container on its
network and from the host, stopped with SIGTERM, leaving nothing behind."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import docker
import pytest
from click.testing import CliRunner
from doc_examples import REPO

from simulator.cli import main
from simulator.docker import iptables
from simulator.errors import EXIT_USAGE
from simulator.serve import ServeEndpoints

pytestmark = pytest.mark.docker

WORLD = REPO / "examples" / "compose" / "world.yaml"
ECS_SIM = [sys.executable, "-c", "from simulator.cli import main; main()"]  # the console script's body
READ_OBJECT = "import boto3; print(boto3.client('s3').get_object(Bucket='app-data', Key='hello.txt')['Body'].read().decode())"


def network_name() -> str:
    return f"ecs-sim-test-{secrets.token_hex(3)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def leftovers(network: str) -> list[str]:
    """Docker networks and iptables rules still there for ``network``."""
    client = docker.from_env()
    try:
        names = [n.name for n in client.networks.list(names=[network]) if n.name == network]
    finally:
        client.close()
    return names + [f"{r.table} {r.chain}" for r in iptables.list_owned() if r.network_name == network]


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {process.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"serve did not write {path} within {timeout} s")
        time.sleep(0.2)


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    return dict(pairs)  # type: ignore[arg-type]


def invoke(args: list[str]) -> Any:
    """The CLI in this process; serve turns SIGTERM into Ctrl-C, which must not outlive the call here."""
    handler = signal.getsignal(signal.SIGTERM)
    try:
        return CliRunner().invoke(main, args)
    finally:
        signal.signal(signal.SIGTERM, handler)


def test_serve_until_sigterm_then_nothing_is_left(tmp_path: Path) -> None:
    network, port, env_file = network_name(), free_port(), tmp_path / "serve.env"
    serve = subprocess.Popen(
        [
            *ECS_SIM,
            "serve",
            "--world",
            str(WORLD),
            "--task-role",
            "app-task-role",
            "--network-name",
            network,
            "--port",
            str(port),
            "--env-file",
            str(env_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(env_file, serve)
        env = read_env_file(env_file)
        assert env["ECS_SIM_NETWORK"] == network
        assert env["AWS_ENDPOINT_URL"] == "http://169.254.170.2:4566"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as health:
            assert health.status == 200

        # a container on the network: credentials from 169.254.170.2, calls through the gateway
        container = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--network",
                network,
                "--env-file",
                str(env_file),
                "ecs-sim/python:latest",
                "python3",
                "-c",
                READ_OBJECT,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert container.returncode == 0, container.stderr
        assert container.stdout.strip() == "hello from S3"

        # the host: the same role through the loopback listener
        uri = f"http://127.0.0.1:{port}{env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']}"
        with urllib.request.urlopen(uri, timeout=5) as answer:
            credentials = json.load(answer)
        assert credentials["RoleArn"] == "arn:aws:iam::111122223333:role/app-task-role"
        assert leftovers(network)  # the network and its DNAT rules exist while serving
    finally:
        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0, err
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/" in out
    assert not env_file.exists()
    assert leftovers(network) == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)


def test_command_runs_as_the_task_role_and_denials_are_diagnosed() -> None:
    network = network_name()
    env = os.environ | {"AWS_ACCESS_KEY_ID": "AKIASHADOWING", "AWS_SECRET_ACCESS_KEY": "x"}
    command = [*ECS_SIM, "serve", "--world", str(WORLD), "--network-name", network]
    check_env = "import os; assert 'AWS_ACCESS_KEY_ID' not in os.environ; "
    allowed = subprocess.run(
        [*command, "--task-role", "app-task-role", "--", sys.executable, "-c", check_env + READ_OBJECT],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "hello from S3" in allowed.stdout

    denied = subprocess.run(
        [
            *command,
            "--task-role",
            "app-no-s3-role",
            "--execution-role",
            "ecsTaskExecutionRole",
            "--",
            sys.executable,
            "-c",
            READ_OBJECT,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert denied.returncode == 1, denied.stderr  # the command's exit code (an uncaught AccessDenied)
    assert "AccessDenied" in denied.stderr
    assert "AccessDenied: which role needs what" in denied.stderr  # serve's diagnosis
    assert "app-no-s3-role" in denied.stderr and "s3:GetObject" in denied.stderr
    assert leftovers(network) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task-role", "nobody"], "no role 'nobody' in the world"),
        (["--task-role", "app-task-role", "--network-name", "mine"], "network name must be ecs-sim-"),
        (["--task-role", "app-task-role", "--execution-role", "ghost"], "no role 'ghost' in the world"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(args: list[str], message: str) -> None:
    network = network_name()
    result = invoke(["serve", "--world", str(WORLD), "--network-name", network, *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert leftovers(network) == []


def test_role_ecs_cannot_assume_is_refused(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text("account: '111122223333'\nroles:\n  untrusted:\n    trust: ec2\n")
    result = invoke(["serve", "--world", str(world), "--task-role", "untrusted"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "ECS was unable to assume the role 'arn:aws:iam::111122223333:role/untrusted'" in result.output


def test_credentials_rotate_under_the_same_id() -> None:
    from datetime import UTC, datetime, timedelta

    from simulator.serve import serving
    from simulator.world import load_world

    with serving(load_world(WORLD), task_role="app-task-role", network_name=network_name()) as service:
        endpoints = service.endpoints
        assert endpoints is not None
        before = json.load(urllib.request.urlopen(endpoints.host_credentials_url, timeout=5))
        assert not service.refresh_if_due()
        assert service.refresh_if_due(now=datetime.now(UTC) + timedelta(hours=6))
        after = json.load(urllib.request.urlopen(endpoints.host_credentials_url, timeout=5))
        assert after["AccessKeyId"] != before["AccessKeyId"]
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoints.host_gateway_url,
            region_name="us-east-1",
            aws_access_key_id=after["AccessKeyId"],
            aws_secret_access_key=after["SecretAccessKey"],
            aws_session_token=after["Token"],
        )
        assert s3.get_object(Bucket="app-data", Key="hello.txt")["Body"].read() == b"hello from S3"


def test_aws_hostnames_endpoints_give_the_bundle_and_name_server_instead_of_the_endpoint_url() -> None:
    endpoints = ServeEndpoints(
        network="ecs-sim-serve",
        subnet="169.254.170.0/24",
        region="us-east-1",
        credentials_id="abc",
        health_url="http://127.0.0.1:1/health",
        host_credentials_url="http://127.0.0.1:1/v2/credentials/abc",
        host_gateway_url="http://127.0.0.1:2",
        ca_bundle="/tmp/ecs-sim-aws-hostnames-x/aws-ca-bundle.pem",
    )
    env = endpoints.container_env()
    assert "AWS_ENDPOINT_URL" not in env and env["AWS_CA_BUNDLE"] == "/etc/ecs-sim/aws-ca-bundle.pem"
    assert endpoints.compose_env()["ECS_SIM_DNS"] == "169.254.170.2"
    assert endpoints.docker_run_options() == [
        "--dns",
        "169.254.170.2",
        "-v",
        "/tmp/ecs-sim-aws-hostnames-x/aws-ca-bundle.pem:/etc/ecs-sim/aws-ca-bundle.pem:ro",
    ]


def test_policies_at_exit_cover_what_the_command_used() -> None:
    network = network_name()
    serve = [
        *ECS_SIM,
        "serve",
        "--world",
        str(WORLD),
        "--network-name",
        network,
        "--task-role",
        "app-task-role",
    ]
    done = subprocess.run(
        [*serve, "--policies", "--", sys.executable, "-c", READ_OBJECT],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    _, found, policy = done.stderr.partition(
        "least privilege for arn:aws:iam::111122223333:role/app-task-role"
    )
    assert found, done.stderr
    assert json.loads(policy[policy.index("{") :]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app-data/hello.txt"}
        ],
    }, done.stderr
    assert leftovers(network) == []
