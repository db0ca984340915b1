"""awsvpc namespaces kept between tasks: the next task gets a clean one, concurrent tasks separate ones,
a task that could have changed its namespace never hands it on, and none outlives the simulator.

Needs Docker, root (iptables) and the ecs-sim/busybox image.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import docker
import pytest

from simulator.api import Simulator
from simulator.docker.labels import OWNER
from simulator.phases import container_spec

pytestmark = pytest.mark.docker

WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]}
    },
}
# What a task sees of its namespace: its holder (the hostname is the sandbox's), address, listeners on
# port 7000 and loopback addresses.
REPORT = (
    'echo "{\\"holder\\": \\"$(hostname)\\", \\"ip\\": \\"$(ip -4 -o addr show eth0 | awk \'{print $4}\')\\",'
    ' \\"listening\\": $(netstat -ltn | grep -c :7000),'
    ' \\"lo\\": \\"$(ip -4 -o addr show lo | awk \'{print $4}\' | tr "\\n" " ")\\"}"'
)


def taskdef(script: str, cap_add: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "family": "sandbox",
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "ecsTaskExecutionRole",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "ecs-sim/busybox:latest",
                "command": ["sh", "-c", script],
                "linuxParameters": {"capabilities": {"add": list(cap_add)}},
            }
        ],
    }


def report(sim: Simulator, script: str = REPORT, cap_add: Sequence[str] = ()) -> dict[str, Any]:
    result = sim.run_task(taskdef(script, cap_add))
    assert result.exit_code == 0, result.container_logs
    return json.loads(result.container_logs["app"][-1])


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # EC2: NET_ADMIN is allowed there (Fargate grants only SYS_PTRACE).
    with Simulator(WORLD, launch_type="EC2") as simulator:
        yield simulator


def test_the_next_task_gets_the_namespace_back_with_nothing_of_the_last_task_in_it(sim: Simulator) -> None:
    first = report(sim, f"nc -l -p 7000 & sleep 0.2; {REPORT}")
    assert first["listening"] == 1  # its own listener, gone with its container
    second = report(sim)
    assert second["holder"] == first["holder"] and second["listening"] == 0
    assert sim.sandboxes is not None and sim.sandboxes.idle() == 1


def test_concurrent_tasks_have_separate_namespaces(sim: Simulator) -> None:
    runs = [sim.start_task(taskdef(f"nc -l -p 7000 & sleep 1; {REPORT}")) for _ in range(2)]
    seen = [json.loads(run.wait(timeout=120).container_logs["app"][-1]) for run in runs]
    assert seen[0]["ip"] != seen[1]["ip"]  # both bound port 7000: their own namespace each
    assert [s["listening"] for s in seen] == [1, 1]


def test_a_task_that_could_change_its_namespace_retires_it(sim: Simulator) -> None:
    changed = report(sim, f"ip addr add 127.0.0.9/8 dev lo && {REPORT}", cap_add=["NET_ADMIN"])
    assert "127.0.0.9/8" in changed["lo"]
    assert sim.sandboxes is not None and sim.sandboxes.idle() == 0
    after = report(sim)
    assert after["holder"] != changed["holder"] and "127.0.0.9" not in after["lo"]


def test_a_task_that_wrote_the_shared_hosts_file_retires_the_namespace(sim: Simulator) -> None:
    """Docker shares the holder's /etc/hosts (and resolv.conf, hostname) with every container joining it."""
    wrote = report(sim, f"echo '169.254.170.9 planted' >> /etc/hosts && {REPORT}")
    assert sim.sandboxes is not None and sim.sandboxes.idle() == 0
    after = report(sim, f"grep -c planted /etc/hosts; {REPORT}")
    assert after["holder"] != wrote["holder"]


def test_a_published_tcp_port_is_served_from_a_borrowed_namespace_and_freed_after(sim: Simulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        host_port = probe.getsockname()[1]  # a free port, then published twice in a row
    definition = taskdef(f"echo served-by-the-task | nc -l -p {host_port}; {REPORT}")
    # awsvpc: the host port is the container port
    definition["containerDefinitions"][0]["portMappings"] = [
        {"containerPort": host_port, "hostPort": host_port}
    ]
    holders = []
    for _ in range(2):
        run = sim.start_task(definition)
        deadline = time.monotonic() + 60
        binding = None
        while binding is None and time.monotonic() < deadline:
            bindings = run.task.container("app").network_bindings
            binding = bindings[0] if bindings else None
            time.sleep(0.05)
        assert binding is not None and (binding.bind_ip, binding.host_port) == ("127.0.0.1", host_port)
        answer = b""
        while not answer and time.monotonic() < deadline:  # until nc listens in the task
            with socket.create_connection(("127.0.0.1", host_port), timeout=5) as client:
                answer = client.recv(100)
        assert answer == b"served-by-the-task\n"
        result = run.wait(timeout=60)
        holders.append(json.loads(result.container_logs["app"][-1])["holder"])
    assert holders[0] == holders[1] == report(sim)["holder"]  # one namespace, lent three times


def test_a_kept_namespace_killed_from_outside_is_replaced(sim: Simulator) -> None:
    first = report(sim)
    client = docker.from_env()
    kept = client.containers.list(
        filters={"label": f"{OWNER}={sim.owner_id}", "name": "ecs-sim-sandbox-"}, ignore_removed=True
    )
    assert len(kept) == 1
    kept[0].kill()
    assert report(sim)["holder"] != first["holder"]


def test_a_task_that_fails_before_its_containers_exist_hands_the_namespace_back(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = report(sim)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("container spec failed")

    monkeypatch.setattr(container_spec, "build", broken)
    with pytest.raises(RuntimeError, match="container spec failed"):
        sim.run_task(taskdef(REPORT))
    monkeypatch.undo()
    assert sim.sandboxes is not None and sim.sandboxes.idle() == 1
    assert report(sim)["holder"] == first["holder"]


def test_no_namespace_outlives_the_simulator() -> None:
    with Simulator(WORLD) as simulator:
        report(simulator)
        owner = simulator.owner_id
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"label": f"{OWNER}={owner}"}, ignore_removed=True) == []
