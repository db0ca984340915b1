"""Other AWS backends behind the gateway: a real LocalStack (community, run on the host from PyPI by
scripts/setup-localstack.sh) and a standalone moto server through ``--backend url``. The backend only
serves the APIs: the gateway still denies what the world's policies do not allow."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc_examples import REPO, doc_example

from simulator import Simulator
from simulator.backend import make_backend
from simulator.world import load_world

pytestmark = pytest.mark.docker

CATALOG = REPO / "sample_tasks"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{url} did not come up (exit code {process.poll()})") from None
            time.sleep(0.5)


def run_shell_example(
    name: str, replacements: dict[str, str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = doc_example(name)
    for old, new in replacements.items():
        assert old in script, old
        script = script.replace(old, new)
    return subprocess.run(
        ["bash", "-c", script], cwd=REPO, env=os.environ | env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def localstack_python() -> str:
    done = subprocess.run(
        [str(REPO / "scripts" / "setup-localstack.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextlib.contextmanager
def running_localstack(localstack_python: str, directory: Path) -> Iterator[str]:
    """A fresh LocalStack on a free loopback port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [localstack_python, "-m", "localstack.runtime.main"],
        cwd=directory,
        env=os.environ | {"GATEWAY_LISTEN": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/_localstack/health", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.fixture
def localstack(localstack_python: str, tmp_path: Path) -> Iterator[str]:
    with running_localstack(localstack_python, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def shared_localstack(localstack_python: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One LocalStack for several scenarios: each seeds its world over what the last one left."""
    with running_localstack(localstack_python, tmp_path_factory.mktemp("localstack")) as url:
        yield url


def test_documented_localstack_example(localstack_python: str) -> None:
    port = str(free_port())
    done = run_shell_example("localstack", {"4566": port}, {"LOCALSTACK_HOST": f"127.0.0.1:{port}"})
    assert "stopCode: EssentialContainerExited" in done.stdout, done.stdout + done.stderr
    assert "DB_PASSWORD=pw" in done.stderr  # the container's log line, streamed by `ecs-sim run`


def test_gateway_still_decides_on_localstack(localstack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # chosen through the environment, as the pytest fixtures and `ecs-sim serve` would
    monkeypatch.setenv("ECS_SIM_BACKEND", "localstack")
    monkeypatch.setenv("LOCALSTACK_HOST", localstack.removeprefix("http://"))
    folder = CATALOG / "secret-on-task-role"
    with Simulator(load_world(folder / "world.yaml")) as sim:
        assert sim.backend.endpoint_url == localstack
        result = sim.run_task(folder / "taskdef.json")
        # LocalStack holds the secret and would hand it to anyone; the world's policies do not
        assert sim.client("secretsmanager").get_secret_value(SecretId="app/db")["SecretString"]
    result.assert_stopped_with("TaskFailedToStart")
    denial = result.assert_denied("secretsmanager:GetSecretValue", phase="execution")
    assert denial.role_arn.endswith("role/ecsTaskExecutionRole")


@pytest.mark.parametrize(
    "name", ["hello-both-roles", "ssm-securestring-cmk", "app-s3-denied", "env-file-no-s3-access"]
)
def test_sample_tasks_end_as_expected_on_localstack(shared_localstack: str, name: str) -> None:
    """Scenarios reading S3, SSM SecureStrings under a customer managed key and env files from S3: the
    services LocalStack only starts on Python >= 3.13."""
    folder = CATALOG / name
    expected = json.loads((folder / "expected.json").read_text())
    world = load_world(folder / "world.yaml")
    backend = make_backend("localstack", shared_localstack, region=world.region, account=world.account)
    with Simulator(world, backend=backend) as sim:
        result = sim.run_task(folder / "taskdef.json")
    document = result.to_json()
    assert result.exit_code == expected["exitCode"], json.dumps(document, indent=2, default=str)
    denied = {(d["action"], d["phase"]) for d in document["denials"]}
    assert {(d["action"], d["phase"]) for d in expected["denied"]} <= denied, document["denials"]


def test_documented_moto_server_example() -> None:
    port = str(free_port())
    done = run_shell_example("backend-url", {"5123": port}, {})
    assert "stopCode: EssentialContainerExited" in done.stdout, done.stdout + done.stderr
    assert "DB_PASSWORD=pw" in done.stderr


def test_gateway_still_decides_on_a_moto_server() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        env=os.environ | {"MOTO_ACCOUNT_ID": "111122223333", "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_answering(url, server)
        folder = CATALOG / "app-s3-denied"
        world = load_world(folder / "world.yaml")
        backend = make_backend("url", url, region=world.region, account=world.account)
        with Simulator(world, backend=backend) as sim:
            result = sim.run_task(folder / "taskdef.json")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.container_exit_code("app") == 1
    result.assert_denied("s3:GetObject", phase="runtime")
