"""A simulator run by a docker group member, not root: the host helper container makes and removes the
NAT rules and hands the simulator its task cgroup folder; tasks reach 169.254.170.2 and are limited as
a whole all the same, and nothing is left after it.

The user is ``nobody`` with the docker group, made with setpriv (so the test runs wherever the suite
does, as root in CI); it keeps CAP_DAC_READ_SEARCH only to read this checkout and Python where root
installed them.
"""

from __future__ import annotations

import grp
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import docker
import pytest
from test_reliability_support import (
    WORLD,
    container,
    nothing,
    of_process,
    rules_of,
    task_folder,
    taskdef,
    wait_for,
)

from simulator.docker import docker_client, task_cgroup
from simulator.docker.host_helper import HELPER_PREFIX, HostHelper

pytestmark = pytest.mark.docker


def as_nobody(*command: str, in_docker_group: bool = True) -> list[str]:
    """``command`` as ``nobody`` (in the docker group unless told not), holding no capability but reading
    any file."""
    groups = f"--groups={grp.getgrnam('docker').gr_gid}" if in_docker_group else "--clear-groups"
    return [
        "setpriv", "--reuid=65534", "--regid=65534", groups,
        "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--", *command,
    ]  # fmt: skip


def user_environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "400"}


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


def test_a_task_gets_its_credentials_through_forwards_the_helper_made(client, tmp_path: Path) -> None:
    fetch = 'wget -q -O - "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"'
    folder = task_folder(tmp_path / "task", taskdef(container(command=["sh", "-c", fetch])))
    process = subprocess.Popen(
        as_nobody(sys.executable, "-m", "simulator", "run", str(folder)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(tmp_path),
    )
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr
    assert '"RoleArn":"arn:aws:iam::111122223333:role/app-task-role"' in (stdout + stderr).replace(" ", "")
    network = re.search(r"task network (ecs-sim-\w+)", stdout + stderr)
    assert network, stdout + stderr
    # setpriv execs the simulator: the pid its labels record is this one.
    assert nothing(of_process(client, process.pid)) and not rules_of(network[1])


TASK_IN_ITS_CGROUP = textwrap.dedent(
    """
    import json, os, sys, time
    from simulator import Simulator
    from simulator.docker import task_cgroup
    world, definition = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    with Simulator(world, launch_type="EC2") as sim:
        run = sim.start_task(definition)
        deadline = time.monotonic() + 60
        while run.task.last_status.value not in ("RUNNING", "STOPPED") and time.monotonic() < deadline:
            time.sleep(0.05)
        memory = task_cgroup.CGROUP_ROOT / "memory"
        task = memory / task_cgroup.task_path(sim.owner_id, run.task_id)
        seen = {
            "uid": os.getuid(),
            "owner": sim.owner_id,
            "owner_folder_uid": (memory / task_cgroup.owner_path(sim.owner_id)).stat().st_uid,
            "task_memory_limit": int((task / "memory.limit_in_bytes").read_text()),
            "processes_in_task": [d.name for d in task.iterdir() if d.is_dir()],
        }
        run.stop()
        run.wait(60)
    print(json.dumps(seen))
    """
)


def test_a_task_is_limited_as_a_whole_in_the_cgroup_folder_the_helper_handed_over(tmp_path: Path) -> None:
    assert task_cgroup.cgroup_version() == 1, "this test reads cgroup v1 files"
    definition = taskdef(container(command=["sleep", "60"]), requiresCompatibilities=["EC2"], memory="96")
    done = subprocess.run(
        as_nobody(sys.executable, "-c", TASK_IN_ITS_CGROUP, json.dumps(WORLD), json.dumps(definition)),
        capture_output=True,
        text=True,
        timeout=180,
        env=user_environment(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "applied to each container" not in done.stderr  # no fallback
    seen = json.loads(done.stdout)
    assert seen["uid"] == 65534 and seen["owner_folder_uid"] == 65534
    assert seen["task_memory_limit"] == 96 * 1024 * 1024
    assert len(seen["processes_in_task"]) == 1  # the container's cgroup, below the task's
    # The folder is removed when the simulator stops, though /ecs-sim is root's.
    assert not [h for h in task_cgroup.hierarchies() if (h / task_cgroup.owner_path(seen["owner"])).exists()]


KILLED_WITH_A_HELPER = textwrap.dedent(
    """
    import os, sys
    from simulator.docker import iptables
    iptables.list_owned()  # starts the helper: this process may not run iptables itself
    print(os.getpid(), flush=True)
    sys.stdin.read()  # until the test kills it
    """
)


def test_the_helper_goes_with_its_process_even_on_kill_9(client, tmp_path: Path) -> None:
    process = subprocess.Popen(
        as_nobody(sys.executable, "-c", KILLED_WITH_A_HELPER),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=user_environment(tmp_path),
    )
    pid = int(process.stdout.readline())
    [helper] = of_process(client, pid)["containers"]
    assert helper.startswith(HELPER_PREFIX)
    process.kill()
    process.communicate(timeout=30)
    # No reaper runs here: the helper ends by itself, its stdin closed with the process.
    wait_for(lambda: nothing(of_process(client, pid)), 30, "the helper container to go")


def helpers_of_this_process(client: docker.DockerClient) -> list[str]:
    return [name for name in of_process(client, os.getpid())["containers"] if name.startswith(HELPER_PREFIX)]


def test_the_helper_runs_a_script_on_the_host_and_is_gone_after_close(client) -> None:
    helper = HostHelper(client)
    try:
        listing = helper.run("iptables -w -t nat -S PREROUTING")
        failing = helper.run("cat /no/such/file")
        assert len(helpers_of_this_process(client)) == 1
    finally:
        helper.close()
    assert listing[0] == 0 and listing[1].startswith("-P PREROUTING ")
    assert failing[0] != 0 and "/no/such/file" in failing[2] and failing[1] == ""
    assert helpers_of_this_process(client) == []  # close() returns once it is removed


def test_a_user_outside_the_docker_group_is_told_to_join_it(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "simulator", "run", "sample_tasks/hello-both-roles"]
    done = subprocess.run(
        as_nobody(*run, in_docker_group=False),
        capture_output=True,
        text=True,
        timeout=120,
        env=user_environment(tmp_path),
    )
    assert done.returncode == 69 and "Traceback" not in done.stderr
    assert (
        "permission denied on the Docker engine at unix:///var/run/docker.sock: add this user to the docker group"
        in done.stderr
    )


def test_a_helper_removed_from_outside_is_replaced(client) -> None:
    helper = HostHelper(client)
    try:
        assert helper.run("true")[0] == 0
        [first] = helpers_of_this_process(client)
        client.containers.get(first).remove(force=True)  # `docker rm -f` by someone cleaning up
        assert helper.run("iptables -w -t nat -S PREROUTING")[0] == 0
        replacement = helpers_of_this_process(client)
        assert len(replacement) == 1 and replacement != [first]
    finally:
        helper.close()
    assert helpers_of_this_process(client) == []
