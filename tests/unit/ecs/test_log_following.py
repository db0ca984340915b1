"""A container's output reaches its log lines (and the log sink) whole, also when Docker's follow stream
ends early: Docker 20.10 may end it at a quick container's exit without the output it already had."""

from __future__ import annotations

from collections.abc import Iterator

from simulator.docker.containers import ContainerSpec
from simulator.ecs.task_record import ContainerRecord, TaskRecord
from simulator.phases.runtime import RuntimeContainer, TaskRuntime


class Driver:
    """Docker as the log follower sees it: a follow stream that delivers ``streamed`` chunks, then
    everything the container wrote (``written``) once it has exited."""

    def __init__(self, streamed: list[bytes], written: bytes) -> None:
        self._streamed = streamed
        self._written = written
        self.calls: list[str] = []

    def logs(self, container_id: str) -> Iterator[bytes]:
        self.calls.append("follow")
        yield from self._streamed

    def wait(self, container_id: str) -> int:
        self.calls.append("wait")
        return 0

    def logs_so_far(self, container_id: str) -> bytes:
        self.calls.append("read")
        return self._written


def follow(streamed: list[bytes], written: bytes) -> tuple[list[str], list[tuple[str, str]], Driver]:
    driver = Driver(streamed, written)
    app = RuntimeContainer(
        {"name": "app"}, ContainerSpec(name="app", image="busybox", labels={}, network="n")
    )
    app.docker_id = "c0ffee"
    task = TaskRecord(
        cluster_arn="arn:aws:ecs:us-east-1:111122223333:cluster/default",
        task_definition_arn="arn:aws:ecs:us-east-1:111122223333:task-definition/web:1",
        family="web",
        revision=1,
        launch_type="FARGATE",
        region="us-east-1",
        account="111122223333",
        containers=[ContainerRecord("app", "busybox", True)],
    )
    sunk: list[tuple[str, str]] = []
    runtime = TaskRuntime(task, [app], driver, log_sink=lambda name, line: sunk.append((name, line)))  # type: ignore[arg-type]
    runtime._follow_logs(app)
    return app.log_lines, sunk, driver


def test_output_the_stream_missed_is_read_after_the_exit() -> None:
    lines, sunk, driver = follow([], b'first\n{"RoleArn": "arn:aws:iam::111122223333:role/app"}')
    assert lines == ["first", '{"RoleArn": "arn:aws:iam::111122223333:role/app"}']
    assert sunk == [("app", line) for line in lines]
    assert driver.calls == ["follow", "wait", "read"]


def test_a_stream_cut_mid_line_is_completed_from_the_read() -> None:
    lines, _, _ = follow([b"one\ntw"], b"one\ntwo\nthree\n")
    assert lines == ["one", "two", "three"]


def test_a_whole_stream_emits_each_line_once() -> None:
    lines, _, _ = follow([b"one\n", b"two\r\nthr", b"ee"], b"one\ntwo\r\nthree")
    assert lines == ["one", "two", "three"]
