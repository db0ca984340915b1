"""`ecs-sim serve`: the simulator as a long-running service for containers someone else starts.

Like amazon-ecs-local-container-endpoints, but every AWS call still goes through the authorizing gateway:
the simulator creates its task network under a fixed name (default ``ecs-sim-serve``), assumes the task
role once, and serves its credentials at ``http://169.254.170.2/v2/credentials/<id>``. Any container
attached to that network (a compose service declaring it ``external``) and given
``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` and ``AWS_ENDPOINT_URL=http://169.254.170.2:4566`` acts as the
task role, as it would on ECS. Processes on the host use the loopback listeners instead (botocore accepts
a plain-http full URI on loopback).

    with serving(load_world("world.yaml"), task_role="app-task-role") as service:
        print(service.endpoints.container_env())
        ...  # start containers on service.endpoints.network
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from .api import Simulator
from .aws_hostnames import BUNDLE_IN_CONTAINER, gateway_environment
from .backend import make_backend
from .backend.base import Backend
from .diagnosis import PHASE_RUNTIME, Denial
from .docker.network import ENDPOINT_IP, NETWORK_PREFIX
from .ecs.trust import ecs_can_assume, unable_to_assume_message
from .endpoints.credentials import TaskCredentials
from .errors import InputError
from .iam.model import Principal
from .sessions import Session
from .task_runner import role_arn_for
from .used_permissions import UsedPermission, least_privilege_policies, used_permissions
from .world import World, load_world

DEFAULT_NETWORK = NETWORK_PREFIX + "serve"
SESSION_NAME = "ecs-sim-serve"
_LABEL = "serve/task"
POLL_SECONDS = 0.5  # how often denials are printed and credentials checked for rotation
REFRESH_BEFORE = timedelta(minutes=30)  # the agent also rotates task credentials well before they expire
_NETWORK_NAME = re.compile(re.escape(NETWORK_PREFIX) + r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")

# Environment credentials beat the container provider in every SDK: a command run under serve must not
# inherit them, or it would silently act as whoever the shell is.
_SHADOWING_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@dataclass(frozen=True)
class ServeEndpoints:
    """Where a running ``serve`` can be reached, and the environment that points an SDK at it."""

    network: str
    subnet: str
    region: str
    credentials_id: str
    health_url: str
    host_credentials_url: str
    host_gateway_url: str
    # --aws-hostnames: the CA bundle on this machine, which containers mount at BUNDLE_IN_CONTAINER
    ca_bundle: str | None = None

    @property
    def credentials_relative_uri(self) -> str:
        return f"/v2/credentials/{self.credentials_id}"

    def container_env(self) -> dict[str, str]:
        """For a container on ``network``: what ECS would give a task container (with --aws-hostnames,
        the CA bundle variables instead of ``AWS_ENDPOINT_URL``)."""
        return {
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": self.credentials_relative_uri,
            **gateway_environment(self.ca_bundle is not None),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def docker_run_options(self) -> list[str]:
        """What a container also needs for --aws-hostnames, which an env file cannot carry."""
        if not self.ca_bundle:
            return []
        return ["--dns", ENDPOINT_IP, "-v", f"{self.ca_bundle}:{BUNDLE_IN_CONTAINER}:ro"]

    def host_env(self) -> dict[str, str]:
        """For a process on the host: the same role through the loopback listeners."""
        return {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.host_credentials_url,
            "AWS_ENDPOINT_URL": self.host_gateway_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def compose_env(self) -> dict[str, str]:
        """Variables ``docker-compose.yml`` interpolates (`ECS_SIM_*`), so compose never needs the
        container variables in its own environment."""
        hostnames = (
            {"ECS_SIM_DNS": ENDPOINT_IP, "ECS_SIM_CA_BUNDLE": self.ca_bundle} if self.ca_bundle else {}
        )
        return {
            "ECS_SIM_NETWORK": self.network,
            "ECS_SIM_CREDENTIALS_URI": self.credentials_relative_uri,
            "ECS_SIM_REGION": self.region,
            **hostnames,
        }

    def command_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment of a command run under ``serve``: ``base`` without static credentials, plus
        the host and compose variables."""
        env = {k: v for k, v in base.items() if k not in _SHADOWING_ENV}
        return env | self.host_env() | self.compose_env()

    def env_file_text(self) -> str:
        """A file usable both as ``docker run --env-file`` and as compose's ``--env-file`` / ``.env``."""
        lines = [f"# written by ecs-sim serve (pid {os.getpid()}); valid while it runs"]
        lines += [f"{k}={v}" for k, v in (self.container_env() | self.compose_env()).items()]
        return "\n".join(lines) + "\n"


def network_owner(network_name: str) -> str:
    """The simulator owner id that makes ``TaskNetwork`` name its network ``network_name``."""
    if not _NETWORK_NAME.fullmatch(network_name):
        raise InputError(
            f"network name must be {NETWORK_PREFIX}<letters, digits, _ . ->, got {network_name!r}",
            where="--network-name",
        )
    return network_name.removeprefix(NETWORK_PREFIX)


class Service:
    """A started simulator serving one task role's credentials to whatever runs on its network."""

    def __init__(self, sim: Simulator, task_role: str, execution_role: str | None = None) -> None:
        self.sim = sim
        account = sim.world.account
        self.task_role_arn = role_arn_for(task_role, account) or ""
        self.execution_role_arn = role_arn_for(execution_role, account)
        self._session: Session | None = None
        self._credentials_id: str | None = None
        self.endpoints: ServeEndpoints | None = None
        self._used: set[UsedPermission] = set()  # what the task role was asked for so far

    def start(self, port: int = 0) -> ServeEndpoints:
        """Check the roles as RunTask does, assume the task role, serve its credentials; ``port`` is the
        host (loopback) listener's port, 0 for any."""
        sim = self.sim
        assert sim.endpoints is not None and sim.network is not None and sim.gateway is not None
        assert sim.policies is not None
        cluster_arn = f"arn:aws:ecs:{sim.world.region}:{sim.world.account}:cluster/{sim.cluster}"
        for option, role_arn in (
            ("--task-role", self.task_role_arn),
            ("--execution-role", self.execution_role_arn),
        ):
            if not role_arn:
                continue
            if role_arn.rsplit("/", 1)[-1] not in sim.world.roles:
                raise InputError(f"no role {role_arn.rsplit('/', 1)[-1]!r} in the world", where=option)
            if not ecs_can_assume(sim.policies, role_arn, sim.world.account, cluster_arn):
                raise InputError(unable_to_assume_message(role_arn), where=option)
        self._session = sim.assume_role(self.task_role_arn, SESSION_NAME, _LABEL)
        self._credentials_id = sim.endpoints.register_credentials(TaskCredentials.from_session(self._session))
        host_port = sim.endpoints.add_listener("127.0.0.1", port)
        self.endpoints = ServeEndpoints(
            network=sim.network.name,
            subnet=sim.network.subnet,
            region=sim.world.region,
            credentials_id=self._credentials_id,
            health_url=f"http://127.0.0.1:{host_port}/health",
            host_credentials_url=f"http://127.0.0.1:{host_port}/v2/credentials/{self._credentials_id}",
            host_gateway_url=sim.gateway.url,
            ca_bundle=str(sim.aws_hostnames.certificates.bundle_path) if sim.aws_hostnames else None,
        )
        return self.endpoints

    def new_denials(self) -> list[Denial]:
        """Calls denied since the last look, each with its diagnosis (the execution role, when given, is
        the "other role" for wrong-role detection)."""
        if self._session is None:
            return []
        other: Principal | None = self.sim.role_principal(self.execution_role_arn, SESSION_NAME)
        decisions = self.sim.decisions_for({_LABEL: (PHASE_RUNTIME, self._session)})
        self._used.update(
            used_permissions((record, PHASE_RUNTIME, self.task_role_arn) for record, *_ in decisions)
        )
        return self.sim.denials_among(decisions, {PHASE_RUNTIME: other})

    def least_privilege_policy(self) -> dict[str, Any] | None:
        """The policy allowing exactly what the containers asked of the task role so far (after
        ``new_denials`` has taken the latest decisions); None before any call."""
        return least_privilege_policies(self._used).get(self.task_role_arn)

    def refresh_if_due(self, now: datetime | None = None) -> bool:
        """Rotate the credentials under the same id when they expire within ``REFRESH_BEFORE``."""
        session = self._session
        if session is None or session.expiration is None or self._credentials_id is None:
            return False
        if (now or datetime.now(UTC)) < session.expiration - REFRESH_BEFORE:
            return False
        assert self.sim.endpoints is not None
        fresh = self.sim.assume_role(self.task_role_arn, SESSION_NAME, _LABEL)
        self.sim.endpoints.update_credentials(self._credentials_id, TaskCredentials.from_session(fresh))
        self._session = fresh
        return True

    def stop(self) -> None:
        """Stop serving the credentials and make them useless at the gateway. Idempotent."""
        if self._credentials_id is not None and self.sim.endpoints is not None:
            self.sim.endpoints.unregister_credentials(self._credentials_id)
        if self._session is not None:
            self.sim.sessions.revoke(self._session.access_key_id)
        self._credentials_id = self._session = None


@contextlib.contextmanager
def serving(
    world: World,
    *,
    task_role: str,
    execution_role: str | None = None,
    backend: Backend | None = None,
    network_name: str = DEFAULT_NETWORK,
    port: int = 0,
    env_file: Path | None = None,
    aws_hostnames: bool = False,
) -> Iterator[Service]:
    """A started ``Service``; on exit (also on errors and Ctrl-C) the credentials, the env file, the
    network with its DNAT rules and every server are removed."""
    sim = Simulator(world, backend=backend, aws_hostnames=aws_hostnames)
    sim.owner_id = network_owner(network_name)  # names the task network: set before start creates it
    with sim:
        service = Service(sim, task_role, execution_role)
        try:
            service.start(port)
            if env_file is not None:
                assert service.endpoints is not None
                _write_atomically(env_file, service.endpoints.env_file_text())
            yield service
        finally:
            service.stop()
            if env_file is not None:
                env_file.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    # Whoever waits for the file (a script, a test) must never read it half written.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def run_service(
    out: Console,
    err: Console,
    *,
    world: Path,
    task_role: str,
    execution_role: str | None = None,
    backend: str | None = None,
    endpoint_url: str | None = None,
    network_name: str = DEFAULT_NETWORK,
    port: int = 0,
    env_file: Path | None = None,
    command: list[str] | None = None,
    aws_hostnames: bool = False,
    policies: bool = False,
) -> int:
    """``ecs-sim serve``: serve until Ctrl-C/SIGTERM (returns 0), or while ``command`` runs (returns its
    exit code; 130 when interrupted). Denials are printed with their diagnosis as they happen."""
    from .report import print_denial, print_policies

    the_world = load_world(world)
    network_owner(network_name)  # a bad name must fail before anything is started
    the_backend = make_backend(backend, endpoint_url, region=the_world.region, account=the_world.account)
    with serving(
        the_world,
        task_role=task_role,
        execution_role=execution_role,
        backend=the_backend,
        network_name=network_name,
        port=port,
        env_file=env_file,
        aws_hostnames=aws_hostnames,
    ) as service:
        endpoints = service.endpoints
        assert endpoints is not None
        err.print(
            f"serving [bold]{escape(service.task_role_arn)}[/] to containers on network "
            f"[bold]{endpoints.network}[/] ({endpoints.subnet}); health: {endpoints.health_url}",
            highlight=False,
            soft_wrap=True,
        )
        if endpoints.ca_bundle:
            err.print(
                "containers also need: " + " ".join(endpoints.docker_run_options()),
                highlight=False,
                soft_wrap=True,
            )
        for key, value in endpoints.container_env().items():
            out.print(f"{key}={value}", highlight=False, soft_wrap=True)
        out.file.flush()
        child = _start_command(command, endpoints) if command else None
        try:
            while child is None or child.poll() is None:
                for denial in service.new_denials():
                    print_denial(err, denial)
                service.refresh_if_due()
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            err.print("[yellow]stopping: removing the network, its rules and the servers[/]")
            if child is None:
                return 0
            child.terminate()
            child.wait()
            return 130
        finally:
            for denial in service.new_denials():
                print_denial(err, denial)
            policy = service.least_privilege_policy() if policies else None
            if policy is not None:
                print_policies(err, {service.task_role_arn: policy}, "what the containers used")
    assert child is not None
    return child.returncode


def _start_command(command: list[str], endpoints: ServeEndpoints) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(command, env=endpoints.command_env(os.environ))
    except OSError as error:
        raise InputError(f"cannot run the command: {error.strerror}", where=command[0]) from None
