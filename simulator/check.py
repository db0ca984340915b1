"""`ecs-sim check`: every permission task start needs, evaluated against the world, without Docker.

It walks the same task-start plan that `run` executes (``plan_task_start``) and asks the gateway to
authorize each planned call exactly as it would authorize the real one, so `check` and `run` cannot
disagree about what phase 1 needs. The application's calls (``--task-role-actions``) are authorized by
the gateway too, under a session of the task role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .api import Simulator
from .diagnosis import PHASE_EXECUTION, PHASE_RUNTIME, Denial
from .ecs.failures import LaunchType
from .ecs.trust import ecs_can_assume, unable_to_assume_message
from .errors import EXIT_OK, EXIT_TASK_FAILED_TO_START, InputError
from .gateway import DecisionRecord
from .phases.task_start.plan import missing_execution_role, plan_task_start
from .phases.task_start.units import StartContext
from .task_runner import role_arn_for
from .taskdef import TaskDefinition

CHECK_SESSION = "ecs-sim-check"


@dataclass(frozen=True)
class Requirement:
    phase: str
    role_arn: str
    action: str
    resource: str
    allowed: bool
    step: str
    container: str | None
    stops_task: bool = False  # the first denied step: where `run` would stop the task

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "roleArn": self.role_arn,
            "action": self.action,
            "resource": self.resource,
            "allowed": self.allowed,
            "step": self.step,
            "container": self.container,
            "stopsTask": self.stops_task,
        }


@dataclass
class CheckReport:
    requirements: list[Requirement] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)
    run_task_error: str | None = None
    start_failure: str | None = None  # the stoppedReason of a failure that needs no AWS call to see

    @property
    def phase_one_fails(self) -> bool:
        return (
            self.run_task_error is not None
            or self.start_failure is not None
            or any(not r.allowed for r in self.requirements if r.phase == PHASE_EXECUTION)
        )

    @property
    def exit_code(self) -> int:
        return EXIT_TASK_FAILED_TO_START if self.phase_one_fails else EXIT_OK

    def first_failure_denials(self) -> list[Denial]:
        """The denials of the step where `run` stops the task (it stops at the first failing step)."""
        stopping = {(r.action, r.resource) for r in self.requirements if r.stops_task}
        return [d for d in self.denials if d.phase == PHASE_EXECUTION and (d.action, d.resource) in stopping]

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "required": [r.to_json() for r in self.requirements],
            "denials": [d.to_json() for d in self.denials],
        }
        if self.run_task_error:
            document["runTaskError"] = {"code": "ClientException", "message": self.run_task_error}
        if self.start_failure:
            document["stoppedReason"] = self.start_failure
        return document


def parse_runtime_actions(values: Sequence[str]) -> list[tuple[str, str]]:
    """``ACTION=RESOURCE_ARN`` pairs (from --task-role-actions or lines of a file)."""
    pairs = []
    for value in values:
        action, sep, resource = value.strip().partition("=")
        if not sep or ":" not in action or not resource:
            raise InputError(
                f"expected ACTION=RESOURCE_ARN, e.g. s3:GetObject=arn:aws:s3:::bucket/key, got {value!r}",
                where="--task-role-actions",
            )
        pairs.append((action, resource))
    return pairs


def check_task(
    sim: Simulator, definition: TaskDefinition, runtime_actions: Sequence[tuple[str, str]] = ()
) -> CheckReport:
    report = CheckReport()
    world = sim.world
    assert sim.gateway is not None
    execution_role = role_arn_for(definition.execution_role_arn, world.account)
    task_role = role_arn_for(definition.task_role_arn, world.account)
    cluster_arn = f"arn:aws:ecs:{world.region}:{world.account}:cluster/{sim.cluster}"
    assert sim.policies is not None
    for role_arn in filter(None, (execution_role, task_role)):
        trusted = ecs_can_assume(sim.policies, role_arn, world.account, cluster_arn)
        report.requirements.append(
            Requirement(
                PHASE_EXECUTION,
                role_arn,
                "sts:AssumeRole",
                role_arn,
                trusted,
                "RunTask: roles",
                None,
                stops_task=not trusted and report.run_task_error is None,
            )
        )
        if not trusted and report.run_task_error is None:
            report.run_task_error = unable_to_assume_message(role_arn)

    ctx = StartContext(LaunchType(sim.launch_type), world.region, world.account, CHECK_SESSION)
    units = plan_task_start(ctx, list(definition.raw["containerDefinitions"]), None, lambda repo, tag: None)
    stopped = report.run_task_error is not None
    if execution_role and report.run_task_error is None:
        label = f"{CHECK_SESSION}/execution"
        session = sim.assume_role(execution_role, CHECK_SESSION, label)
        other = sim.role_principal(task_role, CHECK_SESSION)
        try:
            for unit in units:
                sim.set_current_unit(label, unit)
                for call in unit.calls():
                    sim.gateway.authorize_call(
                        session, call.service, call.operation, dict(call.params), world.region
                    )
                records = sim.take_decisions(label)
                failed = any(not r.decision.allowed for r, _ in records)
                for record, why in records:
                    report.requirements.append(
                        _requirement(
                            record, PHASE_EXECUTION, execution_role, unit.kind, unit.container, not stopped
                        )
                    )
                    if not record.decision.allowed:
                        report.denials.append(
                            sim.denial_of(record, why, PHASE_EXECUTION, session.principal, other)
                        )
                stopped = stopped or failed
        finally:
            sim.set_current_unit(label, None)
            sim.sessions.revoke(session.access_key_id)
    elif (missing := missing_execution_role(units, execution_role)) is not None:
        report.start_failure = missing.stopped_reason

    if task_role and runtime_actions:
        # Decided by the gateway exactly as the application's own calls would be, session and all.
        label = f"{CHECK_SESSION}/task"
        session = sim.assume_role(task_role, CHECK_SESSION, label)
        other = sim.role_principal(execution_role, CHECK_SESSION)
        try:
            for action, resource in runtime_actions:
                sim.gateway.authorize_action(session, action, resource, world.region)
                for record, why in sim.take_decisions(label):
                    report.requirements.append(_requirement(record, PHASE_RUNTIME, task_role, "application"))
                    if not record.decision.allowed:
                        report.denials.append(
                            sim.denial_of(record, why, PHASE_RUNTIME, session.principal, other)
                        )
        finally:
            sim.sessions.revoke(session.access_key_id)
    return report


def _requirement(
    record: DecisionRecord,
    phase: str,
    role_arn: str,
    step: str,
    container: str | None = None,
    first_failure: bool = False,
) -> Requirement:
    return Requirement(
        phase,
        role_arn,
        record.action,
        record.resource,
        record.decision.allowed,
        step,
        container,
        stops_task=first_failure and not record.decision.allowed,
    )
