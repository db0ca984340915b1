"""`Simulator`: one object that owns a backend, the gateway, the endpoints and a task network, and runs
tasks on them.

    with Simulator(world="world.yaml") as sim:
        result = sim.run_task("taskdef.json")
        assert result.exit_code == 0, result.to_json()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import docker
import requests
from docker.errors import APIError, DockerException, NotFound

from .backend import make_backend
from .backend.base import Backend
from .diagnosis import PHASE_EXECUTION, PHASE_RUNTIME, WHY_RUNTIME, Denial, diagnose
from .docker import iptables
from .docker.client import docker_client
from .docker.containers import ContainerDriver
from .docker.labels import OWNER, new_owner_id, owner_labels
from .docker.network import (
    CREDENTIALS_PORT,
    DNS_PORT,
    ENDPOINT_IP,
    GATEWAY_PORT,
    HTTPS_PORT,
    NETWORK_PREFIX,
    TaskNetwork,
    remove_network,
)
from .docker.reaper import reap_leftovers
from .docker.sandboxes import SandboxPool
from .docker.task_cgroup import TaskCgroups
from .ecs.failures import LaunchType
from .ecs.lifecycle import TaskStatus
from .ecs.task_protection import ACCESS_DENIED as ECS_ACCESS_DENIED
from .endpoints.server import EndpointServer
from .errors import EcsSimError
from .gateway import DecisionRecord, Gateway
from .gateway.authorizer import UNSENT_CLIENT_IP, Authorizer, RequestFacts, request_context
from .gateway.resources import Check, check_on
from .iam.model import Decision, Principal
from .iam.principals import principal_from_arn
from .phases.container_spec import PAUSE_IMAGE
from .phases.task_start.units import StartUnit
from .policy_source import is_read_operation
from .result import TaskResult
from .sessions import Session, SessionRegistry
from .startstop import StartStop
from .task_runner import TaskRun
from .taskdef import TaskDefinition, apply_overrides, load_taskdef
from .world import BackendPolicyStore, SeededWorld, World, load_world, seed, world_from_dict

if TYPE_CHECKING:
    from .aws_hostnames.hostnames import AwsHostnames

SESSION_SECONDS = 6 * 3600  # what ECS gives task and execution role sessions
# How long stop() waits for each still running task: the longest stopTimeout ECS allows, plus slack.
TASK_STOP_WAIT_SECONDS = 150

WorldInput = str | Path | Mapping[str, Any] | World | None


@dataclass
class _DecisionLog:
    """Routes the gateway's decision records to the task and phase whose session made the call."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_label: dict[str, list[tuple[DecisionRecord, str]]] = field(default_factory=dict)
    why_now: dict[str, str] = field(default_factory=dict)  # label -> why of the unit running now

    def record(self, record: DecisionRecord, why: str | None = None) -> None:
        """``why``: who made the call and with which role, when not the unit running now or the app."""
        if not record.session_label:
            return
        with self.lock:
            why = why or self.why_now.get(record.session_label, WHY_RUNTIME)
            self.by_label.setdefault(record.session_label, []).append((record, why))

    def take(self, label: str) -> list[tuple[DecisionRecord, str]]:
        with self.lock:
            self.why_now.pop(label, None)
            return self.by_label.pop(label, [])


class Simulator(StartStop):
    """Start once, run many tasks. Everything started is labelled and removed on exit, also on errors."""

    def __init__(
        self,
        world: WorldInput = None,
        *,
        backend: Backend | None = None,
        launch_type: LaunchType | str = LaunchType.FARGATE,
        cluster: str = "default",
        docker: bool = True,
        aws_hostnames: bool = False,
    ) -> None:
        """``docker=False`` starts only the AWS side (backend, gateway): enough for ``ecs-sim check``.
        ``aws_hostnames=True``: task containers reach the simulator at the real AWS host names (DNS, TLS
        with a CA made for it) and get no ``AWS_ENDPOINT_URL``, for SDKs and code that ignore it."""
        self.world = _load_world(world)
        self.launch_type = LaunchType(str(launch_type).upper())
        self.cluster = cluster
        self._with_docker = docker
        self._with_aws_hostnames = aws_hostnames
        self.aws_hostnames: AwsHostnames | None = None
        self.owner_id = new_owner_id()
        self._backend = backend or make_backend(region=self.world.region, account=self.world.account)
        self._stack = contextlib.ExitStack()  # the backend and the servers
        self._docker_stack = contextlib.ExitStack()  # the task network and what is on it
        self.sessions = SessionRegistry()
        self._decisions = _DecisionLog()
        self.seeded: SeededWorld | None = None
        self.policies: BackendPolicyStore | None = None
        self.gateway: Gateway | None = None
        self.endpoints: EndpointServer | None = None
        self.network: TaskNetwork | None = None
        self.driver: ContainerDriver | None = None
        self.sandboxes: SandboxPool | None = None
        self.task_cgroups: TaskCgroups | None = None
        self._admin: boto3.Session | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._runs: list[TaskRun] = []  # started tasks not yet seen STOPPED, stopped by stop()
        self._runs_lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._with_docker:
            self._start_task_network()
        self._start_aws()
        if self._with_docker:
            self._start_endpoints()

    def _start_aws(self) -> None:
        self._stack.enter_context(self._backend)
        self.seeded = seed(self.world, self._backend)
        self._admin = self._backend.admin_session()
        self.policies = BackendPolicyStore.for_backend(self._backend, self.world)
        self.gateway = self._stack.enter_context(
            Gateway(
                self._backend.transport(),
                self.sessions,
                self.policies,
                region=self.world.region,
                on_decision=self._decisions.record,
            )
        )

    def _start_task_network(self) -> None:
        """Docker before the AWS side: the first task's network namespace is made while the world seeds."""
        client = docker_client()
        self._docker_stack.callback(client.close)
        self.task_cgroups = TaskCgroups(client, self.owner_id)
        self._docker_stack.callback(self.task_cgroups.close)  # after the sweep below: no container left
        self.task_cgroups.check_in_background()
        # Runs after everything below is removed: a Ctrl-C can land between Docker creating an object
        # and its owner recording it, and such an object must not outlive this simulator either.
        self._docker_stack.callback(_remove_owned, client, self.owner_id)
        reap_leftovers(client)
        self.driver = ContainerDriver(client)
        self.network = self._docker_stack.enter_context(TaskNetwork.create(client, self.owner_id))
        if self._with_aws_hostnames:
            from .aws_hostnames.hostnames import AwsHostnames  # cryptography: only when asked for

            self.aws_hostnames = AwsHostnames(ENDPOINT_IP)
            self._docker_stack.callback(self.aws_hostnames.close)
        self.sandboxes = SandboxPool(
            self.driver,
            network=self.network.name,
            image=PAUSE_IMAGE,
            labels=owner_labels(self.owner_id),
            dns=self.aws_hostnames.dns_servers if self.aws_hostnames else (),
        )
        self._docker_stack.callback(self.sandboxes.close)  # before the network goes: they are on it
        self.sandboxes.prewarm()

    def _start_endpoints(self) -> None:
        """The credentials/metadata server and the gateway, reachable from the task network at 169.254.170.2."""
        assert self.gateway is not None and self.network is not None
        self.endpoints = self._stack.enter_context(EndpointServer())
        self.endpoints.start(self.network.gateway_ip)
        endpoint_port = self.endpoints.addresses[0][1]
        gateway_port = self.gateway.add_listener(self.network.gateway_ip)
        self.network.forward(CREDENTIALS_PORT, endpoint_port)
        self.network.forward(GATEWAY_PORT, gateway_port)
        if self.aws_hostnames is not None:
            dns_port = self.aws_hostnames.serve_names(self.network.gateway_ip)
            tls_port = self.gateway.add_tls_listener(
                self.network.gateway_ip, self.aws_hostnames.certificates.server_context
            )
            self.network.forward(DNS_PORT, dns_port, "udp")
            self.network.forward(HTTPS_PORT, tls_port)

    def stop(self) -> None:
        """Stop every task still running (as StopTask does), then remove the network, servers, backend."""
        with self._runs_lock:
            runs, self._runs = self._runs, []
        for run in runs:
            run.stop("Simulator stopped")
        for run in runs:
            run.wait_stopped(TASK_STOP_WAIT_SECONDS)
        # Docker removes the sandboxes and the network while the servers and the backend stop.
        with ThreadPoolExecutor(1, thread_name_prefix="ecs-sim-stop") as pool:
            docker_side = pool.submit(self._docker_stack.close)
            try:
                self._stack.close()
            finally:
                docker_side.result()
        with self._clients_lock:
            self._clients.clear()  # they point at a backend that is gone

    # --- tasks --------------------------------------------------------------------------------
    def run_task(
        self,
        taskdef: str | Path | Mapping[str, Any] | TaskDefinition,
        *,
        overrides: Mapping[str, Any] | None = None,
        log_sink: Callable[[str, str], None] | None = None,
        on_event: Callable[[str, Any], None] | None = None,
        service: str | None = None,
    ) -> TaskResult:
        """Run a task to completion (RunTask, both phases, STOPPED) and return its ``TaskResult``.

        ``taskdef``: a task definition file, a dict (RegisterTaskDefinition input or describe output) or a
        ``TaskDefinition``; ``overrides``: RunTask's ``overrides``; ``log_sink(container, line)`` gets every
        log line as it is written; ``on_event(kind, payload)`` every status change; ``service``: see
        :meth:`start_task`."""
        run = self.start_task(
            taskdef, overrides=overrides, log_sink=log_sink, on_event=on_event, service=service
        )
        return run.wait()

    def start_task(
        self,
        taskdef: str | Path | Mapping[str, Any] | TaskDefinition,
        *,
        overrides: Mapping[str, Any] | None = None,
        log_sink: Callable[[str, str], None] | None = None,
        on_event: Callable[[str, Any], None] | None = None,
        service: str | None = None,
    ) -> TaskRun:
        """Start a task in the background (RunTask returns at once); ``.wait()`` / ``.stop()`` on the result.
        ``service``: start it as that service's scheduler would (group ``service:NAME``, ``startedBy``,
        ``ServiceName`` in the task metadata, scale-in protection allowed, an UNHEALTHY essential
        container stops it); else as RunTask does."""
        if self.gateway is None or self.driver is None:
            raise RuntimeError("Simulator is not started with Docker: use it as a context manager")
        definition = taskdef if isinstance(taskdef, TaskDefinition) else load_taskdef(taskdef)
        if overrides:
            definition = apply_overrides(definition, overrides)
        run = TaskRun(self, definition, log_sink=log_sink, on_event=on_event, service=service)
        with self._runs_lock:
            self._runs = [r for r in self._runs if r.task.last_status != TaskStatus.STOPPED] + [run]
        run.start()
        return run

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client bound to the backend with admin rights, for setting up and asserting state.
        Clients without extra options are made once per service (they are thread-safe, and slow to make)."""
        assert self._admin is not None
        if kwargs:
            return self._make_client(service, **kwargs)
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._make_client(service)
            return self._clients[service]

    def _make_client(self, service: str, **kwargs: Any) -> Any:
        assert self._admin is not None
        client = self._admin.client(
            service, endpoint_url=self._backend.endpoint_url, region_name=self.world.region, **kwargs
        )
        # These calls bypass the gateway: a write (a new role policy, a bucket policy) must still drop the
        # authorizer's cached policies, or the next task would be judged by the old ones.
        client.meta.events.register("after-call", self._after_admin_call)
        return client

    def _after_admin_call(self, model: Any, **_: Any) -> None:
        # STS calls (the simulator's own AssumeRole per task) change no policy.
        if (
            self.policies is not None
            and model.service_model.service_name != "sts"
            and not is_read_operation(model.name)
        ):
            self.policies.invalidate()

    # --- used by TaskRun ----------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def admin(self) -> boto3.Session:
        assert self._admin is not None
        return self._admin

    def set_current_unit(self, label: str, unit: StartUnit | None) -> None:
        with self._decisions.lock:
            if unit is None:
                self._decisions.why_now.pop(label, None)
            else:
                self._decisions.why_now[label] = unit.why

    def assume_role(self, role_arn: str, session_name: str, label: str) -> Session:
        """A fresh STS session of ``role_arn`` on the backend, registered with the gateway under ``label``."""
        answer = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=SESSION_SECONDS
        )
        creds = answer["Credentials"]
        role = self.world.roles.get(role_arn.rsplit("/", 1)[-1])
        principal = principal_from_arn(answer["AssumedRoleUser"]["Arn"], tags=dict(role.tags) if role else {})
        session = Session(
            access_key_id=creds["AccessKeyId"],
            secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
            expiration=creds["Expiration"].astimezone(UTC),
            principal=principal,
            label=label,
        )
        self.sessions.register(session)
        return session

    def role_principal(self, role_arn: str | None, session_name: str) -> Principal | None:
        """The principal a session of ``role_arn`` would be, to ask what that role may do."""
        if not role_arn:
            return None
        name = role_arn.rsplit("/", 1)[-1]
        role = self.world.roles.get(name)
        account = role_arn.split(":")[4]
        return principal_from_arn(
            f"arn:aws:sts::{account}:assumed-role/{name}/{session_name}", tags=dict(role.tags) if role else {}
        )

    def take_decisions(self, label: str) -> list[tuple[DecisionRecord, str]]:
        """Every decision recorded for the session ``label`` (with the why of the unit that made it)."""
        return self._decisions.take(label)

    def authorize(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, Any] | None = None
    ) -> Decision:
        """What the gateway would decide for ``principal`` calling ``action`` on ``resource`` (its policy and
        tags included); ``context``: the request's keys, over those every call through the gateway carries
        (an unsent call in the world's region). Used to tell whether the other role would allow."""
        assert self.policies is not None
        keys = {**request_context(self.world.region, UNSENT_CLIENT_IP), **(context or {})}
        return Authorizer(self.policies, None).decide(principal, check_on(action, resource), keys)[1]

    def agent_call(
        self, session: Session, action: str, resource: str, context: Mapping[str, Any], why: str
    ) -> str | None:
        """An ECS call the ECS agent makes itself with ``session``'s credentials (task protection, with the
        task role's), decided as the gateway decides and recorded for the session's task with ``why``:
        the AccessDeniedException message, or None when allowed."""
        assert self.policies is not None
        service, operation = action.split(":", 1)
        facts = RequestFacts(service, operation, self.world.region, UNSENT_CLIENT_IP, ECS_ACCESS_DENIED)
        authorizer = Authorizer(self.policies, lambda record: self._decisions.record(record, why))
        denial = authorizer.authorize(session, facts, [Check(action, resource, context)])
        return denial.message if denial is not None else None

    def decisions_for(
        self, labels: Mapping[str, tuple[str, Session]]
    ) -> list[tuple[DecisionRecord, str, str, Session]]:
        """Every decision recorded for the sessions ``labels`` (label -> (phase, session)), taken: as
        (record, why, phase, session)."""
        return [
            (record, why, phase, session)
            for label, (phase, session) in labels.items()
            for record, why in self.take_decisions(label)
        ]

    def denials_for(
        self, labels: Mapping[str, tuple[str, Session]], other: Mapping[str, Principal | None]
    ) -> list[Denial]:
        """Denials recorded for the sessions ``labels`` (label -> (phase, session)); ``other`` maps a phase to
        the principal of the task's other role, for wrong-role detection."""
        return self.denials_among(self.decisions_for(labels), other)

    def denials_among(
        self, decisions: list[tuple[DecisionRecord, str, str, Session]], other: Mapping[str, Principal | None]
    ) -> list[Denial]:
        """The denied ones of ``decisions`` (from ``decisions_for``), each with its diagnosis."""
        return [
            self.denial_of(record, why, phase, session.principal, other.get(phase))
            for record, why, phase, session in decisions
            if not record.decision.allowed
        ]

    def denial_of(
        self, record: DecisionRecord, why: str, phase: str, principal: Principal, other: Principal | None
    ) -> Denial:
        """A denied decision with its diagnosis; ``other`` is the task's other role, for wrong-role detection."""
        role_arn = principal.role_arn or principal.arn
        other_decision = (
            self.authorize(other, record.action, record.resource, record.context) if other else None
        )
        text, fix, other_allows = diagnose(
            phase=phase,
            role_arn=role_arn,
            action=record.action,
            resource=record.resource,
            decision=record.decision,
            why=why,
            other_role_arn=other.role_arn if other else None,
            other_role_decision=other_decision,
        )
        return Denial(
            phase=phase,
            role_arn=role_arn,
            action=record.action,
            resource=record.resource,
            decision=record.decision,
            error_code=record.error_code,
            message=record.message,
            diagnosis=text,
            fix=fix,
            other_role_allows=other_allows,
            deciding=[s.label() for s in record.decision.statements],
        )


def _remove_owned(client: docker.DockerClient, owner_id: str) -> None:
    """Remove whatever Docker objects and NAT rules of simulator ``owner_id`` are still there."""
    owned = {"label": [f"{OWNER}={owner_id}"]}
    # Best effort: at stop, an engine gone away must not hide the error being raised; the reaper at
    # the next start is the backstop.
    with contextlib.suppress(DockerException, requests.RequestException, EcsSimError):
        for container in client.containers.list(all=True, filters=owned, ignore_removed=True):
            with contextlib.suppress(NotFound, APIError):
                container.remove(force=True, v=True)
        for network in client.networks.list(filters=owned):
            remove_network(client, network.id)
        for volume in client.volumes.list(filters=owned):
            with contextlib.suppress(NotFound, APIError):
                volume.remove(force=True)
        iptables.delete(
            [rule for rule in iptables.list_owned() if rule.network_name == NETWORK_PREFIX + owner_id]
        )


def _load_world(world: WorldInput) -> World:
    if isinstance(world, World):
        return world
    if world is None:
        return world_from_dict({}, source="<default world>")
    if isinstance(world, Mapping):
        return world_from_dict(dict(world), source="<world>")
    path = Path(world)
    return load_world(path)


__all__ = ["PHASE_EXECUTION", "PHASE_RUNTIME", "Simulator", "principal_from_arn"]
