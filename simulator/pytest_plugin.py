"""pytest plugin (entry point ``pytest11``): fixtures that give a test a running ecs-sim.

Fixtures (each overridable in a conftest.py):
- ``ecs_world``: the world the simulator seeds: the file from ``@pytest.mark.ecs_world("path")`` or
  ``--ecs-world``; override it to build a world in code (return a dict in the world-file format).
- ``ecs_sim``: a started ``Simulator`` for one test, removed afterwards (its own backend, gateway and
  task network, so tests may run in parallel with ``pytest -n``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .api import Simulator

_WORLD_OPTION = "--ecs-world"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecs-sim")
    group.addoption(_WORLD_OPTION, default=None, help="world file for the ecs_world fixture")
    group.addoption(
        "--ecs-launch-type", default="FARGATE", choices=("FARGATE", "EC2"), help="failure wording of ecs_sim"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ecs_world(path): the world file the ecs_world fixture loads")


@pytest.fixture
def ecs_world(request: pytest.FixtureRequest) -> str | Path | dict[str, Any] | None:
    """The world for ``ecs_sim``: the ``ecs_world`` marker's path, else ``--ecs-world``, else the
    default (empty) world. Override to build one in code."""
    marker = request.node.get_closest_marker("ecs_world")
    if marker is not None:
        path = Path(marker.args[0])
        return path if path.is_absolute() else Path(request.node.path).parent / path
    option = request.config.getoption(_WORLD_OPTION)
    return Path(option) if option else None


@pytest.fixture
def ecs_sim(request: pytest.FixtureRequest, ecs_world: Any) -> Iterator[Simulator]:
    """A started simulator seeded with ``ecs_world``; everything it started is removed after the test,
    also when the test fails."""
    with Simulator(ecs_world, launch_type=request.config.getoption("--ecs-launch-type")) as sim:
        yield sim
