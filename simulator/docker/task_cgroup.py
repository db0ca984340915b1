"""Task cgroups: a task's `cpu`/`memory` limit the task as a whole, as the ECS agent's task cgroup does.

The agent (``agent/taskresource/cgroup``; ``Task.BuildCgroupRoot``/``BuildLinuxResourceSpec`` in
``agent/api/task/task_linux.go``) makes one cgroup per task (``/ecs/<task-id>`` on cgroup v1), sets the
task memory as its memory limit and the task cpu as a CFS quota over a 100 ms period, and creates the
task's containers with it as their ``CgroupParent``: containers without a ``memory`` of their own share
the task's memory. ecs-sim does the same under ``/ecs-sim/<owner-id>/<task-id>``, so the reaper finds
what a dead simulator left by its owner id.

That needs what the agent needs: Docker's cgroupfs driver, and the daemon's cgroup filesystem writable
here. A simulator that is not root has the host helper container (``host_helper``) make its
``/ecs-sim/<owner-id>`` and hand it over, as systemd delegates a subtree to a user, and remove it at
the end. Otherwise (the systemd driver, a daemon behind tcp:// or ssh://, a read-only
``/sys/fs/cgroup``) the task-level cap is applied to each container instead, with one warning per
simulator saying why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from docker.errors import DockerException

from ..errors import EnvironmentProblem
from .host_helper import shared_helper

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


def remove_owner(owner_id: str, root: Path = CGROUP_ROOT) -> list[str]:
    """:func:`remove` of a simulator's ``/ecs-sim/<owner-id>``. A process that is not root may not
    remove that folder itself (``/ecs-sim`` is root's): the host helper removes what is left."""
    relative = owner_path(owner_id)
    left = remove(relative, root)
    if left and _helper_stands_in(root):
        folders = " ".join(shlex.quote(str(hierarchy / relative)) for hierarchy in hierarchies(root))
        script = f'for f in {folders}; do [ ! -d "$f" ] || find "$f" -depth -type d -exec rmdir {{}} +; done'
        try:
            code, _, err = shared_helper().run(script)
        except EnvironmentProblem as problem:
            return [*left, str(problem)]
        return [f"/{relative}: {err.strip()}"] if code else []
    return left


def _helper_stands_in(root: Path) -> bool:
    """Whether the host helper does what this process may not: it is not root, and ``root`` is the
    host's own cgroup filesystem (the only one the helper reaches)."""
    return os.geteuid() != 0 and root == CGROUP_ROOT


def delegation_script(relative: str, uid: int, gid: int, root: Path = CGROUP_ROOT) -> str:
    """What the host helper runs to hand ``relative`` to ``uid``: made in every hierarchy and owned by
    the user, and on cgroup v2 with the memory and cpu controllers delegated down to it."""
    owner = f"{uid}:{gid}"
    if cgroup_version(root) == 2:
        top = root / relative
        parents = [root / parent for parent in reversed(Path(relative).parents)]  # root first
        lines = [f"mkdir -p {shlex.quote(str(top))}"]
        lines += [f"echo '+memory +cpu' > {shlex.quote(str(p / 'cgroup.subtree_control'))}" for p in parents]
        files = [top, *(top / name for name in ("cgroup.procs", "cgroup.subtree_control", "cgroup.threads"))]
        lines.append(f"chown {owner} {' '.join(shlex.quote(str(f)) for f in files)}")
    else:
        folders = [shlex.quote(str(hierarchy / relative)) for hierarchy in hierarchies(root)]
        lines = [f"mkdir -p {' '.join(folders)}", f"chown {owner} {' '.join(folders)}"]
    return "set -e\n" + "\n".join(lines) + "\n"


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
    """Why task cgroups cannot be used with this daemon, or None when they can (if the cgroup
    filesystem is writable: :func:`not_writable_because`)."""
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
    return None


def not_writable_because(root: Path = CGROUP_ROOT, relative: str = "") -> str | None:
    """Why this process cannot make task cgroups below ``relative``, or None when it can."""
    writable = [root] if cgroup_version(root) == 2 else [root / "memory", root / "cpu"]
    for folder in writable:
        if not os.access(folder / relative, os.W_OK):
            return f"{folder / relative} is missing or not writable by this process"
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
        self._hand_over_pending: str | None = None  # why /ecs-sim/<owner-id> must be handed over first
        self._delegated = False  # /ecs-sim/<owner-id> made by the host helper and handed to this user

    def check_in_background(self) -> None:
        """Find out whether the daemon allows task cgroups while the simulator starts: `docker info`
        takes about 20 ms, which the first task would wait for otherwise."""
        threading.Thread(target=self._check, name="ecs-sim-cgroup-check", daemon=True).start()

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
        if self._made or self._delegated:
            self._report(remove_owner(self._owner, self._root))

    def _check(self) -> None:
        with self._lock:
            if self._checked:
                return
            self._checked = True
            why = unusable_because(self._client, self._root)
            if why is None:
                why = not_writable_because(self._root)
                if why is not None and _helper_stands_in(self._root):
                    self._hand_over_pending, why = why, None
            if why is not None:
                self._fall_back(why)

    def _usable(self) -> bool:
        """Whether the task's limits go on a task cgroup. A hand-over by the host helper waits for the
        first task: before this simulator's network exists, a reaper starting meanwhile would take the
        folder for a dead simulator's."""
        self._check()
        with self._lock:
            if self._hand_over_pending is not None:
                why, self._hand_over_pending = self._hand_over_pending, None
                failure = self._hand_over(why)
                if failure is not None:
                    self._fall_back(failure)
            return self._unusable is None

    def _hand_over(self, why: str) -> str | None:
        """Have the host helper make /ecs-sim/<owner-id> this user's; None when it is, else why not."""
        relative = owner_path(self._owner)
        try:
            code, _, err = shared_helper().run(
                delegation_script(relative, os.getuid(), os.getgid(), self._root)
            )
        except EnvironmentProblem as problem:
            return f"{why}, and {problem}"
        self._delegated = True  # even half made: close() removes what there is
        if code:
            return f"{why}, and the host helper could not hand /{relative} over: {err.strip()}"
        return not_writable_because(self._root, relative)

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
