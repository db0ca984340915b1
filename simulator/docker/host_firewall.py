"""Running the host's iptables, also for a simulator that may not change the host's firewall itself.

Forwarding 169.254.170.2 to a simulator's listeners takes NAT rules on the host, and those need
CAP_NET_ADMIN. A developer in the ``docker`` group has no such capability, but may ask the Docker
daemon for it: a helper container in the host's network namespace, with NET_ADMIN, runs the host's
own iptables (chrooted into the host's root, so its version and its nft or legacy backend are the
host's). One helper serves one process, and ends when that process goes, even on ``kill -9``: it
reads its stdin, which is this process's attach socket, until end of file.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import docker
import requests
from docker.errors import DockerException, ImageNotFound

from ..errors import EnvironmentProblem
from .labels import new_owner_id, owner_labels

# ecs-sim's own busybox image (scripts/setup-docker.sh builds it): chroot, sh and cat are all it needs.
HELPER_IMAGE = "ecs-sim/busybox:latest"
HELPER_PREFIX = "ecs-sim-firewall-"
_CAP_NET_ADMIN = 12  # bit in /proc/PID/status CapEff (linux/capability.h)
_STATUS_MARK = "@@ecs-sim-exit"  # printed after each command by the helper's script


class IptablesRunner(Protocol):
    def run(self, commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
        """Run ``iptables ARGS`` for each ARGS, in order; one result each."""
        ...


def can_change_host_firewall(status_path: str = "/proc/self/status") -> bool:
    """Whether this process holds CAP_NET_ADMIN (root does, a member of the docker group does not)."""
    with open(status_path, encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> _CAP_NET_ADMIN & 1)
    return False


class DirectIptables:
    """This process runs the host's iptables itself."""

    def run(self, commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
        binary = shutil.which("iptables")
        if binary is None:
            raise EnvironmentProblem("iptables is not installed; install it with scripts/setup-docker.sh")
        return [
            subprocess.run([binary, *args], capture_output=True, text=True, check=False) for args in commands
        ]


class IptablesInHelper:
    """The host's iptables run in a helper container; a batch of commands is one ``docker exec``."""

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client
        self._container: Any = None
        self._stdin: Any = None
        self._lock = threading.Lock()

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
                # The host's root, for its iptables; /run writable for the legacy backend's xtables lock.
                volumes={"/": {"bind": "/host", "mode": "ro"}, "/run": {"bind": "/host/run", "mode": "rw"}},
                stdin_open=True,  # not detached: Docker closes stdin when the attach socket does
                auto_remove=True,
            )
        except ImageNotFound as err:
            raise EnvironmentProblem(
                f"changing the host's firewall without CAP_NET_ADMIN needs the image {HELPER_IMAGE}: "
                "build it with scripts/setup-docker.sh"
            ) from err
        except (DockerException, requests.RequestException) as err:
            raise EnvironmentProblem(f"Docker could not create the firewall helper container: {err}") from err
        try:
            stdin = self._client.api.attach_socket(container.id, params={"stdin": 1, "stream": 1})
            container.start()
        except BaseException:
            container.remove(force=True)
            raise
        return container, stdin

    def run(self, commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
        script = "".join(
            f"iptables {shlex.join(args)}; printf '\\n{_STATUS_MARK} %d\\n' $?; printf '\\n{_STATUS_MARK}\\n' >&2\n"
            for args in commands
        )
        try:
            result = self._helper().exec_run(["chroot", "/host", "/bin/sh", "-c", script], demux=True)
        except (DockerException, requests.RequestException) as err:
            raise EnvironmentProblem(f"the firewall helper container failed: {err}") from err
        stdout, stderr = (part.decode(errors="replace") if part else "" for part in result.output)
        return split_outputs(commands, stdout, stderr)

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


def split_outputs(
    commands: Sequence[Sequence[str]], stdout: str, stderr: str
) -> list[subprocess.CompletedProcess[str]]:
    """The helper script's combined output, cut back into one result per command."""
    outputs = re.split(rf"\n{_STATUS_MARK} (\d+)\n", stdout)
    errors = stderr.split(f"\n{_STATUS_MARK}\n")
    if len(outputs) < 2 * len(commands) + 1 or len(errors) < len(commands):
        raise EnvironmentProblem(f"the firewall helper container's iptables did not run: {stderr.strip()}")
    return [
        subprocess.CompletedProcess(["iptables", *args], int(outputs[2 * i + 1]), outputs[2 * i], errors[i])
        for i, args in enumerate(commands)
    ]
