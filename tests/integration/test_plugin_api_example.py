"""The Python API example of docs/integrations.md, run as a user would: a script in the repository root."""

from __future__ import annotations

import subprocess
import sys

import pytest
from doc_examples import REPO, doc_example

pytestmark = pytest.mark.docker


def test_documented_python_api_example() -> None:
    done = subprocess.run(
        [sys.executable, "-c", doc_example("python-api")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "was denied to the task execution role `ecsTaskExecutionRole` at task start" in done.stdout
    assert "the secret exists: app/db" in done.stdout
