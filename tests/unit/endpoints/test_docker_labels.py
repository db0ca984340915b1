"""Ownership labels (a reaper must only ever judge owners it can see to be dead) and subnet choice."""

from __future__ import annotations

import os
import subprocess
import sys

from simulator.docker import labels
from simulator.docker.network import specific_routes


def exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_owner_labels_name_this_process():
    owned = labels.owner_labels("abc123")
    assert owned[labels.MANAGED] == "true"
    assert owned[labels.OWNER] == "abc123"
    assert owned[labels.PID] == str(os.getpid())
    assert owned[labels.PROCESS_START] == labels.process_start_time(os.getpid())


def test_live_owner_is_not_dead():
    assert not labels.owner_is_dead(labels.owner_labels("x"))


def test_exited_owner_is_dead():
    assert labels.owner_is_dead({**labels.owner_labels("x"), labels.PID: str(exited_pid())})


def test_zombie_owner_is_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: a zombie
        assert labels.process_start_time(child.pid) is None
        assert labels.owner_is_dead({**labels.owner_labels("x"), labels.PID: str(child.pid)})
    finally:
        child.wait()


def test_reused_pid_is_recognised_by_its_start_time():
    assert labels.owner_is_dead({**labels.owner_labels("x"), labels.PROCESS_START: "1"})


def test_owner_in_another_pid_namespace_is_never_judged():
    foreign = {
        **labels.owner_labels("x"),
        labels.PID: str(exited_pid()),
        labels.PID_NAMESPACE: "other/pid:[1]",
    }
    assert not labels.owner_is_dead(foreign)


def test_unreadable_pid_is_never_judged():
    assert not labels.owner_is_dead({labels.MANAGED: "true", labels.PID: "not-a-pid"})


ROUTE_TABLE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0000FEA9\t00000000\t0001\t0\t0\t1000\t0000FFFF\t0\t0\t0
wlan0\t00ABFEA9\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_only_routes_as_specific_as_a_task_network_block_a_subnet():
    # The default route and a 169.254.0.0/16 link-local route do not; 169.254.171.0/24 on wlan0 does.
    assert [str(route) for route in specific_routes(ROUTE_TABLE)] == ["169.254.171.0/24"]
