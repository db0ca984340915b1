"""Unmodified clients inside task containers read credentials and metadata at 169.254.170.2.

Needs Docker and root (iptables); fails, never skips, without them. The boto3 test needs the
``ecs-sim/python`` image built by scripts/setup-docker.sh.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import docker
import pytest
from docker.errors import ImageNotFound

from simulator.docker import (
    CREDENTIALS_PORT,
    ENDPOINT_IP,
    TaskNetwork,
    docker_client,
    new_owner_id,
    owner_labels,
)
from simulator.endpoints import (
    ContainerMetadata,
    ContainerView,
    EndpointServer,
    TaskCredentials,
    TaskMetadata,
    docker_stats,
    from_docker_inspect,
)

pytestmark = pytest.mark.docker

BUSYBOX = "ecs-sim/busybox:latest"
PYTHON = "ecs-sim/python:latest"
CREDS = TaskCredentials(
    role_arn="arn:aws:iam::111122223333:role/app-task-role",
    access_key_id="ASIATASKROLE",
    secret_access_key="secret",
    token="token",
    expiration=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1),
)


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


@pytest.fixture(scope="module")
def wired(client) -> Iterator[tuple[TaskNetwork, EndpointServer]]:
    with TaskNetwork.create(client, new_owner_id()) as network, EndpointServer() as server:
        network.forward(CREDENTIALS_PORT, server.start(network.gateway_ip))
        yield network, server


def run_task_container(client, network, image, command, environment=None) -> tuple[int, str]:
    container = client.containers.run(
        image,
        command,
        network=network.name,
        environment=environment,
        labels=owner_labels("tests"),
        detach=True,
    )
    try:
        return container.wait(timeout=120)["StatusCode"], container.logs().decode()
    finally:
        container.remove(force=True)


def test_unmodified_boto3_gets_task_role_credentials(client, wired):
    try:
        client.images.get(PYTHON)
    except ImageNotFound:
        pytest.skip(f"{PYTHON} is not built yet (scripts/setup-docker.sh builds it)")
    network, server = wired
    credentials_id = server.register_credentials(CREDS)
    program = (
        "import boto3; c = boto3.Session().get_credentials(); f = c.get_frozen_credentials(); "
        "print(c.method, f.access_key, f.secret_key, f.token)"
    )
    status, output = run_task_container(
        client,
        network,
        PYTHON,
        ["python3", "-c", program],
        {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": f"/v2/credentials/{credentials_id}"},
    )
    assert (status, output.strip()) == (0, "container-role ASIATASKROLE secret token")


def test_unknown_id_gets_the_agents_error_body_inside_the_container(client, wired):
    network, _ = wired
    # busybox wget hides error bodies; nc shows the whole response.
    request = f"printf 'GET /v2/credentials/nope HTTP/1.0\\r\\n\\r\\n' | nc {ENDPOINT_IP} 80"
    status, output = run_task_container(client, network, BUSYBOX, ["sh", "-c", request])
    assert status == 0
    assert output.startswith("HTTP/1.1 400 Bad Request\r\n")
    assert output.endswith(
        '\r\n\r\n{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400}'
    )


def test_task_metadata_v4_and_docker_stats_from_inside_the_task(client, wired):
    network, server = wired
    task = TaskMetadata(
        cluster="default",
        task_arn="arn:aws:ecs:us-east-1:111122223333:task/default/0123456789abcdef0123456789abcdef",
        family="app",
        revision="1",
        desired_status="RUNNING",
        known_status="RUNNING",
        cpu=0.25,
        memory=512,
        launch_type="EC2",
    )
    docker_ids: list[str] = []

    def view() -> ContainerView:
        # As a runner may do: the task's part from its state, Docker's part inspected on each request.
        known = from_docker_inspect(client.api.inspect_container(docker_ids[0])) if docker_ids else {}
        app = ContainerMetadata(
            **{"docker_id": "", "docker_name": "", **known}, name="app", image=BUSYBOX, memory=128
        )
        return ContainerView(app, replace(task, containers=[app]))

    endpoint_id = server.register_container(view, docker_stats(client))
    script = (
        'wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4"; echo; '
        'wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4/task"; echo; '
        'wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4/stats"; echo; '
        'wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4/task/stats"'
    )
    container = client.containers.create(
        BUSYBOX,
        ["sh", "-c", script],
        network=network.name,
        environment={"ECS_CONTAINER_METADATA_URI_V4": f"http://{ENDPOINT_IP}/v4/{endpoint_id}"},
        labels=owner_labels("tests"),
    )
    try:
        docker_ids.append(container.id)
        container.start()
        assert container.wait(timeout=120)["StatusCode"] == 0
        container_json, task_json, stats_json, task_stats_json = container.logs().decode().splitlines()
    finally:
        container.remove(force=True)
        server.unregister_container(endpoint_id)

    document = json.loads(container_json)
    assert (document["DockerId"], document["Name"], document["Limits"]) == (
        container.id,
        "app",
        {"CPU": 2, "Memory": 128},
    )
    assert (document["KnownStatus"], document["DockerName"]) == ("RUNNING", container.name)
    [network_document] = document["Networks"]
    assert network_document["NetworkMode"] == network.name
    assert ipaddress.ip_address(network_document["IPv4Addresses"][0]) in ipaddress.ip_network(network.subnet)
    assert "io.ecs-sim.owner" not in document.get("Labels", {})
    task_document = json.loads(task_json)
    assert task_document["TaskARN"] == task.task_arn and task_document["Limits"] == {
        "CPU": 0.25,
        "Memory": 512,
    }
    assert [c["DockerId"] for c in task_document["Containers"]] == [container.id]
    stats = json.loads(stats_json)
    assert stats["id"] == container.id and "cpu_stats" in stats and "memory_stats" in stats
    assert list(json.loads(task_stats_json)) == [container.id]
