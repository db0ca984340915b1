"""A simulator without CAP_NET_ADMIN (a developer in the docker group, not root): the host's NAT rules
are made by a helper container, tasks reach 169.254.170.2 all the same, and nothing is left after it.

The capability is dropped with setpriv, so the test runs wherever the suite does (as root in CI)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import docker
import pytest
from test_reliability_support import (
    container,
    nothing,
    of_process,
    rules_of,
    task_folder,
    taskdef,
    wait_for,
)

from simulator.docker import docker_client
from simulator.docker.host_firewall import HELPER_PREFIX, IptablesInHelper

pytestmark = pytest.mark.docker

WITHOUT_NET_ADMIN = ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", "--"]


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client()


def test_a_task_gets_its_credentials_through_forwards_the_helper_made(client, tmp_path: Path) -> None:
    fetch = 'wget -q -O - "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"'
    folder = task_folder(tmp_path, taskdef(container(command=["sh", "-c", fetch])))
    process = subprocess.Popen(
        [*WITHOUT_NET_ADMIN, sys.executable, "-m", "simulator", "run", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "400"},
    )
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr
    assert '"RoleArn":"arn:aws:iam::111122223333:role/app-task-role"' in (stdout + stderr).replace(" ", "")
    network = re.search(r"task network (ecs-sim-\w+)", stdout + stderr)
    assert network, stdout + stderr
    # setpriv execs the simulator: the pid its labels record is this one.
    assert nothing(of_process(client, process.pid)) and not rules_of(network[1])


KILLED_WITH_A_HELPER = textwrap.dedent(
    """
    import os, sys
    from simulator.docker import iptables
    iptables.list_owned()  # starts the helper: this process may not run iptables itself
    print(os.getpid(), flush=True)
    sys.stdin.read()  # until the test kills it
    """
)


def test_the_helper_goes_with_its_process_even_on_kill_9(client) -> None:
    process = subprocess.Popen(
        [*WITHOUT_NET_ADMIN, sys.executable, "-c", KILLED_WITH_A_HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
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


def test_the_helper_runs_a_batch_with_each_command_s_own_result_and_is_gone_after_close(client) -> None:
    helper = IptablesInHelper(client)
    try:
        listing, bad = helper.run(
            [["-w", "-t", "nat", "-S", "PREROUTING"], ["-w", "-t", "nat", "-S", "NO-SUCH-CHAIN"]]
        )
        assert len(helpers_of_this_process(client)) == 1
    finally:
        helper.close()
    assert listing.returncode == 0 and listing.stdout.startswith("-P PREROUTING ")
    assert bad.returncode != 0 and "NO-SUCH-CHAIN" in bad.stderr and bad.stdout == ""
    assert helpers_of_this_process(client) == []  # close() returns once it is removed
