"""Credentials stay where they belong: no host AWS credentials and no execution-role credentials in a
task container (its env, `docker inspect`, /proc/1/environ, every endpoint path); credentials ids
carry 128 random bits; one task cannot read another's credentials without its id; a stopped task's
credentials stop working at the gateway. Real Docker, real moto, real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import docker
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from test_reliability_support import WORLD, container, taskdef, wait_for

from simulator.api import Simulator
from simulator.docker import docker_client
from simulator.endpoints.registry import new_endpoint_id
from simulator.sessions import Session

pytestmark = pytest.mark.docker

HOST_KEY, HOST_SECRET, HOST_TOKEN = "AKIAHOSTLEAKTEST0001", "host/secret/LEAK+value0001", "hostTokenLEAK0001"
HOST_PROFILE = "host-leak-profile"
HOST_VALUES = (HOST_KEY, HOST_SECRET, HOST_TOKEN, HOST_PROFILE)
BUCKET = "app-data"
LOG_GROUP = "/ecs/security"
AWSLOGS = {
    "logDriver": "awslogs",
    "options": {"awslogs-group": LOG_GROUP, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"},
}

# Everything a process in the container can see, on stdout: its environment, PID 1's, every endpoint.
DUMP = r"""
env; echo; cat /proc/1/environ | tr '\0' '\n'; echo
E=http://169.254.170.2
for path in "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" /v1/credentials /v2/credentials /v2/credentials/ \
    /v2/metadata /v2/stats /health; do
  echo "== $path"; wget -q -O - "$E$path"; echo
done
for base in "$ECS_CONTAINER_METADATA_URI" "$ECS_CONTAINER_METADATA_URI_V4"; do
  for path in "" /task /stats /task/stats /taskWithTags /containers; do
    echo "== $base$path"; wget -q -O - "$base$path"; echo
  done
done
echo "== end"; sleep 3
"""


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator started with host credentials in its environment and in ~/.aws."""
    home = tmp_path_factory.mktemp("home")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {HOST_KEY}\naws_secret_access_key = {HOST_SECRET}\n"
        f"[{HOST_PROFILE}]\naws_access_key_id = {HOST_KEY}\naws_secret_access_key = {HOST_SECRET}\n"
    )
    (home / ".aws" / "config").write_text(f"[profile {HOST_PROFILE}]\nregion = eu-west-1\n")
    world = {**WORLD, "s3_buckets": {BUCKET: {"objects": {"hello.txt": "hello"}}}, "log_groups": [LOG_GROUP]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("AWS_ACCESS_KEY_ID", HOST_KEY)
        patch.setenv("AWS_SECRET_ACCESS_KEY", HOST_SECRET)
        patch.setenv("AWS_SESSION_TOKEN", HOST_TOKEN)
        patch.setenv("AWS_PROFILE", HOST_PROFILE)
        with Simulator(world) as simulator:
            yield simulator


def _task_containers(client: docker.DockerClient, run: Any) -> list[Any]:
    filters = {"label": [f"com.amazonaws.ecs.task-arn={run.task.task_arn}"], "status": "running"}
    return list(client.containers.list(filters=filters, ignore_removed=True))


def _inspect_while_running(client: docker.DockerClient, run: Any) -> list[dict[str, Any]]:
    running = wait_for(lambda: _task_containers(client, run), 60, "the task container")
    return [client.api.inspect_container(c.id) for c in running]


def _client_with(served: dict[str, Any], service: str, gateway_url: str) -> Any:
    """A client signing with the served credentials, through the gateway. From a fresh boto3 session, not
    the default one: another test may have made that under another HOME, and it would then look for
    this module's AWS_PROFILE in that HOME's config."""
    return boto3.session.Session().client(
        service,
        endpoint_url=gateway_url,
        region_name="us-east-1",
        aws_access_key_id=served["AccessKeyId"],
        aws_secret_access_key=served["SecretAccessKey"],
        aws_session_token=served["Token"],
        config=Config(retries={"max_attempts": 1}),
    )


def _credentials_in(text: str) -> dict[str, Any]:
    """The first credentials document in ``text``."""
    match = re.search(r"\{[^{}]*\"AccessKeyId\"[^{}]*\}", text)
    assert match, text
    return json.loads(match.group(0))


@pytest.fixture(scope="module")
def dumped(client, sim: Simulator, issued: dict[str, Session]) -> tuple[Any, str, list[dict[str, Any]]]:
    """One task that dumped everything it can see; its result, the dump and `docker inspect`."""
    # awslogs makes the execution role work at task start and while the container runs (log shipping).
    run = sim.start_task(taskdef(container(command=["sh", "-c", DUMP], logConfiguration=AWSLOGS)))
    inspected = _inspect_while_running(client, run)
    result = run.wait(120)
    assert result.exit_code == 0, result.to_json()
    assert "== end" in result.logs("app"), result.logs("app")
    return run, result.logs("app"), inspected


@pytest.fixture(scope="module")
def issued(sim: Simulator) -> Iterator[dict[str, Session]]:
    """Every session the simulator hands out from now on, by label (``<task id>/execution|task``)."""
    sessions: dict[str, Session] = {}
    assume_role = sim.assume_role

    def recording(role_arn: str, session_name: str, label: str) -> Session:
        sessions[label] = assume_role(role_arn, session_name, label)
        return sessions[label]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sim, "assume_role", recording)
        yield sessions


def _secrets_of(issued: dict[str, Session], run: Any) -> dict[str, tuple[str, str, str | None]]:
    """The sessions of ``run``'s two roles, by phase: (key id, secret, token)."""
    return {
        phase: (session.access_key_id, session.secret_access_key, session.session_token)
        for phase in ("execution", "task")
        for session in (issued[f"{run.task_id}/{phase}"],)
    }


def test_no_host_credentials_in_the_container(dumped) -> None:
    _, dump, inspected = dumped
    seen = dump + json.dumps(inspected)
    for value in HOST_VALUES:
        assert value not in seen


def test_no_execution_role_credentials_in_the_container(issued, dumped) -> None:
    run, dump, inspected = dumped
    sessions = _secrets_of(issued, run)
    seen = dump + json.dumps(inspected)
    key, secret, token = sessions["execution"]
    assert token, "an STS session has a token"
    for value in (key, secret, token):
        assert value not in seen
    # The scan sees what is there: the task role's credentials are served at the relative URI.
    task_key, task_secret, _ = sessions["task"]
    served = _credentials_in(dump)
    assert (served["AccessKeyId"], served["SecretAccessKey"]) == (task_key, task_secret)
    assert task_secret not in json.dumps(inspected), "the secret is served, never in the environment"


def test_credentials_ids_have_128_random_bits(dumped) -> None:
    _, dump, _ = dumped
    served_id = re.search(r"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/(\S+)", dump)
    assert served_id, dump
    assert len(served_id.group(1).replace("-", "")) == 32  # 128 bits of hex
    ids = [new_endpoint_id().replace("-", "") for _ in range(400)]
    assert len(set(ids)) == len(ids)
    for position in range(32):  # no fixed nibble (a UUIDv4 fixes the version and variant bits)
        assert len({i[position] for i in ids}) > 8, f"hex digit {position} is not random"


def test_a_task_cannot_read_another_tasks_credentials_without_its_id(client, sim, issued) -> None:
    victim = sim.start_task(taskdef(container(command=["sleep", "30"]), family="victim"))
    wait_for(lambda: _task_containers(client, victim), 60, "the victim task")
    victim_key = issued[f"{victim.task_id}/task"].access_key_id
    guesses = " ".join(
        [
            "/v2/credentials",
            "/v2/credentials/",
            "/v1/credentials",
            "/v2/credentials/00000000-0000-0000-0000-000000000000",
            f"/v2/credentials/{new_endpoint_id()}",
            "/v2/credentials/..%2f..%2f",
            "/v2/credentials/*",
            "/v3/",
            "/v4/",
            "/v2/metadata",
        ]
    )
    script = f'for p in {guesses}; do echo "== $p"; wget -S -O - http://169.254.170.2$p 2>&1; done; echo done'
    attacker = sim.run_task(taskdef(container(command=["sh", "-c", script]), family="attacker"))
    victim.stop()
    victim.wait(60)
    logs = attacker.logs("app")
    assert "done" in logs, logs
    assert victim_key not in logs
    assert "AccessKeyId" not in logs  # not even its own: none of the guesses is its id
    assert "200 OK" not in logs, logs


def test_credentials_stop_working_after_the_task_stops(sim, dumped) -> None:
    served = _credentials_in(dumped[1])
    s3 = _client_with(served, "s3", sim.gateway.url)
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket=BUCKET, Key="hello.txt")
    assert denied.value.response["Error"]["Code"] in (
        "ExpiredToken",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
    )
    sts = _client_with(served, "sts", sim.gateway.url)
    with pytest.raises(ClientError) as sts_denied:
        sts.get_caller_identity()
    assert sts_denied.value.response["Error"]["Code"] in ("ExpiredToken", "InvalidClientTokenId")


def test_the_endpoint_forgets_a_stopped_tasks_credentials(sim, dumped) -> None:
    dump = dumped[1]
    relative = re.search(r"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=(\S+)", dump).group(1)
    credentials_id = relative.rsplit("/", 1)[-1]
    assert sim.endpoints.registry.credentials_body(credentials_id) is None
