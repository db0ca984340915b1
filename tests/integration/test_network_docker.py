"""Task networks on the real Docker engine: 169.254.170.2 reaches each simulator's own server.

Needs Docker and root (iptables); fails, never skips, without them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import docker
import pytest
from docker.errors import NotFound

from simulator.docker import (
    CREDENTIALS_PORT,
    ENDPOINT_IP,
    GATEWAY_PORT,
    TaskNetwork,
    docker_client,
    exclusive_sweeps,
    new_owner_id,
    owner_labels,
    reap_leftovers,
)
from simulator.docker import network as network_module
from simulator.endpoints import EndpointServer, TaskCredentials
from simulator.errors import EnvironmentProblem

pytestmark = pytest.mark.docker

BUSYBOX = "ecs-sim/busybox:latest"


def credentials(name: str) -> TaskCredentials:
    expiration = datetime.now(UTC) + timedelta(hours=1)
    return TaskCredentials(
        f"arn:aws:iam::111122223333:role/{name}", f"ASIA{name.upper()}", "secret", "token", expiration
    )


@dataclass
class Simulator:
    owner: str
    network: TaskNetwork
    server: EndpointServer


def host_rules() -> str:
    """The chains the simulator adds rules to, as `iptables -S` prints them."""
    return "".join(
        subprocess.run(["iptables", "-w", "-t", table, "-S", chain], capture_output=True, text=True).stdout
        for table, chain in (("nat", "PREROUTING"), ("filter", "INPUT"))
    )


def run_on(client: docker.DockerClient, network: TaskNetwork, *command: str) -> tuple[int, str]:
    """Run a labelled busybox container on ``network``; its exit code and output."""
    container = client.containers.run(
        BUSYBOX, list(command), network=network.name, labels=owner_labels("tests"), detach=True
    )
    try:
        status = container.wait(timeout=60)["StatusCode"]
        return status, container.logs().decode()
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


@pytest.fixture
def simulator(client) -> Iterator[Simulator]:
    """What a simulator sets up: its network, its endpoint server on the gateway IP, the port-80 forward."""
    owner = new_owner_id()
    with TaskNetwork.create(client, owner) as network, EndpointServer() as server:
        network.forward(CREDENTIALS_PORT, server.start(network.gateway_ip))
        yield Simulator(owner, network, server)


second_simulator = simulator


def test_container_gets_credentials_at_the_ecs_address(client, simulator):
    task_credentials = credentials("app")
    credentials_id = simulator.server.register_credentials(task_credentials)
    status, output = run_on(
        client,
        simulator.network,
        "wget",
        "-q",
        "-O-",
        f"http://{ENDPOINT_IP}/v2/credentials/{credentials_id}",
    )
    assert (status, output) == (0, task_credentials.body().decode())


def test_two_simulators_at_once_each_reach_their_own_server(client, simulator, second_simulator):
    assert simulator.network.subnet != second_simulator.network.subnet
    first_id = simulator.server.register_credentials(credentials("first"))
    second_id = second_simulator.server.register_credentials(credentials("second"))
    url = f"http://{ENDPOINT_IP}/v2/credentials/"

    _, output = run_on(client, simulator.network, "wget", "-q", "-O-", url + first_id)
    assert json.loads(output)["AccessKeyId"] == "ASIAFIRST"
    _, output = run_on(client, second_simulator.network, "wget", "-q", "-O-", url + second_id)
    assert json.loads(output)["AccessKeyId"] == "ASIASECOND"
    # Another simulator's id is unknown here: the task gets the agent's 400, not the credentials.
    status, output = run_on(client, second_simulator.network, "wget", "-q", "-O-", url + first_id)
    assert status != 0 and "400 Bad Request" in output


def test_aws_gateway_port_is_forwarded_too(client, simulator):
    gateway_port = simulator.server.add_listener(
        simulator.network.gateway_ip
    )  # stands in for the AWS gateway
    simulator.network.forward(GATEWAY_PORT, gateway_port)
    status, output = run_on(
        client, simulator.network, "wget", "-q", "-O-", f"http://{ENDPOINT_IP}:{GATEWAY_PORT}/health"
    )
    assert (status, output) == (0, '{"status":"ok"}')


def test_remove_leaves_no_rule_and_no_network(client):
    network = TaskNetwork.create(client, new_owner_id())
    network.forward(CREDENTIALS_PORT, 12345)
    network.forward(GATEWAY_PORT, 12346)
    assert host_rules().count(f"ecs-sim:{network.name}") == 4  # a DNAT and an INPUT accept per forward
    network.remove()
    network.remove()  # idempotent
    assert network.name not in host_rules()
    with pytest.raises(NotFound):
        client.networks.get(network.id)


def test_remove_disconnects_containers_left_attached(client):
    with TaskNetwork.create(client, new_owner_id()) as network:
        container = client.containers.run(
            BUSYBOX, ["sleep", "60"], network=network.name, labels=owner_labels("tests"), detach=True
        )
    try:
        with pytest.raises(NotFound):
            client.networks.get(network.id)
    finally:
        container.remove(force=True)


def test_a_subnet_taken_in_a_race_is_skipped(client, simulator, monkeypatch):
    # Pretend the listing missed the first simulator's network: Docker refuses the overlap, we move on.
    monkeypatch.setattr(network_module, "_subnets_in_use", lambda client: [])
    with TaskNetwork.create(client, new_owner_id()) as network:
        assert network.subnet != simulator.network.subnet


def test_first_network_has_the_ecs_gateway_address():
    subnet, gateway = network_module.candidate_subnets()[0]
    assert (subnet, gateway) == ("169.254.170.0/24", "169.254.170.2")
    assert network_module.candidate_subnets()[-1] == ("169.254.250.0/24", "169.254.250.1")


KILLED_SIMULATOR = textwrap.dedent(
    """
    import sys
    from simulator.docker import TaskNetwork, docker_client, owner_labels
    client = docker_client()
    network = TaskNetwork.create(client, sys.argv[1])
    network.forward(80, 40000)
    client.volumes.create(labels=owner_labels(sys.argv[1]))
    client.containers.create("ecs-sim/busybox:latest", ["sleep", "60"], network=network.name,
                             labels=owner_labels(sys.argv[1]))
    print(network.name, flush=True)
    sys.stdin.read()  # until the test kills it
    """
)


def test_reap_leftovers_of_a_killed_simulator(client):
    owner = new_owner_id()
    simulator = subprocess.Popen(
        [sys.executable, "-c", KILLED_SIMULATOR, owner],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    network_name = simulator.stdout.readline().strip()
    owned = {"label": [f"io.ecs-sim.owner={owner}"]}
    assert client.networks.list(filters=owned) and f"ecs-sim:{network_name}" in host_rules()
    # While it lived, other workers' simulators spared its leftovers; from its death to this reap,
    # holding the sweep turn keeps them from taking any share of them.
    with exclusive_sweeps():
        simulator.kill()
        simulator.communicate(timeout=30)
        assert simulator.returncode == -9
        reaped = reap_leftovers(client)

    # Leftovers of other dead simulators on this host may be reaped in the same sweep.
    assert network_name in reaped.networks
    assert {f"filter INPUT {network_name}", f"nat PREROUTING {network_name}"} <= set(reaped.rules)
    assert len(reaped.containers) >= 1 and len(reaped.volumes) >= 1
    assert client.networks.list(filters=owned) == []
    assert client.containers.list(all=True, filters=owned, ignore_removed=True) == []
    assert client.volumes.list(filters=owned) == []
    assert network_name not in host_rules()


def test_reap_spares_a_live_simulator(client, simulator):
    reap_leftovers(client)
    assert client.networks.get(simulator.network.id)
    assert f"ecs-sim:{simulator.network.name}" in host_rules()


def test_a_leftover_that_cannot_go_yet_is_reported_not_raised(client):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    volume = client.volumes.create(labels={**owner_labels("dead"), "io.ecs-sim.pid": str(dead.pid)})
    user = client.containers.create(
        BUSYBOX, ["true"], volumes={volume.name: {"bind": "/data"}}, labels=owner_labels("tests")
    )
    with exclusive_sweeps():  # other workers' simulators must not reap the volume between these steps
        try:
            reaped = reap_leftovers(client)
            assert volume.name in [failure.split(":")[0] for failure in reaped.failed]
        finally:
            user.remove(force=True)
        assert volume.name in reap_leftovers(client).volumes


def test_forward_passes_a_host_firewall_that_drops_the_task_network(client, simulator):
    # As ufw would with a DROP policy, scoped here to this test's network.
    drop = [
        "-s",
        simulator.network.subnet,
        "-m",
        "comment",
        "--comment",
        "ecs-sim-test-firewall",
        "-j",
        "DROP",
    ]
    subprocess.run(["iptables", "-w", "-A", "INPUT", *drop], check=True)
    try:
        status, output = run_on(
            client, simulator.network, "wget", "-q", "-O-", f"http://{ENDPOINT_IP}/health"
        )
    finally:
        subprocess.run(["iptables", "-w", "-D", "INPUT", *drop], check=True)
    assert (status, output) == (0, '{"status":"ok"}')


def test_no_free_subnet_is_an_environment_problem(client, simulator, monkeypatch):
    monkeypatch.setattr(
        network_module, "candidate_subnets", lambda: [(simulator.network.subnet, "169.254.170.2")]
    )
    with pytest.raises(EnvironmentProblem, match=r"^no free task network subnet between 169\.254\.170\.0/24"):
        TaskNetwork.create(client, new_owner_id())


def test_docker_refusing_the_network_is_an_environment_problem(client, simulator):
    with pytest.raises(
        EnvironmentProblem, match=f"^Docker could not create network {simulator.network.name}: "
    ):
        TaskNetwork.create(client, simulator.owner)  # the same owner twice: the name is taken
