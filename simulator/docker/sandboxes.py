"""Network namespaces for awsvpc tasks (the agent's pause containers), kept for the next task.

An awsvpc task's containers share one network namespace, held by a sleeping container they join
(``--network container:<sandbox>``). For Docker, making a namespace is the dearest part of starting a
container: a netns, a veth pair and the embedded DNS resolver, each set up by re-executing dockerd, cost
about as much CPU as the rest of the container's start. So a sandbox whose task stopped without being able
to change it (no capability that reconfigures a namespace, every member container removed, its
/etc/hosts, /etc/resolv.conf and /etc/hostname, which Docker shares with the containers that join it,
untouched) waits for the next task, which takes it as a fresh task takes a fresh ENI: same subnet,
nothing of the last task left but its address and host name. A borrowed sandbox's TCP ports are
published by ``port_forward`` for the task's lifetime; a task that publishes UDP ports or adds host
entries gets a sandbox of its own, made for it and removed with it, because Docker fixes those when it
makes the namespace (a task of one container then simply holds its own).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .containers import ContainerDriver, ContainerSpec, DockerStartError
from .port_forward import PortForward, PortInUse

# Capabilities with which a container can rewrite its namespace's interfaces, routes or firewall.
NAMESPACE_CHANGING_CAPABILITIES = frozenset({"NET_ADMIN", "SYS_ADMIN", "ALL"})
SLEEP_FOREVER = ("sleep", "2147483647")
# A Docker engine that hangs on create must not hang the stop: whatever the prewarm makes later is
# still labelled with its owner and swept with the simulator's other objects.
_PREWARM_JOIN_SECONDS = 30.0
_REMOVERS = 8


# The files Docker makes for a namespace holder and bind-mounts, writable, into every container joining it.
_SHARED_FILES = ("HostsPath", "ResolvConfPath", "HostnamePath")

FileStamps = tuple[tuple[int, int], ...]


def may_change_namespace(spec: ContainerSpec) -> bool:
    return any(c.upper().removeprefix("CAP_") in NAMESPACE_CHANGING_CAPABILITIES for c in spec.cap_add)


def shared_file_stamps(inspected: Mapping[str, Any]) -> FileStamps | None:
    """Size and modification time of the holder's shared files, read where the daemon keeps them; None
    when they cannot be read from here (a remote daemon): such a holder is never lent twice."""
    try:
        stats = [os.stat(inspected[key]) for key in _SHARED_FILES]
    except (KeyError, TypeError, OSError):
        return None
    return tuple((st.st_size, st.st_mtime_ns) for st in stats)


class Sandbox:
    """One leased namespace holder. ``start`` makes it if it is new; ``release`` hands it back."""

    def __init__(self, pool: SandboxPool, spec: ContainerSpec, *, pooled: bool) -> None:
        self._pool = pool
        self.spec = spec
        self.pooled = pooled
        self.docker_id: str | None = None
        self._inspected: dict[str, Any] | None = None
        self._stamps: FileStamps | None = None  # the shared files as the holder started
        # A borrowed sandbox's TCP ports to publish for its task: "80/tcp" -> host port (None: any).
        self.ports: dict[str, int | None] = {}
        self._forwards: dict[str, PortForward] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    def start(self) -> None:
        """Create and start the holder unless it runs already, and publish the task's ports; raises
        DockerCreateError/DockerStartError."""
        if self.docker_id is None:
            self._make()
        if self.pooled and self.ports:
            self._publish()

    def _make(self) -> None:
        self.docker_id = self._pool.driver.create(self.spec)
        try:
            self._pool.driver.start(self.docker_id)
        except Exception:
            self.pooled = False  # never lent again: removed on release
            raise
        if self.pooled:
            self._stamps = shared_file_stamps(self.inspected() or {})

    def _publish(self) -> None:
        networks = ((self.inspected() or {}).get("NetworkSettings") or {}).get("Networks") or {}
        address = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
        if address is None:
            raise DockerStartError(
                f"Error response from daemon: {self.name} has no address to publish ports on"
            )
        try:
            for key, host_port in self.ports.items():
                self._forwards[key] = PortForward((address, int(key.split("/")[0])), host_port)
        except PortInUse as err:
            self._unpublish()
            raise DockerStartError(
                "Error response from daemon: driver failed programming external connectivity on endpoint "
                f"{self.name}: {err.strerror}"
            ) from None

    def _unpublish(self) -> None:
        forwards, self._forwards = self._forwards, {}
        for forward in forwards.values():
            forward.close()

    def inspected(self) -> dict[str, Any] | None:
        """``docker inspect`` of the holder (its network settings do not change while it runs), with the
        ports published for the task that borrowed it, as Docker shows its own."""
        if self._inspected is None and self.docker_id is not None:
            with contextlib.suppress(Exception):
                self._inspected = self._pool.driver.inspect(self.docker_id)
        if self._inspected is None or not self._forwards:
            return self._inspected
        published = {
            key: [{"HostIp": "127.0.0.1", "HostPort": str(forward.host_port)}]
            for key, forward in self._forwards.items()
        }
        return {
            **self._inspected,
            "NetworkSettings": {**self._inspected["NetworkSettings"], "Ports": published},
        }

    def release(self, members: Iterable[ContainerSpec], *, members_removed: bool) -> None:
        """The task is over: keep the namespace for the next task when nothing of this one can remain
        in it, else remove it."""
        self._unpublish()
        self.ports = {}
        clean = (
            members_removed
            and not any(may_change_namespace(m) for m in members)
            and self._stamps is not None
            and shared_file_stamps(self.inspected() or {}) == self._stamps
        )
        self._pool.give_back(self, keep=self.pooled and clean)


class SandboxPool:
    def __init__(
        self,
        driver: ContainerDriver,
        *,
        network: str,
        image: str,
        labels: Mapping[str, str],
        dns: Sequence[str] = (),
        keep: int = 32,
    ) -> None:
        """``dns``: the name servers of every sandbox; ``keep``: how many idle sandboxes wait for tasks
        (each is a sleeping container); more are removed as their tasks stop."""
        self.driver = driver
        self._network = network
        self._dns = tuple(dns)
        self._image = image
        self._labels = dict(labels)
        self._keep = keep
        self._idle: list[Sandbox] = []
        self._lock = threading.Lock()
        self._closed = False
        self._prewarming: threading.Thread | None = None

    def lease(self, own: ContainerSpec, *, containers: int) -> Sandbox | None:
        """A sandbox for a task of ``containers`` containers; ``own`` is the holder the task would get for
        itself, used when it publishes ports or adds host entries; None then for a task of one container,
        which holds a namespace made for it itself (one container instead of two)."""
        if own.extra_hosts or any(not key.endswith("/tcp") for key in own.ports):
            return Sandbox(self, own, pooled=False) if containers > 1 else None
        sandbox = self._idle_or_new()
        sandbox.ports = dict(own.ports)
        return sandbox

    def _idle_or_new(self) -> Sandbox:
        prewarming = self._prewarming
        if prewarming is not None and prewarming.is_alive():
            prewarming.join()  # sooner done than a sandbox made from scratch now
        while True:
            with self._lock:
                if not self._idle:
                    break
                sandbox = self._idle.pop()
            if self._still_running(sandbox):
                return sandbox
            self._remove(sandbox)
        return self._new()

    def prewarm(self) -> None:
        """Make one sandbox in the background, so that the first task finds one waiting."""
        self._prewarming = threading.Thread(target=self._make_idle, name="ecs-sim-prewarm", daemon=True)
        self._prewarming.start()

    def _make_idle(self) -> None:
        sandbox = self._new()
        with contextlib.suppress(
            Exception
        ):  # a task that finds none makes its own and reports Docker's error
            sandbox.start()
        self.give_back(sandbox, keep=sandbox.pooled)

    def _new(self) -> Sandbox:
        spec = ContainerSpec(
            name=f"ecs-sim-sandbox-{secrets.token_hex(10)}",
            image=self._image,
            labels=self._labels,
            network=self._network,
            command=SLEEP_FOREVER,
            dns=self._dns,
        )
        return Sandbox(self, spec, pooled=True)

    def give_back(self, sandbox: Sandbox, *, keep: bool) -> None:
        with self._lock:
            if keep and sandbox.docker_id and not self._closed and len(self._idle) < self._keep:
                self._idle.append(sandbox)
                return
        self._remove(sandbox)

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            self._closed = True  # from now on whatever comes back is removed
        if self._prewarming is not None:
            self._prewarming.join(timeout=_PREWARM_JOIN_SECONDS)
        with self._lock:
            idle, self._idle = self._idle, []
        if idle:  # side by side: 20 kept sandboxes took 5.4 s to remove one at a time, 3 s so
            with ThreadPoolExecutor(min(len(idle), _REMOVERS), thread_name_prefix="ecs-sim-remove") as pool:
                list(pool.map(self._remove, idle))

    def _still_running(self, sandbox: Sandbox) -> bool:
        """A holder stopped from outside (``docker kill``) would fail every container joining it."""
        assert sandbox.docker_id is not None
        try:
            return bool(self.driver.inspect(sandbox.docker_id)["State"]["Running"])
        except Exception:
            return False

    def _remove(self, sandbox: Sandbox) -> None:
        if sandbox.docker_id is not None:
            with contextlib.suppress(Exception):
                self.driver.remove(sandbox.docker_id)
