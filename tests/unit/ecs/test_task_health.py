"""The task's healthStatus from its containers' (HealthCheck API reference)."""

from __future__ import annotations

from simulator.docker.containers import ContainerSpec, HealthCheckSpec
from simulator.phases.runtime import RuntimeContainer, task_health

CHECK = HealthCheckSpec(command=["CMD-SHELL", "true"])


def container(name: str, health: str, *, essential: bool = True, checked: bool = True) -> RuntimeContainer:
    spec = ContainerSpec(
        name=name, image="busybox", labels={}, network="n", health_check=CHECK if checked else None
    )
    return RuntimeContainer({"name": name, "essential": essential}, spec, health=health)


def test_essential_containers_decide_with_unhealthy_first() -> None:
    assert task_health([container("a", "HEALTHY"), container("b", "HEALTHY")]) == "HEALTHY"
    assert task_health([container("a", "HEALTHY"), container("b", "UNKNOWN")]) == "UNKNOWN"
    assert task_health([container("a", "UNKNOWN"), container("b", "UNHEALTHY")]) == "UNHEALTHY"
    # a non-essential container does not count while an essential one has a check
    assert task_health([container("a", "HEALTHY"), container("s", "UNHEALTHY", essential=False)]) == "HEALTHY"


def test_non_essential_containers_decide_when_no_essential_one_has_a_check() -> None:
    app = container("app", "UNKNOWN", checked=False)
    assert task_health([app, container("s", "UNHEALTHY", essential=False)]) == "UNHEALTHY"
    assert task_health([app]) == "UNKNOWN"
