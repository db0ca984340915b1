"""Every scenario of the sample_tasks catalog runs on real Docker + embedded moto and ends as its
expected.json says: exit code, stop code, the denied action, its phase and the role the diagnosis names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.api import Simulator
from simulator.check import CHECK_SESSION, check_task
from simulator.taskdef import load_taskdef
from simulator.world import load_world

pytestmark = pytest.mark.docker

CATALOG = Path(__file__).resolve().parents[2] / "sample_tasks"
SCENARIOS = sorted(p.name for p in CATALOG.iterdir() if (p / "taskdef.json").is_file())


def expected_of(name: str) -> dict[str, Any]:
    return json.loads((CATALOG / name / "expected.json").read_text())


def test_catalog_is_complete() -> None:
    assert len(SCENARIOS) >= 12
    for name in SCENARIOS:
        folder = CATALOG / name
        for required in ("taskdef.json", "world.yaml", "README.md", "expected.json"):
            assert (folder / required).is_file(), f"{name} lacks {required}"


@pytest.mark.parametrize("aws_hostnames", [False, True], ids=["endpoint-url", "aws-hostnames"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name: str, aws_hostnames: bool) -> None:
    """Also with ``aws_hostnames``: the apps' SDKs then reach the gateway over TLS at the AWS host names,
    and every scenario must end the same."""
    folder = CATALOG / name
    expected = expected_of(name)
    with Simulator(load_world(folder / "world.yaml"), aws_hostnames=aws_hostnames) as sim:
        result = sim.run_task(folder / "taskdef.json")
        report = check_task(sim, load_taskdef(folder / "taskdef.json"))
    document = result.to_json()
    context = json.dumps(document, indent=2, default=str)
    assert result.exit_code == expected["exitCode"], context
    assert document["task"]["lastStatus"] == "STOPPED", context
    if "stopCode" in expected:
        assert document["task"].get("stopCode") == expected["stopCode"], context
    if "stoppedReasonContains" in expected:
        assert expected["stoppedReasonContains"] in document["task"].get("stoppedReason", ""), context
    for container, text in expected.get("logContains", {}).items():
        assert text in result.logs(container), context
    denied = {(d["action"], d["phase"]) for d in document["denials"]}
    wanted = {(d["action"], d["phase"]) for d in expected["denied"]}
    assert wanted <= denied, context
    if not expected["denied"]:
        assert not document["denials"], context
    for want in expected["denied"]:
        match = next(
            d for d in document["denials"] if d["action"] == want["action"] and d["phase"] == want["phase"]
        )
        assert match["roleArn"].endswith(f"role/{want['role']}"), context
        assert want["role"] in match["diagnosis"], context
        assert match["message"] and "is not authorized to perform" in match["message"], context
    # `check` predicts exactly the task-start denials `run` observes (run stops at the first failing step).
    # A log stream is named after the task id, which `check` (no task) stands in for with its own name.
    observed = {
        (d.action, d.resource.replace(result.task.task_id, CHECK_SESSION))
        for d in result.denials
        if d.phase == "execution"
    }
    predicted = {(d.action, d.resource) for d in report.first_failure_denials()}
    assert observed == predicted, context
    assert report.exit_code == (2 if result.failed_to_start else 0), context
    if "diagnosisContains" in expected:
        assert any(expected["diagnosisContains"] in d["diagnosis"] for d in document["denials"]), context
