"""The agent's container-ordering rules (``agent/engine/dependencygraph/graph.go``), as pure functions.

``verdict`` says whether a container may start now, must wait, or can never start (with the agent's
terminal error text); ``shutdown_stages`` orders the stop so that dependents stop first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..ecs.lifecycle import AgentContainerStatus

START, COMPLETE, SUCCESS, HEALTHY = "START", "COMPLETE", "SUCCESS", "HEALTHY"


@dataclass(frozen=True)
class Node:
    """What the graph needs to know of one container right now."""

    name: str
    image: str  # as written in the task definition: the agent prints that
    known: AgentContainerStatus
    desired: str = "RUNNING"  # RUNNING, or STOPPED once the container or its task is stopping
    exit_code: int | None = None
    health: str = "UNKNOWN"
    has_health_check: bool = False
    started_at: datetime | None = None
    start_timeout: float | None = None  # its own startTimeout: what its dependents wait for at most
    depends_on: Sequence[Mapping[str, str]] = ()
    volumes_from: Sequence[str] = ()  # implicit: a volumesFrom source must be created first
    links: Sequence[str] = ()  # implicit: a linked container must be running first (onSteadyStateIsResolved)

    def __str__(self) -> str:
        # container.go String(): name(image) (KNOWN->DESIRED) - Exit: N
        text = f"{self.name}({self.image}) ({self.known.value}->{self.desired})"
        return text if self.exit_code is None else f"{text} - Exit: {self.exit_code}"

    @property
    def has_not_and_will_not_start(self) -> bool:
        return self.desired == "STOPPED" and not _at_least(self.known, AgentContainerStatus.RUNNING)


WAIT = "wait"
READY = "ready"


def _order(status: AgentContainerStatus) -> int:
    return list(AgentContainerStatus).index(status)


def _at_least(status: AgentContainerStatus, floor: AgentContainerStatus) -> bool:
    return _order(status) >= _order(floor)


def _resolves(dependency: Node, condition: str) -> bool:
    if condition == START:
        # Running, or run and gone already (a short-lived dependency must not block its dependents forever).
        return dependency.known == AgentContainerStatus.RUNNING or (
            dependency.known == AgentContainerStatus.STOPPED and dependency.started_at is not None
        )
    if condition == COMPLETE:
        return dependency.known == AgentContainerStatus.STOPPED and dependency.exit_code is not None
    if condition == SUCCESS:
        return dependency.known == AgentContainerStatus.STOPPED and dependency.exit_code == 0
    if condition == HEALTHY:
        return dependency.has_health_check and dependency.health == "HEALTHY"
    return False


def _timed_out(dependency: Node, condition: str, now: datetime) -> bool:
    # hasDependencyTimedOut: the dependency's own startTimeout, counted from its start.
    if dependency.started_at is None or not dependency.start_timeout or condition == START:
        return False
    return (now - dependency.started_at).total_seconds() > dependency.start_timeout


def _can_never_resolve(dependency: Node, condition: str) -> bool:
    """Where the agent would wait forever (a stopped dependency that can no longer become HEALTHY or
    RUNNING), the simulator ends the wait with the agent's "will never start" text."""
    if dependency.known != AgentContainerStatus.STOPPED:
        return condition == HEALTHY and not dependency.has_health_check
    return condition in (HEALTHY, START) and not _resolves(dependency, condition)


def verdict(target: Node, nodes: Mapping[str, Node], now: datetime) -> str:
    """READY, WAIT, or the terminal ``dependency graph: ...`` text (verifyContainerOrderingStatusResolvable)."""
    blocked = False
    for dependency_ref in target.depends_on:
        dependency = nodes.get(dependency_ref.get("containerName", ""))
        condition = dependency_ref.get("condition", START)
        if dependency is None:
            # The agent formats the missing (nil) container, hence "<nil>".
            return f"dependency graph: container ordering dependency [<nil>] for target [{target}] does not exist."
        pair = f"[{dependency}] for target [{target}]"
        if dependency.known != AgentContainerStatus.STOPPED and _timed_out(dependency, condition, now):
            return f"dependency graph: container ordering dependency {pair} has timed out."
        if (
            condition == SUCCESS
            and dependency.known == AgentContainerStatus.STOPPED
            and dependency.exit_code != 0
        ):
            return (
                f"dependency graph: failed to resolve container ordering dependency {pair} as dependency "
                "did not exit successfully."
            )
        if dependency.has_not_and_will_not_start or _can_never_resolve(dependency, condition):
            return (
                f"dependency graph: failed to resolve container ordering dependency {pair} because "
                "dependency will never start"
            )
        if not _resolves(dependency, condition):
            blocked = True
    implicit = [(name, AgentContainerStatus.CREATED) for name in target.volumes_from]
    implicit += [(name, AgentContainerStatus.RUNNING) for name in target.links]
    for name, needed in implicit:
        source = nodes.get(name)
        if source is not None and not _at_least(source.known, needed):
            if source.has_not_and_will_not_start:
                return (
                    f"dependency graph: failed to resolve container ordering dependency [{source}] for "
                    f"target [{target}] because dependency will never start"
                )
            blocked = True
    return WAIT if blocked else READY


def shutdown_stages(running: Sequence[str], nodes: Mapping[str, Node]) -> list[list[str]]:
    """Groups of containers to stop one after the other: a container stops only once every container
    that depends on it has stopped (verifyShutdownOrder)."""
    remaining = list(running)
    stages: list[list[str]] = []
    while remaining:
        needed = {
            dependency.get("containerName") for name in remaining for dependency in nodes[name].depends_on
        } | {other for name in remaining for other in (*nodes[name].volumes_from, *nodes[name].links)}
        stage = [name for name in remaining if name not in needed] or list(remaining)  # a cycle: all at once
        stages.append(stage)
        remaining = [name for name in remaining if name not in stage]
    return stages
