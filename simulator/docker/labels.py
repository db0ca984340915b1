"""Labels that mark every Docker object a simulator creates, so the next start can reap leftovers.

An object belongs to one simulator (``owner``) running as one process. The process is identified by
pid *and* its start time (pids are reused) *and* its pid namespace (a simulator inside a container
sees other pids), so a reaper never mistakes a live simulator's objects for a dead one's.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping

MANAGED = "io.ecs-sim.managed"
OWNER = "io.ecs-sim.owner"
PID = "io.ecs-sim.pid"
PROCESS_START = "io.ecs-sim.process-start"
PID_NAMESPACE = "io.ecs-sim.pid-namespace"

# `filters=` argument of docker's list calls that selects every object any simulator made.
MANAGED_FILTER: Mapping[str, list[str]] = {"label": [f"{MANAGED}=true"]}


def new_owner_id() -> str:
    """A short random id for one simulator instance; it names its network and labels its objects."""
    return secrets.token_hex(6)


def process_start_time(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat); None when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # fields[0] is field 3 (state); a zombie has exited already.
    return None if fields[0] == "Z" else fields[19]


def pid_namespace() -> str:
    """This process's pid namespace, qualified by host name (namespace inodes repeat across hosts)."""
    return f"{socket.gethostname()}/{os.readlink('/proc/self/ns/pid')}"


def owner_labels(owner_id: str) -> dict[str, str]:
    """Labels for a network, container or volume created by simulator ``owner_id`` in this process."""
    pid = os.getpid()
    return {
        MANAGED: "true",
        OWNER: owner_id,
        PID: str(pid),
        PROCESS_START: process_start_time(pid) or "",
        PID_NAMESPACE: pid_namespace(),
    }


def owner_is_dead(labels: Mapping[str, str]) -> bool:
    """True only when the labelled owner process has certainly exited.

    Objects from another pid namespace (or without a readable pid) are never judged dead: their
    owner may well be running where this process cannot see it.
    """
    if labels.get(PID_NAMESPACE, pid_namespace()) != pid_namespace():
        return False
    try:
        pid = int(labels[PID])
    except (KeyError, ValueError):
        return False
    started = process_start_time(pid)
    if started is None:
        return True
    recorded = labels.get(PROCESS_START)
    return bool(recorded) and recorded != started
