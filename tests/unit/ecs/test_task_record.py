"""The task lifecycle table and the describe-tasks document, checked against botocore's ECS model."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from simulator.ecs.lifecycle import ContainerStatus, IllegalTransition, TaskStatus
from simulator.ecs.task_record import ContainerRecord, NetworkBinding, TaskRecord

MODEL = botocore.session.get_session().get_service_model("ecs")


def record(launch: str = "FARGATE") -> TaskRecord:
    return TaskRecord(
        cluster_arn="arn:aws:ecs:us-east-1:111122223333:cluster/default",
        task_definition_arn="arn:aws:ecs:us-east-1:111122223333:task-definition/web:1",
        family="web",
        revision=1,
        launch_type=launch,
        region="us-east-1",
        account="111122223333",
        cpu="256",
        memory="512",
        containers=[ContainerRecord("app", "busybox", True, cpu=128, memory=256)],
    )


def assert_shape(value: Any, shape_name: str) -> None:
    """Every key is a member of the botocore shape, recursively (the describe-tasks output contract)."""
    shape = MODEL.shape_for(shape_name)
    for key, item in value.items():
        assert key in shape.members, f"{shape_name} has no member {key}"
        member = shape.members[key]
        if member.type_name == "structure":
            assert_shape(item, member.name)
        elif member.type_name == "list" and member.member.type_name == "structure":
            for element in item:
                assert_shape(element, member.member.name)


def test_full_lifecycle_with_events_and_timestamps() -> None:
    task = record()
    seen: list[Any] = []
    task.subscribe(lambda kind, payload: seen.append((kind, payload if kind == "status" else payload.name)))
    task.set_status(TaskStatus.PENDING)
    task.stamp("pullStartedAt")
    task.stamp("pullStoppedAt")
    task.set_container_status("app", ContainerStatus.RUNNING)
    task.set_status(TaskStatus.ACTIVATING)
    task.set_status(TaskStatus.RUNNING)
    task.request_stop("UserInitiated", "Task stopped by user")
    task.move_to_stopping()
    task.set_container_status("app", ContainerStatus.STOPPED, exit_code=143)
    task.finish()
    statuses = [payload for kind, payload in seen if kind == "status"]
    assert statuses == [
        TaskStatus.PENDING,
        TaskStatus.ACTIVATING,
        TaskStatus.RUNNING,
        TaskStatus.DEACTIVATING,
        TaskStatus.STOPPING,
        TaskStatus.DEPROVISIONING,
        TaskStatus.STOPPED,
    ]
    assert ("container", "app") in seen
    doc = task.to_json()
    stamps = [
        doc[k]
        for k in (
            "createdAt",
            "connectivityAt",
            "pullStartedAt",
            "pullStoppedAt",
            "startedAt",
            "stoppingAt",
            "executionStoppedAt",
            "stoppedAt",
        )
    ]
    assert stamps == sorted(stamps)
    assert doc["stopCode"] == "UserInitiated" and doc["stoppedReason"] == "Task stopped by user"
    assert doc["containers"][0]["exitCode"] == 143


@pytest.mark.parametrize("launch", ["FARGATE", "EC2"])
def test_describe_tasks_document_fits_the_api_model(launch: str) -> None:
    task = record(launch)
    task.set_status(TaskStatus.PENDING)
    task.container("app").network_bindings = [NetworkBinding("127.0.0.1", 80, 49153)]
    doc = task.to_json()
    assert_shape(doc, "Task")
    assert doc["containers"][0]["cpu"] == "128" and doc["containers"][0]["memory"] == "256"
    assert ("platformVersion" in doc) == (launch == "FARGATE")


def test_first_stop_request_wins() -> None:
    task = record()
    assert task.request_stop("EssentialContainerExited", "Essential container in task exited")
    assert not task.request_stop("UserInitiated", "Task stopped by user")
    assert task.stop_code == "EssentialContainerExited"


def test_illegal_transitions_raise() -> None:
    task = record()
    with pytest.raises(IllegalTransition):
        task.set_status(TaskStatus.RUNNING)
    task.set_container_status("app", ContainerStatus.STOPPED)
    with pytest.raises(IllegalTransition):
        task.set_container_status("app", ContainerStatus.RUNNING)
