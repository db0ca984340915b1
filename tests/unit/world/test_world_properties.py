"""Whatever a user writes, loading a world gives a World or an InputError, never another exception."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import InputError
from simulator.world import world_from_dict
from simulator.world.loader import TOP_LEVEL_KEYS, parse_document

# keys a world file really uses, so random input gets deep into the loader
WORDS = [
    *TOP_LEVEL_KEYS,
    "trust", "managed", "inline", "boundary", "tags", "path", "alias", "policy", "value", "type", "key",
    "images", "objects", "hash_key", "range_key", "retention_days", "Version", "Statement", "Effect", "Action",
    "Resource", "Principal", "Condition", "Allow", "Deny", "*", "2012-10-17", "ecs-tasks", "SecureString",
    "alias/app", "app", "/app/x", "AmazonECSTaskExecutionRolePolicy", "111122223333", "us-east-1",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(WORDS),
    st.text(max_size=8),
)
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)


def _loads_or_input_error(data: Any) -> None:
    try:
        world_from_dict(data, "world.yaml")
    except InputError as err:
        assert str(err).startswith("world.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(TOP_LEVEL_KEYS), documents, max_size=6))
def test_random_world_dicts(data: dict[str, Any]) -> None:
    _loads_or_input_error(data)


@settings(max_examples=100, deadline=None)
@given(documents)
def test_random_yaml_text(data: Any) -> None:
    text = yaml.safe_dump(data)
    try:
        parsed = parse_document(text, "world.yaml")
    except InputError:
        return
    _loads_or_input_error(parsed)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_random_text(text: str) -> None:
    try:
        parsed = parse_document(text, "world.yaml")
    except InputError:
        return
    _loads_or_input_error(parsed)
