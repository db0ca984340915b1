"""Task cgroups: a task's `cpu`/`memory` limit the task as a whole, as the ECS agent's task cgroup does.

The agent (``agent/taskresource/cgroup``; ``Task.BuildCgroupRoot``/``BuildLinuxResourceSpec`` in
``agent/api/task/task_linux.go``) makes one cgroup per task (``/ecs/<task-id>`` on cgroup v1), sets the
task memory as its memory limit and the task cpu as a CFS quota over a 100 ms period, and creates the
task's containers with it as their ``CgroupParent``: containers without a ``memory`` of their own share
the task's memory. ecs-sim does the same under ``/ecs-sim/<owner-id>/<task-id>``, so the reaper finds
what a dead simulator left by its owner id.

That needs what the agent needs: Docker's cgroupfs driver, and the daemon's cgroup filesystem writable
here. Otherwise (the systemd driver, a daemon behind tcp:// or ssh://, a read-only ``/sys/fs/cgroup``)
the task-level cap is applied to each container instead, with one warning per simulator saying why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from docker.errors import DockerException

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "ecs-sim"  # every simulator's task cgroups, as /ecs holds the agent's
CPU_PERIOD_US = 100_000  # the agent's ECS_CGROUP_CPU_PERIOD default: 100 ms
_CPU_UNITS_PER_VCPU = 1024
_MIB = 1024 * 1024
_UNIX_SOCKET_URL = "http+docker://localhost"  # docker-py's base URL for a daemon on a Unix socket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """The task-level limits: ``cpu`` units (1024 per vCPU) and ``memory`` MiB; None when unset."""

    cpu_units: int | None = None
    memory_mib: int | None = None

    def __bool__(self) -> bool:
        return bool(self.cpu_units or self.memory_mib)


# --- the cgroup filesystem ----------------------------------------------------------------------
def cgroup_version(root: Path = CGROUP_ROOT) -> int | None:
    """2 for the unified hierarchy, 1 for one mount per controller, None without a memory controller."""
    if (root / "cgroup.controllers").is_file():
        return 2
    if (root / "memory" / "cgroup.procs").is_file():
        return 1
    return None


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """Where a container gets a cgroup: on v1 every mounted hierarchy (``name=systemd`` and a hybrid's
    ``unified`` too: runc makes the container's path in each), once each (``cpu`` may link to
    ``cpu,cpuacct``); on v2 the root."""
    if cgroup_version(root) == 2:
        return [root]
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    return [e for e in entries if not e.is_symlink() and (e / "cgroup.procs").is_file()]


def owner_path(owner_id: str) -> str:
    """The cgroup of one simulator's task cgroups, relative to a hierarchy's root."""
    return f"{PARENT}/{owner_id}"


def task_path(owner_id: str, task_id: str) -> str:
    """The task cgroup relative to a hierarchy's root; with a leading slash it is Docker's CgroupParent."""
    return f"{owner_path(owner_id)}/{task_id}"


def write_limits(relative: str, limits: Limits, root: Path = CGROUP_ROOT) -> None:
    """Make the cgroup (if it is not there) and set its limits; OSError when the filesystem refuses."""
    if cgroup_version(root) == 2:
        _write_v2(root, relative, limits)
    else:
        _write_v1(root, relative, limits)


def _write_v1(root: Path, relative: str, limits: Limits) -> None:
    memory, cpu = root / "memory" / relative, root / "cpu" / relative
    for folder in (memory, cpu):
        folder.mkdir(parents=True, exist_ok=True)
    if limits.memory_mib:
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mib * _MIB))
    if limits.cpu_units:
        (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(_quota_us(limits.cpu_units)))


def _write_v2(root: Path, relative: str, limits: Limits) -> None:
    path = root / relative
    path.mkdir(parents=True, exist_ok=True)
    wanted = [name for name, used in (("memory", limits.memory_mib), ("cpu", limits.cpu_units)) if used]
    # A controller's files exist in a cgroup only when every ancestor delegates it; the task cgroup
    # delegates it too, so containers' own limits apply below it.
    folder = root
    for part in (*Path(relative).parts, None):
        control = folder / "cgroup.subtree_control"
        enabled = control.read_text().split()
        for name in wanted:
            if name not in enabled:
                control.write_text(f"+{name}")
        if part is not None:
            folder = folder / part
    if limits.memory_mib:
        (path / "memory.max").write_text(str(limits.memory_mib * _MIB))
    if limits.cpu_units:
        (path / "cpu.max").write_text(f"{_quota_us(limits.cpu_units)} {CPU_PERIOD_US}")


def _quota_us(cpu_units: int) -> int:
    return cpu_units * CPU_PERIOD_US // _CPU_UNITS_PER_VCPU


def remove(relative: str, root: Path = CGROUP_ROOT) -> list[str]:
    """Remove the cgroup and every cgroup below it from every hierarchy, deepest first (idempotent).
    Returns what could not be removed (a process still in it) as "<path>: <reason>"."""
    left = []
    for hierarchy in hierarchies(root):
        top = hierarchy / relative
        if not top.is_dir():
            continue
        folders = [Path(d) for d, _, _ in os.walk(top, topdown=False)]
        for folder in folders:
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass  # removed meanwhile: another simulator's reaper, or runc
            except OSError as err:
                left.append(f"{folder}: {err.strerror}")
    return left


def owners(root: Path = CGROUP_ROOT) -> set[str]:
    """The owner ids that have a directory under /ecs-sim in any hierarchy."""
    found: set[str] = set()
    for hierarchy in hierarchies(root):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            found.update(p.name for p in (hierarchy / PARENT).iterdir() if p.is_dir())
    return found


# --- whether the daemon's containers can be put in them -----------------------------------------
def daemon_is_local(client: docker.DockerClient) -> bool:
    """A daemon on a Unix socket shares this machine's cgroup filesystem (tcp:// and ssh:// do not)."""
    return bool(client.api.base_url == _UNIX_SOCKET_URL)


def unusable_because(client: docker.DockerClient, root: Path = CGROUP_ROOT) -> str | None:
    """Why task cgroups cannot be used with this daemon, or None when they can."""
    if not daemon_is_local(client):
        where = os.environ.get("DOCKER_HOST") or client.api.base_url
        return f"the Docker daemon at {where} is not on this machine, so its cgroups cannot be written"
    version = cgroup_version(root)
    if version is None:
        return f"no cgroup filesystem with a memory controller is mounted at {root}"
    try:
        info = client.info()
    except (DockerException, requests.RequestException) as err:
        return f"`docker info` failed: {err}"
    driver = info.get("CgroupDriver")
    if driver != "cgroupfs":
        return f"the Docker daemon uses the {driver} cgroup driver (task cgroups need cgroupfs)"
    daemon_version = str(info.get("CgroupVersion") or version)
    if daemon_version != str(version):
        return f"the Docker daemon uses cgroup v{daemon_version}, but {root} is cgroup v{version}"
    writable = [root] if version == 2 else [root / "memory", root / "cpu"]
    for folder in writable:
        if not os.access(folder, os.W_OK):
            return f"{folder} is missing or not writable by this process"
    return None


class TaskCgroups:
    """The task cgroups of one simulator (``/ecs-sim/<owner-id>/<task-id>``)."""

    def __init__(self, client: docker.DockerClient, owner_id: str, root: Path = CGROUP_ROOT) -> None:
        self._client = client
        self._owner = owner_id
        self._root = root
        self._lock = threading.Lock()
        self._checked = False
        self._unusable: str | None = None  # why the cap goes on each container instead
        self._made = False

    def check_in_background(self) -> None:
        """Find out whether the daemon allows task cgroups while the simulator starts: `docker info`
        takes about 20 ms, which the first task would wait for otherwise."""
        threading.Thread(target=self._usable, name="ecs-sim-cgroup-check", daemon=True).start()

    def create(self, task_id: str, limits: Limits) -> str | None:
        """Make the task's cgroup with ``limits``: its path, Docker's CgroupParent for the task's
        containers; None when there is nothing to limit or the limits must go on each container."""
        if not limits or not self._usable():
            return None
        relative = task_path(self._owner, task_id)
        self._made = True
        try:
            write_limits(relative, limits, self._root)
        except OSError as err:
            remove(relative, self._root)
            self._fall_back(f"making the task cgroup failed: {err.filename}: {err.strerror}")
            return None
        return f"/{relative}"

    def remove(self, task_id: str) -> None:
        """After the task's containers are removed (a cgroup with a process in it stays)."""
        if self._made:
            self._report(remove(task_path(self._owner, task_id), self._root))

    def close(self) -> None:
        """After every container of the simulator is removed: its /ecs-sim/<owner-id> goes."""
        if self._made:
            self._report(remove(owner_path(self._owner), self._root))

    def _usable(self) -> bool:
        with self._lock:
            if not self._checked:
                self._checked = True
                why = unusable_because(self._client, self._root)
                if why is not None:
                    self._fall_back(why)
            return self._unusable is None

    def _fall_back(self, why: str) -> None:
        if self._unusable is None:
            self._unusable = why
            log.warning(
                "ecs-sim: task-level cpu/memory are applied to each container, not to the task as a "
                "whole: %s",
                why,
            )

    @staticmethod
    def _report(left: list[str]) -> None:
        if left:  # the reaper of the next simulator start removes it
            log.warning("ecs-sim: task cgroups left behind: %s", "; ".join(left))
