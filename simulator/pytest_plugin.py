"""pytest plugin (entry point ``pytest11``): fixtures that give a test a running ecs-sim.

Fixtures (each overridable in a conftest.py or test module):

- ``ecs_world``: the world ``ecs_sim`` seeds: ``@pytest.mark.ecs_world(path_or_dict)`` (a path relative
  to the test file), an indirect parameter, else ``--ecs-world`` / ini ``ecs_world``, else the empty
  world. Override it to build a world in code: return a dict in the world-file format.
- ``ecs_sim``: a fresh simulator per test: its own backend state, gateway, endpoints and task network,
  all removed after the test, also when it fails. Nothing a test does is seen by another, and tests may
  run in parallel with ``pytest -n`` (each xdist worker is a process with its own backend).
- ``ecs_session_sim``: one simulator for the whole session (per xdist worker), seeded with the session
  world (``--ecs-world``): no start-up cost per test. Each task's result and denials stay its own, but
  what tasks change in AWS (objects written, secrets rotated) is seen by later tests. moto keeps one
  state per account in a process, so while an ``ecs_sim`` test uses the same account the session
  simulator is stopped; it starts again, freshly seeded, before the next test that uses it.

Assertions that fail with the diagnosis: ``result.assert_denied(action, phase=)``,
``assert_not_denied()``, ``assert_stopped_with(code)``, ``assert_succeeded()`` (see ``TaskResult``).
When a test fails anyway (a plain ``assert``), its report gets an "ecs-sim tasks" section with what
every task it started did, denials and their diagnosis included.

    @pytest.mark.ecs_world("world.yaml")
    def test_secret_needs_the_execution_role(ecs_sim):
        result = ecs_sim.run_task("taskdef.json")
        result.assert_denied("secretsmanager:GetSecretValue", phase="execution")
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .api import Simulator
    from .task_runner import TaskRun

LAUNCH_TYPES = ("FARGATE", "EC2")


@dataclass(frozen=True)
class _Settings:
    world: Path | None  # the session world, absolute
    launch_type: str
    aws_hostnames: bool


_SETTINGS = pytest.StashKey[_Settings]()
_RUNS = pytest.StashKey[list["TaskRun"]]()  # tasks started by the test running now


@dataclass
class _SessionSim:
    sim: Simulator | None = None
    suspended: bool = False

    def make_room_for(self, account: str) -> None:
        """Stop the session simulator when it holds ``account``, which a test's own simulator needs."""
        if self.sim is not None and not self.suspended and self.sim.world.account == account:
            self.sim.stop()
            self.suspended = True

    def resume(self) -> None:
        if self.sim is not None and self.suspended:
            self.sim.start()
            self.suspended = False


_SESSION_SIM = pytest.StashKey[_SessionSim]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecs-sim", "ecs-sim (local Amazon ECS tasks)")
    group.addoption(
        "--ecs-world",
        dest="ecs_world",
        default=None,
        help="world file for ecs_world / ecs_session_sim (default: ini ecs_world, else an empty world)",
    )
    group.addoption(
        "--ecs-launch-type",
        dest="ecs_launch_type",
        default=None,
        choices=LAUNCH_TYPES,
        help="whose failure wording the simulators use (default: ini ecs_launch_type, else FARGATE)",
    )
    group.addoption(
        "--ecs-aws-hostnames",
        dest="ecs_aws_hostnames",
        action="store_true",
        default=False,
        help="task containers reach the simulator at the real AWS host names, without AWS_ENDPOINT_URL",
    )
    parser.addini("ecs_world", "world file for ecs_world / ecs_session_sim, relative to the rootdir")
    parser.addini("ecs_launch_type", "FARGATE or EC2", default="FARGATE")
    parser.addini("ecs_aws_hostnames", "as --ecs-aws-hostnames", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ecs_world(world): world file (relative to the test file) or dict for the ecs_world fixture",
    )
    option, ini = config.getoption("ecs_world"), config.getini("ecs_world")
    world = None
    if option:
        world = config.invocation_params.dir / option
    elif ini:
        world = config.rootpath / ini
    if world is not None and not world.is_file():
        raise pytest.UsageError(f"ecs-sim: no such world file: {world}")
    launch_type = (config.getoption("ecs_launch_type") or config.getini("ecs_launch_type")).upper()
    if launch_type not in LAUNCH_TYPES:
        raise pytest.UsageError(f"ecs-sim: ecs_launch_type must be FARGATE or EC2, not {launch_type!r}")
    aws_hostnames = bool(config.getoption("ecs_aws_hostnames") or config.getini("ecs_aws_hostnames"))
    config.stash[_SETTINGS] = _Settings(world.resolve() if world else None, launch_type, aws_hostnames)
    config.stash[_SESSION_SIM] = _SessionSim()


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[_SETTINGS]
    backend = os.environ.get("ECS_SIM_BACKEND") or "moto"
    return (
        f"ecs-sim: world {settings.world or '(empty)'}, launch type {settings.launch_type}, backend {backend}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[_RUNS] = []
    if "ecs_session_sim" in getattr(item, "fixturenames", ()):
        item.config.stash[_SESSION_SIM].resume()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    runs = item.config.stash.get(_RUNS, [])
    if report.failed and runs:
        report.sections.append(("ecs-sim tasks", "\n\n".join(run.result.explain() for run in runs)))
    return report


def _simulator(world: Any, config: pytest.Config) -> Simulator:
    """A simulator that files every task it starts under the test running at the time. (Defined here:
    the plugin is loaded by every pytest run, and importing the simulator costs seconds.)"""
    from .api import Simulator

    class Recording(Simulator):
        def start_task(self, *args: Any, **kwargs: Any) -> TaskRun:
            run = super().start_task(*args, **kwargs)
            config.stash.setdefault(_RUNS, []).append(run)
            return run

    settings = config.stash[_SETTINGS]
    return Recording(world, launch_type=settings.launch_type, aws_hostnames=settings.aws_hostnames)


@pytest.fixture
def ecs_world(request: pytest.FixtureRequest) -> Any:
    """The world for ``ecs_sim``: the ``ecs_world`` marker, an indirect parameter, the session world,
    else None (the empty world). Override to build one in code."""
    if hasattr(request, "param"):
        return request.param
    marker = request.node.get_closest_marker("ecs_world")
    if marker is None:
        return request.config.stash[_SETTINGS].world
    if len(marker.args) != 1:
        raise pytest.UsageError("@pytest.mark.ecs_world takes one argument: a world file path or a dict")
    world = marker.args[0]
    if isinstance(world, Mapping) or not isinstance(world, str | Path):
        return world
    path = Path(world)
    return path if path.is_absolute() else Path(request.node.path).parent / path


@pytest.fixture
def ecs_sim(request: pytest.FixtureRequest, ecs_world: Any) -> Iterator[Simulator]:
    """A started simulator seeded with ``ecs_world``, for this test only."""
    sim = _simulator(ecs_world, request.config)
    request.config.stash[_SESSION_SIM].make_room_for(sim.world.account)
    with sim:
        yield sim


@pytest.fixture(scope="session")
def ecs_session_sim(pytestconfig: pytest.Config) -> Iterator[Simulator]:
    """One started simulator for the session, seeded with the session world (``--ecs-world``)."""
    session = pytestconfig.stash[_SESSION_SIM]
    with _simulator(pytestconfig.stash[_SETTINGS].world, pytestconfig) as sim:
        session.sim = sim
        try:
            yield sim
        finally:
            session.sim = None
