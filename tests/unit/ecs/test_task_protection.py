"""ECS's side of task scale-in protection: default and custom expiry, lapse, the value range, and the
caller's authorization before anything else."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from simulator.ecs.task_protection import (
    GET_ACTION,
    UPDATE_ACTION,
    EcsError,
    Failure,
    ProtectedTask,
    TaskProtection,
)

TASK_ARN = "arn:aws:ecs:us-east-1:111122223333:task/default/8f03e41243824aea923aca126495f665"
CLUSTER_ARN = "arn:aws:ecs:us-east-1:111122223333:cluster/default"
START = datetime(2026, 6, 30, 18, 0, 0, 123456, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Authorizer:
    """Allows unless ``denied`` names the action; remembers what it was asked."""

    def __init__(self, denied: str | None = None) -> None:
        self.denied = denied
        self.asked: list[tuple[str, Mapping[str, str]]] = []

    def __call__(self, action: str, keys: Mapping[str, str]) -> str | None:
        self.asked.append((action, dict(keys)))
        return f"not authorized to perform: {action}" if action == self.denied else None


def protection(
    authorizer: Authorizer | None = None, clock: Clock | None = None, *, in_service: bool = True
) -> TaskProtection:
    return TaskProtection(
        TASK_ARN, CLUSTER_ARN, authorizer or Authorizer(), clock or Clock(), in_service=in_service
    )


def test_an_unprotected_task() -> None:
    assert protection().get() == ProtectedTask(TASK_ARN, False, None)


def test_default_expiry_is_120_minutes_to_the_millisecond() -> None:
    record = protection()
    expected = START.replace(microsecond=123000) + timedelta(minutes=120)
    assert record.update(True, None) == ProtectedTask(TASK_ARN, True, expected)
    assert record.get() == ProtectedTask(TASK_ARN, True, expected)


def test_custom_expiry_lapses_and_reads_as_unprotected() -> None:
    clock = Clock()
    record = protection(clock=clock)
    record.update(True, 5)
    clock.now = START + timedelta(minutes=4, seconds=59)
    assert record.get().protection_enabled
    clock.now = START + timedelta(minutes=5)
    assert record.get() == ProtectedTask(TASK_ARN, False, None)


def test_turning_protection_off_drops_the_expiry() -> None:
    record = protection()
    record.update(True, 2880)
    assert record.update(False, None) == ProtectedTask(TASK_ARN, False, None)
    assert record.get() == ProtectedTask(TASK_ARN, False, None)


@pytest.mark.parametrize("minutes", [0, -1, 2881])
def test_expiry_out_of_range_is_an_invalid_parameter(minutes: int) -> None:
    record = protection()
    with pytest.raises(EcsError) as raised:
        record.update(True, minutes)
    assert (raised.value.code, raised.value.status) == ("InvalidParameterException", 400)
    assert str(minutes) in raised.value.message and "2880" in raised.value.message
    assert not record.get().protection_enabled


def test_the_caller_is_authorized_on_the_task_with_the_cluster_key() -> None:
    authorizer = Authorizer()
    record = protection(authorizer)
    record.update(True, 1)
    record.get()
    keys = {"ecs:cluster": CLUSTER_ARN}
    assert authorizer.asked == [(UPDATE_ACTION, keys), (GET_ACTION, keys)]


def test_a_denied_caller_gets_access_denied_before_the_value_is_checked() -> None:
    record = protection(Authorizer(denied=UPDATE_ACTION))
    with pytest.raises(EcsError) as raised:
        record.update(True, 99999)
    assert (raised.value.code, raised.value.status) == ("AccessDeniedException", 400)
    assert raised.value.message == "not authorized to perform: ecs:UpdateTaskProtection"
    assert record.get() == ProtectedTask(TASK_ARN, False, None)  # reading is still allowed


def test_a_standalone_task_cannot_be_protected_but_the_caller_is_authorized_first() -> None:
    record = protection(in_service=False)
    assert record.update(True, 30) == Failure(TASK_ARN, "TASK_NOT_VALID")
    assert record.get() == Failure(TASK_ARN, "TASK_NOT_VALID")
    denied = protection(Authorizer(denied="ecs:GetTaskProtection"), in_service=False)
    with pytest.raises(EcsError, match="not authorized to perform: ecs:GetTaskProtection"):
        denied.get()
