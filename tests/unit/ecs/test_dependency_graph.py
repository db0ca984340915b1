"""The agent's dependsOn rules and error texts (agent/engine/dependencygraph/graph.go)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulator.ecs.lifecycle import AgentContainerStatus as S
from simulator.phases.dependency_graph import READY, WAIT, Node, shutdown_stages, verdict

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def node(name: str, known: S = S.PULLED, **kwargs) -> Node:
    return Node(name=name, image=f"img/{name}", known=known, **kwargs)


def app(condition: str) -> Node:
    return node("app", depends_on=({"containerName": "dep", "condition": condition},))


def judge(target: Node, dep: Node | None) -> str:
    nodes = {target.name: target} | ({dep.name: dep} if dep else {})
    return verdict(target, nodes, NOW)


def test_container_string_is_the_agents() -> None:
    assert str(node("web", S.RUNNING)) == "web(img/web) (RUNNING->RUNNING)"
    assert (
        str(node("web", S.STOPPED, desired="STOPPED", exit_code=1))
        == "web(img/web) (STOPPED->STOPPED) - Exit: 1"
    )


def test_start_waits_for_running() -> None:
    assert judge(app("START"), node("dep", S.PULLED)) == WAIT
    assert judge(app("START"), node("dep", S.CREATED)) == WAIT
    assert judge(app("START"), node("dep", S.RUNNING, started_at=NOW)) == READY


def test_complete_and_success() -> None:
    running = node("dep", S.RUNNING, started_at=NOW)
    assert judge(app("COMPLETE"), running) == WAIT
    failed = node("dep", S.STOPPED, desired="STOPPED", exit_code=3, started_at=NOW)
    assert judge(app("COMPLETE"), failed) == READY
    assert judge(app("SUCCESS"), failed) == (
        "dependency graph: failed to resolve container ordering dependency "
        "[dep(img/dep) (STOPPED->STOPPED) - Exit: 3] for target [app(img/app) (PULLED->RUNNING)] "
        "as dependency did not exit successfully."
    )
    assert judge(app("SUCCESS"), node("dep", S.STOPPED, desired="STOPPED", exit_code=0)) == READY


def test_healthy() -> None:
    starting = node("dep", S.RUNNING, has_health_check=True, started_at=NOW)
    assert judge(app("HEALTHY"), starting) == WAIT
    healthy = node("dep", S.RUNNING, has_health_check=True, health="HEALTHY", started_at=NOW)
    assert judge(app("HEALTHY"), healthy) == READY
    no_check = node("dep", S.RUNNING, started_at=NOW)
    assert judge(app("HEALTHY"), no_check).endswith("because dependency will never start")


def test_start_timeout_is_the_dependencys_own() -> None:
    slow = node(
        "dep", S.RUNNING, has_health_check=True, started_at=NOW - timedelta(seconds=11), start_timeout=10
    )
    assert judge(app("HEALTHY"), slow) == (
        "dependency graph: container ordering dependency [dep(img/dep) (RUNNING->RUNNING)] for target "
        "[app(img/app) (PULLED->RUNNING)] has timed out."
    )
    assert judge(app("START"), slow) == READY  # START never times out


def test_dependency_that_will_never_start() -> None:
    never = node("dep", S.STOPPED, desired="STOPPED", exit_code=143)
    assert judge(app("START"), never) == (
        "dependency graph: failed to resolve container ordering dependency "
        "[dep(img/dep) (STOPPED->STOPPED) - Exit: 143] for target [app(img/app) (PULLED->RUNNING)] "
        "because dependency will never start"
    )


def test_missing_dependency_prints_nil() -> None:
    assert judge(app("START"), None) == (
        "dependency graph: container ordering dependency [<nil>] for target [app(img/app) (PULLED->RUNNING)] "
        "does not exist."
    )


def test_volumes_from_source_is_created_first() -> None:
    target = node("app", volumes_from=("data",))
    assert verdict(target, {"app": target, "data": node("data", S.PULLED)}, NOW) == WAIT
    assert verdict(target, {"app": target, "data": node("data", S.CREATED)}, NOW) == READY


def test_shutdown_stops_dependents_first() -> None:
    nodes = {
        "db": node("db", S.RUNNING),
        "api": node("api", S.RUNNING, depends_on=({"containerName": "db", "condition": "HEALTHY"},)),
        "web": node("web", S.RUNNING, depends_on=({"containerName": "api", "condition": "START"},)),
    }
    assert shutdown_stages(["db", "api", "web"], nodes) == [["web"], ["api"], ["db"]]


def test_links_wait_for_a_running_target() -> None:
    target = node("web", links=("db",))
    assert verdict(target, {"web": target, "db": node("db", S.CREATED)}, NOW) == WAIT
    assert verdict(target, {"web": target, "db": node("db", S.RUNNING)}, NOW) == READY
