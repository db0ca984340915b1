"""Removing what crashed or killed simulators left behind: containers, networks, volumes, NAT rules,
task cgroups.

Called at every simulator start, so a ``kill -9`` costs nothing but the time until the next start.
Sweeps on one host take turns: two simulators starting together would otherwise split one dead
owner's leftovers between them, one removing a network while the other still removes its rules.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import docker
from docker.errors import APIError, NotFound

from . import iptables, task_cgroup
from .labels import MANAGED_FILTER, OWNER, owner_is_dead
from .network import remove_network


@dataclass
class Reaped:
    """Names (or ids) of what :func:`reap_leftovers` removed."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)  # /ecs-sim/<owner-id>
    failed: list[str] = field(default_factory=list)  # "<what>: <Docker's reason>", left for the next start


def _remove(reaped: Reaped, done: list[str], name: str, remove: Callable[[], None]) -> None:
    """One leftover; a failure must not stop the simulator from starting, so it is only recorded."""
    try:
        remove()
    except NotFound:
        return  # another simulator's reaper was faster
    except APIError as err:
        reaped.failed.append(f"{name}: {err.explanation or err}")
        return
    done.append(name)


_SWEEP_LOCK_PATH = os.path.join(tempfile.gettempdir(), "ecs-sim-reaper.lock")
_sweep_turn = threading.RLock()
_sweeps_held = 0


@contextmanager
def exclusive_sweeps() -> Iterator[None]:
    """No other process on this host sweeps until the block ends; this process's sweeps may nest."""
    global _sweeps_held
    with _sweep_turn:  # threads of this process queue here; a nested block of the holder passes
        lock_file = None if _sweeps_held else _lock_host_sweeps()
        _sweeps_held += 1
        try:
            yield
        finally:
            _sweeps_held -= 1
            if lock_file is not None:
                os.close(lock_file)  # releases the flock


def _lock_host_sweeps() -> int | None:
    """The host-wide sweep lock, held while the returned descriptor stays open."""
    try:
        # read-only is enough for flock, so a lock file another user created serves this one too
        lock_file = os.open(_SWEEP_LOCK_PATH, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return None  # unusable lock file: sweep anyway, concurrent removals are tolerated
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
    except BaseException:  # Ctrl-C while waiting for the turn
        os.close(lock_file)
        raise
    return lock_file


def reap_leftovers(client: docker.DockerClient) -> Reaped:
    """Remove managed objects whose owner process is dead, and rules whose network no longer exists."""
    with exclusive_sweeps():
        return _sweep(client)


def _sweep(client: docker.DockerClient) -> Reaped:
    reaped = Reaped()
    # Rules first: a rule listed now was added after its network was created, so if the network is
    # missing from the list taken afterwards it is really gone, not just being created.
    rules = iptables.list_owned()
    # Likewise task cgroups: a simulator makes its network before any, so an owner of one listed now
    # that has no Docker object in the lists below is gone.
    cgroup_owners = task_cgroup.owners() if task_cgroup.daemon_is_local(client) else set()
    live: set[str] = set()

    # ignore_removed: a live simulator may remove its container between the listing and the inspect
    for container in client.containers.list(all=True, filters=MANAGED_FILTER, ignore_removed=True):
        if owner_is_dead(container.labels):
            _remove(reaped, reaped.containers, container.name, partial(container.remove, force=True, v=True))
        else:
            live.add(container.labels.get(OWNER, ""))
    for network in client.networks.list(filters=MANAGED_FILTER):
        labels = network.attrs.get("Labels") or {}
        if owner_is_dead(labels):
            _remove(reaped, reaped.networks, network.name, partial(remove_network, client, network.id))
        else:
            live.add(labels.get(OWNER, ""))
    for volume in client.volumes.list(filters=MANAGED_FILTER):
        labels = volume.attrs.get("Labels") or {}
        if owner_is_dead(labels):
            _remove(reaped, reaped.volumes, volume.name, partial(volume.remove, force=True))
        else:
            live.add(labels.get(OWNER, ""))

    existing = {network["Name"] for network in client.api.networks()}
    for rule in iptables.delete([rule for rule in rules if rule.network_name not in existing]):
        reaped.rules.append(f"{rule.table} {rule.chain} {rule.network_name}")
    for owner in sorted(cgroup_owners - live):  # after their containers went: rmdir needs them gone
        left = task_cgroup.remove_owner(owner)
        reaped.failed.extend(left)
        if not left:
            reaped.cgroups.append(f"/{task_cgroup.owner_path(owner)}")
    return reaped
