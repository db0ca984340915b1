"""Nothing a simulator starts survives it: Ctrl-C and SIGTERM of `ecs-sim run` in phase 1 and in
phase 2, an exception inside `with Simulator()`, and `kill -9` (its leftovers are reaped by label at
the next simulator's start). Asserted by listing Docker objects and NAT rules by the project's labels."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from test_reliability_support import (
    WORLD,
    HangingRegistry,
    container,
    network_of_process,
    nothing,
    of_owner,
    of_process,
    rules_of,
    running_containers,
    spawn_cli,
    task_folder,
    taskdef,
    wait_for,
)

from simulator.api import Simulator
from simulator.docker import docker_client

pytestmark = pytest.mark.docker

EXIT_INTERRUPTED = 130


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


def _interrupt(process: subprocess.Popen[str], signum: int) -> tuple[float, str]:
    """Send ``signum``; the seconds until the process exited and its stderr."""
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=90)
    return time.monotonic() - sent, stderr


def _assert_clean_exit(process: subprocess.Popen[str], stderr: str) -> None:
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_phase_two_stops_and_removes_everything(client, tmp_path: Path, signum: int) -> None:
    folder = task_folder(tmp_path, taskdef(container(command=["sleep", "60"])))
    process = spawn_cli("run", str(folder))
    try:
        network = network_of_process(client, process.pid)
        wait_for(lambda: running_containers(client, process.pid), 60, "the task container to run")
        assert rules_of(network)
        seconds, stderr = _interrupt(process, signum)
    finally:
        process.kill()
    _assert_clean_exit(process, stderr)
    assert "interrupted" in stderr
    assert nothing(of_process(client, process.pid)), of_process(client, process.pid)
    assert not rules_of(network)
    assert seconds < 30, f"cleanup took {seconds:.1f} s"  # stopTimeout is 2 s


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_the_simulator_starts_removes_everything(client, tmp_path: Path, signum: int) -> None:
    """The signal lands as soon as Docker lists the task network: while the simulator is still
    recording it and adding its NAT rules, before any task."""
    folder = task_folder(tmp_path, taskdef(container(command=["sleep", "60"])))
    process = spawn_cli("run", str(folder))
    try:
        network = wait_for(lambda: of_process(client, process.pid)["networks"], 60, "the network", 0.005)[0]
        seconds, stderr = _interrupt(process, signum)
    finally:
        process.kill()
    _assert_clean_exit(process, stderr)
    assert nothing(of_process(client, process.pid)), of_process(client, process.pid)
    assert not rules_of(network)
    assert seconds < 30, f"cleanup took {seconds:.1f} s"


def _signal_in_phase_one(client, tmp_path: Path, signum: int) -> None:
    """Signal ``ecs-sim run`` while its image pull hangs, then let the registry refuse so Docker's pull
    ends; the run must exit cleanly with nothing left behind."""
    registry = HangingRegistry()
    folder = task_folder(tmp_path, taskdef(container(image=registry.image)))
    process = spawn_cli("run", str(folder))
    try:
        network = network_of_process(client, process.pid)
        assert registry.connected.wait(60), "the image pull never started"
        process.send_signal(signum)
        registry.close()
        _, stderr = process.communicate(timeout=90)
    finally:
        process.kill()
        registry.close()
    _assert_clean_exit(process, stderr)
    assert nothing(of_process(client, process.pid)), of_process(client, process.pid)
    assert not rules_of(network)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_phase_one_stops_and_removes_everything(client, tmp_path: Path, signum: int) -> None:
    _signal_in_phase_one(client, tmp_path, signum)


def test_exception_inside_the_simulator_block_removes_running_tasks(client) -> None:
    with pytest.raises(RuntimeError, match="test failed"), Simulator(WORLD) as sim:
        owner, network = sim.owner_id, sim.network.name
        run = sim.start_task(taskdef(container(command=["sleep", "60"])))
        wait_for(lambda: any(c.status == "running" for c in _containers(client, owner)), 60, "the task")
        raise RuntimeError("test failed")
    assert nothing(of_owner(client, owner)), of_owner(client, owner)
    assert not rules_of(network)
    assert run.task.last_status.value == "STOPPED"


INNER_TEST = """
import json, time
from pathlib import Path
import pytest

@pytest.mark.ecs_world("world.yaml")
def test_fails_with_a_task_running(ecs_sim):
    Path("owner.txt").write_text(ecs_sim.owner_id + " " + ecs_sim.network.name)
    run = ecs_sim.start_task(json.loads(Path("taskdef.json").read_text()))
    deadline = time.monotonic() + 60
    while run.task.last_status.value != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.task.last_status.value == "RUNNING"
    raise RuntimeError("the test under test fails")
"""


def test_a_failing_test_using_the_fixture_leaves_nothing(client, tmp_path: Path) -> None:
    task_folder(tmp_path, taskdef(container(command=["sleep", "60"])))
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1 and "the test under test fails" in done.stdout, done.stdout + done.stderr
    owner, network = (tmp_path / "owner.txt").read_text().split()
    assert nothing(of_owner(client, owner)), of_owner(client, owner)
    assert not rules_of(network)


def _containers(client: docker.DockerClient, owner: str) -> list:
    return client.containers.list(
        all=True, filters={"label": [f"io.ecs-sim.owner={owner}"]}, ignore_removed=True
    )


def test_kill_9_leftovers_are_reaped_at_the_next_start(client, tmp_path: Path) -> None:
    folder = task_folder(tmp_path, taskdef(container(command=["sleep", "60"])))
    process = spawn_cli("run", str(folder))
    try:
        network = network_of_process(client, process.pid)
        wait_for(lambda: running_containers(client, process.pid), 60, "the task container to run")
    finally:
        process.kill()  # SIGKILL: no handler runs
        process.communicate(timeout=30)
    # Its container, network and rules are left now (unless a simulator of a parallel test, starting
    # meanwhile, reaped them already: the same guarantee). The next start must reap them.
    with Simulator(WORLD):
        pass
    assert nothing(of_process(client, process.pid)), of_process(client, process.pid)
    assert not rules_of(network)
