"""Whatever a task definition holds, loading it gives a TaskDefinition or an InputError."""

from __future__ import annotations

import contextlib
import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import InputError
from simulator.taskdef import apply_overrides, load_taskdef

from .test_taskdef import GOOD

WORDS = [
    "family", "containerDefinitions", "name", "image", "memory", "memoryReservation", "cpu", "essential",
    "dependsOn", "containerName", "condition", "START", "HEALTHY", "secrets", "valueFrom", "environmentFiles",
    "type", "s3", "value", "logConfiguration", "logDriver", "awslogs", "options", "healthCheck", "command",
    "CMD", "requiresCompatibilities", "FARGATE", "networkMode", "awsvpc", "portMappings", "containerPort",
    "hostPort", "executionRoleArn", "app", "init",
]  # fmt: skip
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(WORDS), st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(WORDS), values, max_size=5))
def test_random_taskdefs(data: dict[str, Any]) -> None:
    try:
        load_taskdef(data, source="taskdef.json")
    except InputError as err:
        assert str(err).startswith("taskdef.json")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([0, 1]), st.sampled_from(WORDS), values)
def test_random_changes_to_a_good_container(index: int, key: str, value: Any) -> None:
    data = copy.deepcopy(GOOD)
    data["containerDefinitions"][index][key] = value
    try:
        load_taskdef(data, source="taskdef.json")
    except InputError as err:
        assert str(err).startswith("taskdef.json")


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["containerOverrides", "taskRoleArn", "cpu", "memory", *WORDS]), values)
)
def test_random_overrides(overrides: dict[str, Any]) -> None:
    taskdef = load_taskdef(copy.deepcopy(GOOD), source="taskdef.json")
    with contextlib.suppress(InputError):
        apply_overrides(taskdef, overrides)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=60), st.builds(json.dumps, values)))
def test_random_files(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "taskdef.json"
        path.write_text(text)
        try:
            load_taskdef(path)
        except InputError as err:
            assert str(err).startswith(str(path))
