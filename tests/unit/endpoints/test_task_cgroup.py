"""Task cgroup files on cgroup v1 and v2, written into a fake cgroup root; when the daemon rules them out.

The real filesystem (cgroup v1 on the test machine) is exercised by tests/integration/test_task_cgroup.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from simulator.docker import task_cgroup
from simulator.docker.task_cgroup import Limits, TaskCgroups

V1_CONTROLLERS = ("memory", "cpu,cpuacct", "pids", "systemd")


def fake_v1(root: Path) -> Path:
    """Hierarchies as a cgroup v1 host mounts them, with `cpu` and `cpuacct` linking to `cpu,cpuacct`."""
    for name in V1_CONTROLLERS:
        (root / name).mkdir(parents=True)
        (root / name / "cgroup.procs").write_text("")
    (root / "cpu").symlink_to("cpu,cpuacct")
    (root / "cpuacct").symlink_to("cpu,cpuacct")
    return root


def fake_v2(root: Path, subtree: str = "") -> Path:
    """A unified hierarchy: mkdir gives a cgroup its files, as the kernel does (a fake directory has none)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text(subtree)
    return root


def v2_cgroup(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cgroup.subtree_control").write_text("")


class FakeClient:
    """What TaskCgroups asks of docker-py: the daemon's address and `docker info`."""

    def __init__(self, base_url: str = "http+docker://localhost", **info: Any) -> None:
        self.api = type("Api", (), {"base_url": base_url})()
        self._info = {"CgroupDriver": "cgroupfs", "CgroupVersion": "1", **info}
        self.info_calls = 0

    def info(self) -> dict[str, Any]:
        self.info_calls += 1
        return self._info


def test_v1_memory_limit_and_cfs_quota(tmp_path: Path) -> None:
    root = fake_v1(tmp_path)
    relative = task_cgroup.task_path("owner1", "task1")
    task_cgroup.write_limits(relative, Limits(cpu_units=512, memory_mib=64), root)
    assert (root / "memory" / relative / "memory.limit_in_bytes").read_text() == str(64 * 1024 * 1024)
    cpu = root / "cpu,cpuacct" / relative
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000"  # the agent's 100 ms
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000"  # 512 units = half a vCPU


def test_v1_writes_only_the_limits_the_task_has(tmp_path: Path) -> None:
    root = fake_v1(tmp_path)
    relative = task_cgroup.task_path("owner1", "task1")
    task_cgroup.write_limits(relative, Limits(memory_mib=128), root)
    task_cgroup.write_limits(relative, Limits(memory_mib=128), root)  # idempotent
    assert (root / "memory" / relative / "memory.limit_in_bytes").read_text() == str(128 * 1024 * 1024)
    assert not (root / "cpu" / relative / "cpu.cfs_quota_us").exists()


def test_v2_enables_the_controllers_down_to_the_task_and_writes_max_files(tmp_path: Path) -> None:
    root = fake_v2(tmp_path / "cg", subtree="cpu\n")  # cpu delegated already: not written again
    for folder in ("ecs-sim", "ecs-sim/owner1", "ecs-sim/owner1/task1"):
        v2_cgroup(root / folder)
    relative = task_cgroup.task_path("owner1", "task1")
    task_cgroup.write_limits(relative, Limits(cpu_units=256, memory_mib=512), root)
    # A fake file keeps the last write; the kernel's adds each "+controller" to the set.
    assert (root / "cgroup.subtree_control").read_text() == "+memory"
    for folder in ("ecs-sim", "ecs-sim/owner1", "ecs-sim/owner1/task1"):
        assert (root / folder / "cgroup.subtree_control").read_text() == "+cpu", folder
    assert (root / relative / "memory.max").read_text() == str(512 * 1024 * 1024)
    assert (root / relative / "cpu.max").read_text() == "25000 100000"


def test_v2_memory_only(tmp_path: Path) -> None:
    root = fake_v2(tmp_path / "cg", subtree="cpu memory\n")
    for folder in ("ecs-sim", "ecs-sim/o", "ecs-sim/o/t"):
        v2_cgroup(root / folder)
    task_cgroup.write_limits("ecs-sim/o/t", Limits(memory_mib=64), root)
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory\n"
    assert (root / "ecs-sim/o/t/memory.max").read_text() == str(64 * 1024 * 1024)
    assert not (root / "ecs-sim/o/t/cpu.max").exists()


def test_cgroup_version_and_hierarchies(tmp_path: Path) -> None:
    v1 = fake_v1(tmp_path / "v1")
    assert task_cgroup.cgroup_version(v1) == 1
    # each hierarchy once (not through the cpu/cpuacct links), named=systemd included
    assert [p.name for p in task_cgroup.hierarchies(v1)] == ["cpu,cpuacct", "memory", "pids", "systemd"]
    v2 = fake_v2(tmp_path / "v2")
    assert task_cgroup.cgroup_version(v2) == 2 and task_cgroup.hierarchies(v2) == [v2]
    assert task_cgroup.cgroup_version(tmp_path / "none") is None
    assert task_cgroup.hierarchies(tmp_path / "none") == []


def test_remove_takes_the_cgroup_out_of_every_hierarchy_deepest_first(tmp_path: Path) -> None:
    root = fake_v1(tmp_path)
    # runc's own directories: the task's path in every hierarchy, a container cgroup left in one
    for name in ("memory", "cpu,cpuacct", "pids", "systemd"):
        (root / name / "ecs-sim/owner1/task1").mkdir(parents=True)
    (root / "pids/ecs-sim/owner1/task1/container-id").mkdir()
    (root / "memory/ecs-sim/owner1/task2").mkdir()
    assert task_cgroup.remove("ecs-sim/owner1/task1", root) == []
    assert not list(root.glob("*/ecs-sim/owner1/task1"))
    assert (root / "memory/ecs-sim/owner1/task2").is_dir()  # another task of the simulator stays
    assert task_cgroup.owners(root) == {"owner1"}
    assert task_cgroup.remove("ecs-sim/owner1/task1", root) == []  # idempotent
    assert task_cgroup.remove(task_cgroup.owner_path("owner1"), root) == []
    assert task_cgroup.owners(root) == set()
    assert (root / "memory/ecs-sim").is_dir()  # the shared parent stays, as the agent's /ecs does


def test_remove_reports_what_stays(tmp_path: Path) -> None:
    root = fake_v1(tmp_path)
    busy = root / "memory/ecs-sim/o/t"
    busy.mkdir(parents=True)
    (busy / "tasks").write_text("1234\n")  # a fake's stand-in for a cgroup the kernel will not remove
    left = task_cgroup.remove("ecs-sim/o/t", root)
    assert len(left) == 1 and left[0].startswith(f"{busy}: ")


def test_task_cgroups_create_and_remove(tmp_path: Path) -> None:
    root = fake_v1(tmp_path)
    client = FakeClient()
    cgroups = TaskCgroups(client, "owner1", root)  # type: ignore[arg-type]
    assert cgroups.create("task0", Limits()) is None  # no task-level limit: no cgroup, no `docker info`
    assert client.info_calls == 0
    cgroups.check_in_background()  # as the simulator starts
    assert cgroups.create("task1", Limits(cpu_units=256, memory_mib=64)) == "/ecs-sim/owner1/task1"
    assert cgroups.create("task2", Limits(memory_mib=64)) == "/ecs-sim/owner1/task2"
    assert client.info_calls == 1  # asked once per simulator, whoever asks first
    assert (root / "cpu/ecs-sim/owner1/task1/cpu.cfs_quota_us").read_text() == "25000"
    for name in ("cpu.cfs_period_us", "cpu.cfs_quota_us"):
        (root / "cpu/ecs-sim/owner1/task1" / name).unlink()  # the kernel's files go with the cgroup
    (root / "memory/ecs-sim/owner1/task1/memory.limit_in_bytes").unlink()
    cgroups.remove("task1")
    assert not list(root.glob("*/ecs-sim/owner1/task1"))
    (root / "memory/ecs-sim/owner1/task2/memory.limit_in_bytes").unlink()
    cgroups.close()
    assert task_cgroup.owners(root) == set()


@pytest.mark.parametrize(
    ("client", "why"),
    [
        (
            FakeClient("http://127.0.0.1:2375"),
            "the Docker daemon at http://127.0.0.1:2375 is not on this machine",
        ),
        (FakeClient("http+docker://ssh"), "is not on this machine"),
        (FakeClient(CgroupDriver="systemd"), "the Docker daemon uses the systemd cgroup driver"),
        (FakeClient(CgroupVersion="2"), "the Docker daemon uses cgroup v2, but"),
    ],
    ids=["tcp", "ssh", "systemd", "version"],
)
def test_falls_back_to_per_container_caps_with_one_warning(
    tmp_path: Path, client: FakeClient, why: str, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    cgroups = TaskCgroups(client, "owner1", fake_v1(tmp_path))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="simulator.docker.task_cgroup"):
        assert cgroups.create("task1", Limits(memory_mib=64)) is None
        assert cgroups.create("task2", Limits(memory_mib=64)) is None
    assert len(caplog.records) == 1, caplog.text
    message = caplog.records[0].getMessage()
    assert "applied to each container, not to the task as a whole" in message and why in message
    assert task_cgroup.owners(tmp_path) == set()


def test_falls_back_without_a_cgroup_filesystem_or_write_access(tmp_path: Path, monkeypatch) -> None:
    assert "no cgroup filesystem" in str(task_cgroup.unusable_because(FakeClient(), tmp_path))  # type: ignore[arg-type]
    root = fake_v1(tmp_path / "ro")
    assert task_cgroup.unusable_because(FakeClient(), root) is None  # type: ignore[arg-type]
    monkeypatch.setattr(task_cgroup.os, "access", lambda path, mode: Path(path).name != "memory")
    assert (
        task_cgroup.not_writable_because(root)
        == f"{root / 'memory'} is missing or not writable by this process"
    )


def test_a_failed_write_falls_back_and_leaves_no_directory(tmp_path: Path, caplog) -> None:
    root = fake_v1(tmp_path)
    (root / "cpu,cpuacct/ecs-sim").write_text("")  # where the task's cpu cgroup would go: not a directory
    cgroups = TaskCgroups(FakeClient(), "owner1", root)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="simulator.docker.task_cgroup"):
        assert cgroups.create("task1", Limits(cpu_units=256)) is None
    assert (
        f"making the task cgroup failed: {root / 'cpu/ecs-sim/owner1/task1'}: Not a directory" in caplog.text
    )
    assert not (root / "memory/ecs-sim/owner1/task1").exists()  # made before the cpu one failed
    cgroups.close()
    assert not (root / "memory/ecs-sim/owner1").exists()


class ShellHelper:
    """The host helper, running its scripts with this machine's sh (on the fake root, as root here)."""

    def __init__(self, *, exit_code: int | None = None) -> None:
        self.scripts: list[str] = []
        self._exit_code = exit_code

    def run(self, script: str) -> tuple[int, str, str]:
        self.scripts.append(script)
        if self._exit_code is not None:
            return self._exit_code, "", "rmdir: failed to remove: Device or resource busy\n"
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


@pytest.fixture
def not_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A docker group member on a cgroup v1 host (the fake root): only what was handed over is writable."""
    root = fake_v1(tmp_path / "cgroup")
    helper = ShellHelper()
    monkeypatch.setattr(task_cgroup, "CGROUP_ROOT", root)
    monkeypatch.setattr(task_cgroup.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(task_cgroup.os, "access", lambda path, mode: "/ecs-sim/owner1" in str(path))
    monkeypatch.setattr(task_cgroup, "shared_helper", lambda: helper)
    return root, helper


def test_not_root_the_helper_hands_over_the_owner_cgroup_and_tasks_get_theirs(not_root) -> None:
    root, helper = not_root
    cgroups = TaskCgroups(FakeClient(), "owner1", root)  # type: ignore[arg-type]
    assert cgroups.create("task1", Limits(memory_mib=64)) == "/ecs-sim/owner1/task1"
    [script] = helper.scripts
    owned = [str(root / name / "ecs-sim/owner1") for name in ("cpu,cpuacct", "memory", "pids", "systemd")]
    assert (
        f"mkdir -p {' '.join(owned)}" in script
        and f"chown {os.getuid()}:{os.getgid()} {' '.join(owned)}" in script
    )
    assert (root / "memory/ecs-sim/owner1/task1/memory.limit_in_bytes").read_text() == str(64 * 1024 * 1024)


def test_not_root_a_refused_hand_over_falls_back_naming_both_reasons(not_root, caplog) -> None:
    root, helper = not_root
    helper._exit_code = 1
    cgroups = TaskCgroups(FakeClient(), "owner1", root)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="simulator.docker.task_cgroup"):
        assert cgroups.create("task1", Limits(memory_mib=64)) is None
    assert (
        f"{root / 'memory'} is missing or not writable by this process, and the host helper could not"
        in caplog.text
    )


def test_not_root_what_the_user_may_not_remove_the_helper_removes(not_root, monkeypatch) -> None:
    root, helper = not_root
    monkeypatch.setattr(task_cgroup, "remove", lambda relative, root: [f"/{relative}: Permission denied"])
    assert task_cgroup.remove_owner("owner1", root) == []
    [script] = helper.scripts
    assert f"{root / 'memory' / 'ecs-sim/owner1'}" in script and "-exec rmdir" in script
    helper._exit_code = 1
    assert task_cgroup.remove_owner("owner1", root) == [
        "/ecs-sim/owner1: rmdir: failed to remove: Device or resource busy"
    ]


def test_root_never_asks_the_helper(not_root, monkeypatch) -> None:
    root, helper = not_root
    monkeypatch.setattr(task_cgroup.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        task_cgroup, "remove", lambda relative, root: [f"/{relative}: Device or resource busy"]
    )
    assert task_cgroup.remove_owner("owner1", root) == ["/ecs-sim/owner1: Device or resource busy"]
    assert TaskCgroups(FakeClient(), "owner1", root).create("task1", Limits(memory_mib=64)) is None  # type: ignore[arg-type]
    assert helper.scripts == []


def test_v2_hand_over_delegates_the_controllers_down_to_the_owner(tmp_path: Path) -> None:
    root = fake_v2(tmp_path / "cg")
    script = task_cgroup.delegation_script("ecs-sim/owner1", 1000, 1000, root)
    top = root / "ecs-sim/owner1"
    assert script.splitlines() == [
        "set -e",
        f"mkdir -p {top}",
        f"echo '+memory +cpu' > {root / 'cgroup.subtree_control'}",
        f"echo '+memory +cpu' > {root / 'ecs-sim/cgroup.subtree_control'}",
        f"chown 1000:1000 {top} {top / 'cgroup.procs'} {top / 'cgroup.subtree_control'} {top / 'cgroup.threads'}",
    ]
