"""One exception root for everything ecs-sim reports to a user.

The CLI turns any ``EcsSimError`` into a one-line red message on stderr and its ``exit_code``;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

# Exit codes of `ecs-sim run` / `check` (SPEC.md "Machine-readable result").
EXIT_OK = 0
EXIT_CONTAINER_FAILED = 1
EXIT_TASK_FAILED_TO_START = 2
EXIT_USAGE = 64
EXIT_ENVIRONMENT = 69  # EX_UNAVAILABLE: Docker engine or backend not reachable


class EcsSimError(Exception):
    """An error meant for the user: ``str(err)`` is the whole message, ``where`` names the place."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InputError(EcsSimError):
    """A task definition, world file, policy or option the user gave is wrong."""


class EnvironmentProblem(EcsSimError):
    """Something outside the input is missing: Docker engine down, backend unreachable."""

    exit_code = EXIT_ENVIRONMENT
