"""The task-level cpu/memory limit the task as a whole, in a cgroup of its own as the ECS agent makes it:
its containers share the memory, the cpu is a CFS quota on the task cgroup, and no cgroup outlives its
task or its simulator (stop, SIGINT, kill -9 and the next start's reaper).

Needs Docker with the cgroupfs driver on this machine, root, and the ecs-sim/busybox and ecs-sim/python
images. Written for cgroup v1 (the test machine's); the v2 files are unit-tested with a fake root.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_reliability_support import (
    WORLD,
    container,
    network_of_process,
    running_containers,
    spawn_cli,
    task_folder,
    taskdef,
    wait_for,
)

from simulator.api import Simulator
from simulator.docker import docker_client, task_cgroup
from simulator.docker.network import NETWORK_PREFIX
from simulator.docker.reaper import reap_leftovers
from simulator.docker.task_cgroup import CGROUP_ROOT, TaskCgroups

pytestmark = pytest.mark.docker

MIB = 1024 * 1024
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
# Allocates 40 MiB and holds it until its sibling holds its 40 MiB too (a file on the shared volume each).
# It allocates after a moment: on cgroup v1 Docker watches for OOM only once the process runs.
HOG = """
import os, sys, time
time.sleep(0.5)
held = bytearray(40 * 1024 * 1024)
open("/shared/" + sys.argv[1], "w").close()
deadline = time.monotonic() + 60
while len(os.listdir("/shared")) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
print("both held 40 MiB", flush=True)
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD, launch_type="EC2") as simulator:
        yield simulator


def two_hogs() -> dict[str, Any]:
    """Two containers without a memory of their own in a task with 64 MiB."""
    hogs = [
        {
            "name": name,
            "image": "ecs-sim/python:latest",
            "command": ["python3", "-c", HOG, name],
            "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}],
            "stopTimeout": 2,
        }
        for name in ("first", "second")
    ]
    return taskdef(
        *hogs,
        family="task-cgroup",
        requiresCompatibilities=["EC2"],
        cpu="256",
        memory="64",
        volumes=[{"name": "shared"}],
    )


def cgroup_dirs(relative: str) -> list[Path]:
    """Where the cgroup ``relative`` exists: in which hierarchies."""
    return [h / relative for h in task_cgroup.hierarchies() if (h / relative).exists()]


def test_containers_share_the_task_memory(sim: Simulator) -> None:
    result = sim.run_task(two_hogs())
    containers = result.to_json()["task"]["containers"]
    killed = [c for c in containers if c.get("exitCode") == 137 and c.get("reason") == OOM_REASON]
    assert killed, json.dumps(containers)  # 2 x 40 MiB do not fit in the task's 64
    assert result.task.stop_code == "EssentialContainerExited"
    assert not cgroup_dirs(task_cgroup.task_path(sim.owner_id, result.task.task_id))


def test_the_same_task_with_the_cap_on_each_container_succeeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What ecs-sim did before, and still does where it cannot write the daemon's cgroups: each container
    may use the task's 64 MiB, so both hold their 40."""
    with Simulator(WORLD, launch_type="EC2") as sim:
        sim.task_cgroups = TaskCgroups(docker_client(), sim.owner_id, root=tmp_path)  # no cgroup fs there
        with caplog.at_level(logging.WARNING, logger="simulator.docker.task_cgroup"):
            result = sim.run_task(two_hogs())
    containers = result.to_json()["task"]["containers"]
    assert [c.get("exitCode") for c in containers] == [0, 0], json.dumps(containers)
    assert result.container_logs["first"] == ["both held 40 MiB"]
    assert (
        f"not to the task as a whole: no cgroup filesystem with a memory controller is mounted at {tmp_path}"
        in caplog.text
    )


def read(hierarchy: str, relative: str, name: str) -> str:
    return (CGROUP_ROOT / hierarchy / relative / name).read_text().strip()


def test_task_cpu_is_a_cfs_quota_and_task_memory_a_limit_of_the_task_cgroup(sim: Simulator) -> None:
    assert task_cgroup.cgroup_version() == 1, "this test reads cgroup v1 files"
    definition = taskdef(
        container("app", ["sleep", "60"]),
        container("sidecar", ["sleep", "60"], memory=32),
        requiresCompatibilities=["EC2"],
        cpu="512",
        memory="128",
    )
    run = sim.start_task(definition)
    wait_for(lambda: run.task.last_status.value == "RUNNING", 60, "the task to run")
    relative = task_cgroup.task_path(sim.owner_id, run.task_id)
    assert read("cpu", relative, "cpu.cfs_period_us") == "100000"
    assert read("cpu", relative, "cpu.cfs_quota_us") == "50000"  # 512 units: half a vCPU per 100 ms
    assert read("memory", relative, "memory.limit_in_bytes") == str(128 * MIB)

    client = docker_client()
    app = client.api.inspect_container(run.task.container("app").docker_id)
    sidecar = client.api.inspect_container(run.task.container("sidecar").docker_id)
    assert app["HostConfig"]["CgroupParent"] == f"/{relative}"
    assert app["HostConfig"]["NanoCpus"] == 0 and app["HostConfig"]["Memory"] == 0  # the task's hold
    assert sidecar["HostConfig"]["Memory"] == 32 * MIB  # a container's own memory stays its own
    # The processes really are in the task cgroup
    cgroups = Path(f"/proc/{app['State']['Pid']}/cgroup").read_text().splitlines()
    assert f"memory:/{relative}/{app['Id']}" in [line.split(":", 1)[1] for line in cgroups]
    # The awsvpc namespace holder, kept for other tasks, is outside it.
    holder = client.api.inspect_container(app["HostConfig"]["NetworkMode"].removeprefix("container:"))
    assert holder["HostConfig"]["CgroupParent"] == ""

    run.stop()
    run.wait(60)
    assert not cgroup_dirs(relative)
    # The simulator's own cgroup stays while it runs, empty now: a simulator starting meanwhile spares it.
    reap_leftovers(client)
    assert cgroup_dirs(task_cgroup.owner_path(sim.owner_id))


def run_in_cli(tmp_path: Path, stop: Callable[[subprocess.Popen[str]], None]) -> str:
    """``ecs-sim run`` of a sleeping task in its own process, ended by ``stop`` once its task cgroup
    exists; returns the owner id of that simulator."""
    client = docker_client()
    folder = task_folder(tmp_path, taskdef(container(command=["sleep", "60"])))
    process = spawn_cli("run", str(folder))
    try:
        owner = network_of_process(client, process.pid).removeprefix(NETWORK_PREFIX)
        wait_for(lambda: running_containers(client, process.pid), 60, "the task container to run")
        assert cgroup_dirs(task_cgroup.owner_path(owner))
        stop(process)
    finally:
        process.kill()
    return owner


def test_sigint_of_run_leaves_no_cgroup(tmp_path: Path) -> None:
    def interrupt(process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGINT)
        stderr = process.communicate(timeout=90)[1]
        assert process.returncode == 130 and "Traceback" not in stderr, stderr  # 130: interrupted

    owner = run_in_cli(tmp_path, interrupt)
    assert not cgroup_dirs(task_cgroup.owner_path(owner))


def test_the_cgroups_of_a_killed_simulator_are_reaped_at_the_next_start(tmp_path: Path) -> None:
    def kill(process: subprocess.Popen[str]) -> None:
        process.kill()  # SIGKILL: no handler runs
        process.communicate(timeout=30)

    owner = run_in_cli(tmp_path, kill)
    with Simulator(WORLD):  # its reaper removes the killed one's containers, then their cgroups
        pass
    assert not cgroup_dirs(task_cgroup.owner_path(owner))
