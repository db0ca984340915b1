"""The task lifecycle on real Docker: statuses and timestamps, dependsOn, health checks, stop semantics.

Needs Docker, root (iptables) and the ecs-sim/busybox image; fails, never skips, without them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.api import Simulator
from simulator.taskdef import load_taskdef

pytestmark = pytest.mark.docker

BUSYBOX = "ecs-sim/busybox:latest"
WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]}
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD) as simulator:
        yield simulator


def taskdef(*containers: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {
        "family": "runtime",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"image": BUSYBOX, **c} for c in containers],
        **task,
    }


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def test_statuses_timestamps_and_events(sim: Simulator) -> None:
    events: list[tuple[str, Any]] = []
    result = sim.run_task(
        taskdef({"name": "app", "command": sh("echo hi")}),
        on_event=lambda kind, payload: events.append((kind, payload)),
    )
    statuses = [str(payload) for kind, payload in events if kind == "status"]
    assert statuses == [
        "PENDING",
        "ACTIVATING",
        "RUNNING",
        "DEACTIVATING",
        "STOPPING",
        "DEPROVISIONING",
        "STOPPED",
    ]
    doc = result.to_json()["task"]
    order = [
        "createdAt",
        "pullStartedAt",
        "pullStoppedAt",
        "startedAt",
        "stoppingAt",
        "executionStoppedAt",
        "stoppedAt",
    ]
    stamps = [doc[name] for name in order]
    assert stamps == sorted(stamps), doc
    assert doc["lastStatus"] == "STOPPED" and doc["desiredStatus"] == "STOPPED"
    assert doc["stopCode"] == "EssentialContainerExited"
    assert doc["stoppedReason"] == "Essential container in task exited"
    assert doc["containers"][0]["exitCode"] == 0 and doc["containers"][0]["runtimeId"]
    assert doc["connectivity"] == "CONNECTED" and doc["platformVersion"]
    assert any(kind == "containers" for kind, _ in events)


def test_healthy_dependency_starts_only_after_health_check_passes(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {
                "name": "sidecar",
                "essential": False,
                "command": sh("sleep 1; touch /shared/ready; exec sleep 300"),
                "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}],
                "healthCheck": {
                    "command": ["CMD-SHELL", "test -f /shared/ready"],
                    "interval": 1,
                    "retries": 5,
                },
                "stopTimeout": 2,
            },
            {
                "name": "app",
                "command": sh("test -f /shared/ready && echo saw ready || echo too early"),
                "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}],
                "dependsOn": [{"containerName": "sidecar", "condition": "HEALTHY"}],
            },
            volumes=[{"name": "shared"}],
        )
    )
    assert result.logs("app") == "saw ready", result.to_json()
    doc = result.to_json()["task"]
    sidecar = next(c for c in doc["containers"] if c["name"] == "sidecar")
    # No essential container has a health check, so the sidecar's decides the task's (HealthCheck docs).
    assert sidecar["healthStatus"] == "HEALTHY" and doc["healthStatus"] == "HEALTHY"
    assert result.exit_code == 0


def test_success_dependency_that_fails_gives_143(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {"name": "init", "essential": False, "command": sh("exit 3")},
            {
                "name": "app",
                "command": sh("echo never"),
                "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
            },
        )
    )
    app = result.task.container("app")
    assert app.exit_code == 143
    assert app.reason == (
        "CannotStartContainerError: dependency graph: failed to resolve container ordering dependency "
        f"[init({BUSYBOX}) (STOPPED->STOPPED) - Exit: 3] for target [app({BUSYBOX}) (PULLED->RUNNING)] as "
        "dependency did not exit successfully."
    )
    assert app.docker_id is None and result.logs("app") == ""
    assert result.task.stop_code == "EssentialContainerExited"


def test_complete_dependency_runs_after_init_exits(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {"name": "init", "essential": False, "command": sh("exit 3")},
            {
                "name": "app",
                "command": sh("echo after"),
                "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}],
            },
        )
    )
    assert result.logs("app") == "after" and result.exit_code == 0


def test_start_timeout_of_the_dependency(sim: Simulator) -> None:
    begun = time.monotonic()
    result = sim.run_task(
        taskdef(
            {
                "name": "slow",
                "essential": False,
                "command": ["sleep", "300"],
                "healthCheck": {"command": ["CMD-SHELL", "exit 1"], "interval": 5, "retries": 10},
                "startTimeout": 2,
                "stopTimeout": 1,
            },
            {
                "name": "app",
                "command": sh("echo never"),
                "dependsOn": [{"containerName": "slow", "condition": "HEALTHY"}],
            },
        )
    )
    app = result.task.container("app")
    assert app.exit_code == 143 and app.reason is not None
    assert app.reason.endswith("has timed out."), app.reason
    assert app.reason.startswith(
        f"CannotStartContainerError: dependency graph: container ordering dependency [slow({BUSYBOX}) (RUNNING->RUNNING)]"
    )
    assert time.monotonic() - begun < 15


def test_essential_exit_stops_sidecars_in_reverse_dependency_order_within_stop_timeout(
    sim: Simulator,
) -> None:
    stopped: list[str] = []

    def on_event(kind: str, payload: Any) -> None:
        if kind == "containers":
            for c in payload.containers:
                if c.last_status.value == "STOPPED" and c.name not in stopped:
                    stopped.append(c.name)

    begun = time.monotonic()
    result = sim.run_task(
        taskdef(
            # sleep as PID 1 ignores SIGTERM: Docker sends SIGKILL after stopTimeout (2 s).
            {"name": "db", "essential": False, "command": ["sleep", "300"], "stopTimeout": 2},
            {
                "name": "api",
                "essential": False,
                "command": sh("trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done"),
                "dependsOn": [{"containerName": "db", "condition": "START"}],
            },
            {
                "name": "app",
                "command": sh("sleep 0.5"),
                "dependsOn": [{"containerName": "api", "condition": "START"}],
            },
        ),
        on_event=on_event,
    )
    elapsed = time.monotonic() - begun
    assert stopped == ["app", "api", "db"], stopped
    assert result.task.container("api").exit_code == 0 and "got TERM" in result.logs("api")
    assert result.task.container("db").exit_code == 137  # SIGKILL after stopTimeout
    assert elapsed < 12, elapsed
    assert result.task.stop_code == "EssentialContainerExited"


def test_user_stop(sim: Simulator) -> None:
    run = sim.start_task(taskdef({"name": "app", "command": ["sleep", "300"], "stopTimeout": 1}))
    deadline = time.monotonic() + 20
    while run.task.last_status.value != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    run.stop()
    result = run.wait(30)
    assert result.task.stop_code == "UserInitiated"
    assert result.task.stopped_reason == "Task stopped by user"
    assert result.task.container("app").exit_code == 137


def test_unhealthy_essential_container_keeps_a_run_task_task_running(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {
                "name": "app",
                "command": sh("sleep 3"),
                "healthCheck": {"command": ["CMD-SHELL", "exit 1"], "interval": 1, "retries": 1},
            }
        )
    )
    doc = result.to_json()["task"]
    assert doc["healthStatus"] == "UNHEALTHY" and doc["containers"][0]["healthStatus"] == "UNHEALTHY"
    assert doc["stopCode"] == "EssentialContainerExited"  # ran to its end: RunTask does not replace it


def test_unhealthy_essential_container_stops_a_service_task(sim: Simulator) -> None:
    definition = load_taskdef(
        taskdef(
            {
                "name": "app",
                "command": ["sleep", "300"],
                "stopTimeout": 1,
                "healthCheck": {"command": ["CMD-SHELL", "exit 1"], "interval": 1, "retries": 1},
            }
        )
    )
    result = sim.start_task(definition, service="web").wait(60)
    assert result.task.stop_code == "ServiceSchedulerInitiated"
    assert result.task.stopped_reason == "Task failed container health checks"
    assert result.task.health_status == "UNHEALTHY"


def test_ctrl_c_is_a_user_initiated_stop(tmp_path) -> None:
    definition = tmp_path / "taskdef.json"
    definition.write_text(json.dumps(taskdef({"name": "app", "command": ["sleep", "300"], "stopTimeout": 1})))
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", str(definition), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "task RUNNING" in line:
            break
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"no stop after SIGINT; stderr: {err}") from None
    task = json.loads(out)["task"]
    assert task["stopCode"] == "UserInitiated" and task["stoppedReason"] == "Task stopped by user"
    assert task["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 137
    assert process.returncode == 130


def test_quick_containers_output_is_never_lost(sim: Simulator) -> None:
    # Docker 20.10 ends a log follow at a quick container's exit without its output about 1 time in 10
    # when busy: 16 tasks at once, each exiting as soon as it has written, make it likely to show.
    definition = taskdef(
        {"name": "app", "command": sh("echo first; printf 'last, no newline'")},
        {"name": "sidecar", "command": sh("echo sidecar"), "essential": False},
    )
    runs = [sim.start_task(definition) for _ in range(16)]
    results = [run.wait(120) for run in runs]
    assert [r.container_logs["app"] for r in results] == [["first", "last, no newline"]] * 16
    assert [r.container_logs["sidecar"] for r in results] == [["sidecar"]] * 16


def test_run_as_a_service_task_from_the_cli(tmp_path) -> None:
    definition = tmp_path / "taskdef.json"
    read_metadata = 'wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task" | grep -o \'"ServiceName":"[^"]*"\''
    definition.write_text(json.dumps(taskdef({"name": "app", "command": sh(read_metadata)})))
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--service", "web", "--json", str(definition)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)["task"]
    assert task["group"] == "service:web" and task["startedBy"].startswith("ecs-svc/")
    assert '"ServiceName":"web"' in done.stderr  # the container's own line: task metadata v4
