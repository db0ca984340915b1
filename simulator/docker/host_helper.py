"""Root on the Docker host for a simulator that is not root: a helper container.

Forwarding 169.254.170.2 to a simulator's listeners takes NAT rules on the host (CAP_NET_ADMIN), and a
task cgroup takes a directory the simulator may write in the host's cgroup filesystem. A developer in
the ``docker`` group has neither, but may ask the Docker daemon for them: a helper container in the
host's network namespace, with NET_ADMIN and the host's root at ``/host``, runs shell scripts chrooted
there, so the commands are the host's own (its iptables version and nft or legacy backend). One helper
serves one process, started on first use, and ends when that process goes, even on ``kill -9``: it
reads its stdin, which is this process's attach socket, until end of file.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound

from ..errors import EnvironmentProblem
from .client import docker_client
from .labels import new_owner_id, owner_labels

# ecs-sim's own busybox image (scripts/setup-docker.sh builds it): chroot and cat are all it needs.
HELPER_IMAGE = "ecs-sim/busybox:latest"
HELPER_PREFIX = "ecs-sim-host-helper-"
CAP_NET_ADMIN = 12  # bit in /proc/PID/status CapEff (linux/capability.h)


def has_capability(bit: int, status_path: str = "/proc/self/status") -> bool:
    """Whether this process holds the capability ``bit`` (root does, a docker group member does not)."""
    with open(status_path, encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False


class HostHelper:
    """A helper container running shell scripts as root in the host's root and network namespace."""

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client
        self._container: Any = None
        self._stdin: Any = None
        self._lock = threading.Lock()

    def run(self, script: str) -> tuple[int, str, str]:
        """``sh -c script`` on the host: its exit code, stdout and stderr."""
        for attempt in range(2):
            try:
                result = self._helper().exec_run(["chroot", "/host", "/bin/sh", "-c", script], demux=True)
                break
            except (DockerException, requests.RequestException) as err:
                if isinstance(err, APIError):  # removed or stopped from outside: replaced, once
                    self.close()
                    if not attempt:
                        continue
                raise EnvironmentProblem(f"the host helper container failed: {err}") from err
        stdout, stderr = (part.decode(errors="replace") if part else "" for part in result.output)
        return result.exit_code, stdout, stderr

    def _helper(self) -> Any:
        with self._lock:
            if self._container is None:
                self._container, self._stdin = self._start()
                atexit.register(self.close)
            return self._container

    def _start(self) -> tuple[Any, Any]:
        owner = new_owner_id()
        try:
            container = self._client.containers.create(
                HELPER_IMAGE,
                ["cat"],  # ends at end of file on stdin: when this process's attach socket closes
                name=HELPER_PREFIX + owner,
                labels=owner_labels(owner),
                network_mode="host",
                cap_add=["NET_ADMIN"],
                # The host's root; /run for the legacy iptables' xtables lock and the cgroup filesystem
                # writable (whether a read-only bind is recursive depends on the Docker version).
                volumes={
                    "/": {"bind": "/host", "mode": "ro"},
                    "/run": {"bind": "/host/run", "mode": "rw"},
                    "/sys/fs/cgroup": {"bind": "/host/sys/fs/cgroup", "mode": "rw"},
                },
                stdin_open=True,  # not detached: Docker closes stdin when the attach socket does
                auto_remove=True,
            )
        except ImageNotFound as err:
            raise EnvironmentProblem(
                f"a simulator that is not root needs the image {HELPER_IMAGE} for its host helper: "
                "build it with scripts/setup-docker.sh"
            ) from err
        except (DockerException, requests.RequestException) as err:
            raise EnvironmentProblem(f"Docker could not create the host helper container: {err}") from err
        try:
            stdin = self._client.api.attach_socket(container.id, params={"stdin": 1, "stream": 1})
            container.start()
        except BaseException:
            container.remove(force=True)
            raise
        return container, stdin

    def close(self) -> None:
        with self._lock:
            container, stdin, self._container, self._stdin = self._container, self._stdin, None, None
        if container is None:
            return
        # Closing its stdin ends it (auto_remove does the rest); removing it here returns only once
        # it is gone.
        raw_socket = getattr(stdin, "_sock", None)  # a SocketIO keeps it open until both are closed
        stdin.close()
        if raw_socket is not None:
            raw_socket.close()
        # Gone already, or the engine is: its owner labels let the next start's reaper see it.
        with contextlib.suppress(DockerException, requests.RequestException):
            container.remove(force=True)
        with contextlib.suppress(DockerException, requests.RequestException):
            container.wait(condition="removed", timeout=30)  # auto_remove may have been first


_shared: HostHelper | None = None
_shared_lock = threading.Lock()


def shared_helper() -> HostHelper:
    """This process's helper (its container starts on the first script)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = HostHelper(docker_client())
        return _shared
