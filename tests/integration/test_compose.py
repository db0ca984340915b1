"""The repository's docker-compose.yml under `ecs-sim serve`, run exactly as docs/integrations.md shows:
the example app reads S3 with the task role when the world allows it and gets AccessDenied (and serve
prints the diagnosis) when it does not; afterwards nothing is left."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest
from doc_examples import REPO, doc_example
from test_serve import leftovers

pytestmark = pytest.mark.docker


def run_example(
    name: str, *, replace: tuple[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the doc's shell example ``name`` from the repository root, in its own compose project and
    network (so it may run beside other tests and beside a user's own `serve`)."""
    script = doc_example(name)
    if replace:
        assert replace[0] in script
        script = script.replace(*replace)
    suffix = secrets.token_hex(3)
    network = f"ecs-sim-compose-{suffix}"
    env = os.environ | {"ECS_SIM_NETWORK": network, "COMPOSE_PROJECT_NAME": f"ecssimtest{suffix}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    return done, network


def test_compose_app_reads_s3_with_the_task_role() -> None:
    done, network = run_example("compose")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "app: read s3://app-data/hello.txt: hello from S3" in done.stdout
    assert leftovers(network) == []


def test_compose_app_is_denied_without_the_permission() -> None:
    # the doc's variant: the same stack under a task role that may not read the bucket
    done, network = run_example(
        "compose", replace=("--task-role app-task-role", "--task-role app-no-s3-role")
    )
    assert done.returncode == 3, done.stdout + done.stderr  # the app's exit code, through compose and serve
    assert "app: AccessDenied: User: arn:aws:sts::111122223333:assumed-role/app-no-s3-role/" in done.stdout
    assert "AccessDenied: which role needs what" in done.stderr
    diagnosis = " ".join(done.stderr.replace("│", " ").split())  # rich wraps it in a panel
    assert "was denied to the task role `app-no-s3-role` at runtime" in diagnosis
    assert leftovers(network) == []


def test_serve_in_the_background_with_an_env_file() -> None:
    done, network = run_example("serve-background")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "app: read s3://app-data/hello.txt: hello from S3" in done.stdout
    assert not (REPO / ".ecs-sim.env").exists()
    assert leftovers(network) == []
