"""ecs-sim: run Amazon ECS task definitions locally, with both IAM roles enforced.

    from simulator import Simulator

    with Simulator(world="world.yaml") as sim:
        result = sim.run_task("taskdef.json")
        result.assert_denied("secretsmanager:GetSecretValue", phase="execution")

The public names are imported on first use, so ``import simulator`` (and ``ecs-sim --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Simulator
    from .diagnosis import Denial
    from .result import TaskResult
    from .task_runner import TaskRun

_EXPORTS = {"Simulator": ".api", "TaskResult": ".result", "TaskRun": ".task_runner", "Denial": ".diagnosis"}

__all__ = ["Denial", "Simulator", "TaskResult", "TaskRun"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
