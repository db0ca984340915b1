"""Which awsvpc namespaces are kept for the next task, and which are removed (Docker faked)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from simulator.docker.containers import ContainerSpec, DockerStartError
from simulator.docker.sandboxes import SandboxPool


class FakeDriver:
    """Records the calls a pool makes; containers run until removed or ``kill``ed. Each has the files
    Docker shares with the containers joining it, in ``folder`` (None: where this process cannot see)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.running: dict[str, bool] = {}
        self.specs: dict[str, ContainerSpec] = {}
        self.removed: list[str] = []
        self.fail_start = False

    def create(self, spec: ContainerSpec) -> str:
        docker_id = f"id{len(self.specs)}"
        self.specs[docker_id] = spec
        self.running[docker_id] = False
        if self.folder is not None:
            for name in ("hosts", "resolv.conf", "hostname"):
                (self.folder / f"{docker_id}-{name}").write_text(f"{name} of {docker_id}\n")
        return docker_id

    def shared_file(self, docker_id: str, name: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{docker_id}-{name}"

    def start(self, docker_id: str) -> None:
        if self.fail_start:
            raise DockerStartError("Error response from daemon: no")
        self.running[docker_id] = True

    def inspect(self, docker_id: str) -> dict[str, Any]:
        where = self.folder or Path("/nonexistent/docker/containers")
        return {
            "Id": docker_id,
            "State": {"Running": self.running[docker_id]},
            "HostsPath": str(where / f"{docker_id}-hosts"),
            "ResolvConfPath": str(where / f"{docker_id}-resolv.conf"),
            "HostnamePath": str(where / f"{docker_id}-hostname"),
            # The address the task's ports are forwarded to: loopback, where the tests' servers listen.
            "NetworkSettings": {"Networks": {"net": {"IPAddress": "127.0.0.1"}}, "Ports": {}},
        }

    def remove(self, docker_id: str) -> None:
        self.removed.append(docker_id)
        del self.running[docker_id]


def member(*cap_add: str) -> ContainerSpec:
    return ContainerSpec(name="app", image="busybox", labels={}, network="net", cap_add=cap_add)


OWN = ContainerSpec(name="ecs-web-1-internalecspause-1", image="busybox", labels={}, network="net")


@pytest.fixture
def driver(tmp_path: Path) -> FakeDriver:
    return FakeDriver(tmp_path)


def pool(driver: FakeDriver, keep: int = 32) -> SandboxPool:
    return SandboxPool(driver, network="net", image="busybox", labels={"owner": "me"}, keep=keep)  # type: ignore[arg-type]


def test_a_clean_sandbox_is_lent_again(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    first = sandboxes.lease(OWN, containers=1)
    first.start()
    assert first.pooled and first.name.startswith("ecs-sim-sandbox-")
    assert driver.specs[first.docker_id].labels == {"owner": "me"}  # swept with the simulator
    first.release([member("SYS_PTRACE")], members_removed=True)
    second = sandboxes.lease(OWN, containers=1)
    second.start()
    assert second is first and len(driver.specs) == 1 and not driver.removed


def test_a_namespace_changing_capability_or_a_leftover_member_retires_the_sandbox(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    for members, removed in (
        ([member("NET_ADMIN")], True),
        ([member("CAP_SYS_ADMIN")], True),
        ([member()], False),
    ):
        sandbox = sandboxes.lease(OWN, containers=1)
        sandbox.start()
        sandbox.release(members, members_removed=removed)
        assert driver.removed[-1] == sandbox.docker_id and sandboxes.idle() == 0


def test_udp_ports_or_hosts_get_the_tasks_own_sandbox_removed_after(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    for own in (
        ContainerSpec(
            name="p", image="busybox", labels={}, network="net", ports={"80/tcp": None, "53/udp": None}
        ),
        ContainerSpec(name="h", image="busybox", labels={}, network="net", extra_hosts={"db": "10.0.0.1"}),
    ):
        assert sandboxes.lease(own, containers=1) is None  # the one container holds it itself
        sandbox = sandboxes.lease(own, containers=2)
        assert sandbox is not None and not sandbox.pooled and sandbox.spec is own
        sandbox.start()
        sandbox.release([member()], members_removed=True)
        assert driver.removed[-1] == sandbox.docker_id
    assert sandboxes.idle() == 0


def test_concurrent_tasks_get_separate_sandboxes_and_keep_is_bounded(driver: FakeDriver) -> None:
    sandboxes = pool(driver, keep=2)
    leased = [sandboxes.lease(OWN, containers=1) for _ in range(3)]
    for sandbox in leased:
        sandbox.start()
    assert len({s.docker_id for s in leased}) == 3
    for sandbox in leased:
        sandbox.release([member()], members_removed=True)
    assert sandboxes.idle() == 2 and driver.removed == [leased[2].docker_id]


def test_a_sandbox_stopped_from_outside_is_replaced(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    first = sandboxes.lease(OWN, containers=1)
    first.start()
    first.release([member()], members_removed=True)
    assert first.docker_id is not None
    driver.running[first.docker_id] = False  # docker kill
    second = sandboxes.lease(OWN, containers=1)
    second.start()
    assert second is not first and first.docker_id in driver.removed and driver.running[second.docker_id]


def test_a_sandbox_that_failed_to_start_is_never_lent(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    broken = sandboxes.lease(OWN, containers=1)
    driver.fail_start = True
    with pytest.raises(DockerStartError):
        broken.start()
    broken.release([], members_removed=True)
    assert broken.docker_id in driver.removed and sandboxes.idle() == 0


def test_close_removes_the_idle_and_whatever_comes_back_later(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    idle, busy = sandboxes.lease(OWN, containers=1), sandboxes.lease(OWN, containers=1)
    idle.start()
    busy.start()
    idle.release([member()], members_removed=True)
    sandboxes.close()
    assert driver.removed == [idle.docker_id]
    busy.release([member()], members_removed=True)  # a task that stopped after the simulator did
    assert driver.removed == [idle.docker_id, busy.docker_id] and sandboxes.idle() == 0


def test_prewarm_leaves_one_for_the_first_task_and_close_waits_for_it(driver: FakeDriver) -> None:
    sandboxes = pool(driver)
    sandboxes.prewarm()
    sandboxes.close()  # joins the prewarm: what it made is removed, nothing is left running
    assert list(driver.specs) == ["id0"] and driver.removed == ["id0"]
    warm = pool(driver)
    warm.prewarm()
    assert warm._prewarming is not None
    warm._prewarming.join()
    first = warm.lease(OWN, containers=1)
    assert first is not None and first.docker_id == "id1" and driver.running["id1"]


def test_a_prewarm_that_fails_leaves_nothing(driver: FakeDriver) -> None:
    driver.fail_start = True
    sandboxes = pool(driver)
    sandboxes.prewarm()
    assert sandboxes._prewarming is not None
    sandboxes._prewarming.join()
    assert sandboxes.idle() == 0 and driver.removed == ["id0"]


@pytest.mark.parametrize("name", ["hosts", "resolv.conf", "hostname"])
def test_a_task_that_wrote_a_shared_file_retires_the_sandbox(driver: FakeDriver, name: str) -> None:
    sandboxes = pool(driver)
    sandbox = sandboxes.lease(OWN, containers=1)
    assert sandbox is not None
    sandbox.start()
    assert sandbox.docker_id is not None
    with driver.shared_file(sandbox.docker_id, name).open("a") as shared:
        shared.write("169.254.170.9 added-by-the-task\n")  # Docker bind-mounts it writable into members
    sandbox.release([member()], members_removed=True)
    assert driver.removed == [sandbox.docker_id] and sandboxes.idle() == 0


def test_without_a_view_of_the_daemons_files_a_sandbox_is_never_lent_twice() -> None:
    driver = FakeDriver(None)  # a remote daemon: its files are not on this machine
    sandboxes = pool(driver)
    sandbox = sandboxes.lease(OWN, containers=1)
    assert sandbox is not None
    sandbox.start()
    sandbox.release([member()], members_removed=True)
    assert driver.removed == [sandbox.docker_id] and sandboxes.idle() == 0


def test_a_borrowed_sandbox_publishes_the_tasks_tcp_ports_while_the_task_runs(driver: FakeDriver) -> None:
    with socket.socket() as task_server:
        task_server.bind(("127.0.0.1", 0))
        task_server.listen()
        port = task_server.getsockname()[1]  # the "container port", at the holder's (loopback) address
        sandboxes = pool(driver)
        own = ContainerSpec(name="p", image="busybox", labels={}, network="net", ports={f"{port}/tcp": None})
        sandbox = sandboxes.lease(own, containers=1)
        assert sandbox is not None and sandbox.pooled
        sandbox.start()
        published = (sandbox.inspected() or {})["NetworkSettings"]["Ports"][f"{port}/tcp"]
        assert published[0]["HostIp"] == "127.0.0.1"
        host_port = int(published[0]["HostPort"])
        with socket.create_connection(("127.0.0.1", host_port), timeout=5):
            accepted, _ = task_server.accept()  # the forward reached the task
            accepted.close()
        sandbox.release([member()], members_removed=True)
        assert sandboxes.idle() == 1 and (sandbox.inspected() or {})["NetworkSettings"]["Ports"] == {}
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", host_port), timeout=1)  # unpublished with its task


def test_a_taken_host_port_fails_the_start_with_dockers_words(driver: FakeDriver) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        own = ContainerSpec(name="p", image="busybox", labels={}, network="net", ports={"80/tcp": port})
        sandbox = pool(driver).lease(own, containers=1)
        assert sandbox is not None
        with pytest.raises(DockerStartError) as refused:
            sandbox.start()
    assert str(refused.value).endswith(f"Bind for 127.0.0.1:{port} failed: port is already allocated")
    assert "driver failed programming external connectivity on endpoint ecs-sim-sandbox-" in str(
        refused.value
    )
