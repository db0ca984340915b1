"""Container definition options honoured on real Docker, and RunTask overrides.

Needs Docker, root (iptables) and the ecs-sim/busybox and ecs-sim/python images.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.api import Simulator
from simulator.docker.client import docker_client
from simulator.task_runner import TaskRun

pytestmark = pytest.mark.docker

BUSYBOX = "ecs-sim/busybox:latest"
WORLD = {
    "account": "111122223333",
    "region": "us-east-1",
    "roles": {
        "ecsTaskExecutionRole": {"trust": "ecs-tasks", "managed": ["AmazonECSTaskExecutionRolePolicy"]},
        "role-a": {"trust": "ecs-tasks"},
        "role-b": {"trust": "ecs-tasks"},
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WORLD) as simulator:
        yield simulator


def taskdef(*containers: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {
        "family": "options",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [{"image": BUSYBOX, **c} for c in containers],
        **task,
    }


def wait_running(run: TaskRun) -> None:
    deadline = time.monotonic() + 30
    while run.task.last_status.value != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.task.last_status.value == "RUNNING", run.result.to_json()


def test_published_port_limits_labels_and_volume_lifetime(sim: Simulator) -> None:
    run = sim.start_task(
        taskdef(
            {
                "name": "web",
                "image": "ecs-sim/python:latest",
                "command": ["python3", "-m", "http.server", "8080", "--directory", "/srv"],
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "cpu": 128,
                "memory": 300,
                "memoryReservation": 200,
                "dockerLabels": {"team": "payments"},
                "mountPoints": [{"sourceVolume": "site", "containerPath": "/srv"}],
                "stopTimeout": 1,
                "dependsOn": [{"containerName": "writer", "condition": "SUCCESS"}],
            },
            {
                "name": "writer",
                "essential": False,
                "command": ["sh", "-c", "echo hello from the volume > /site/index.html"],
                "mountPoints": [{"sourceVolume": "site", "containerPath": "/site"}],
            },
            volumes=[{"name": "site"}],
        )
    )
    wait_running(run)
    binding = run.task.container("web").network_bindings[0]
    assert binding.bind_ip == "127.0.0.1" and binding.container_port == 8080
    body = ""
    for _ in range(100):  # the server needs a moment to listen
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{binding.host_port}/", timeout=2).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    assert body == "hello from the volume\n"
    client = docker_client()
    host = client.api.inspect_container(run.task.container("web").docker_id)["HostConfig"]
    assert host["CpuShares"] == 128 and host["NanoCpus"] == 0  # task cpu 512: the task cgroup's quota
    assert host["CgroupParent"] == f"/ecs-sim/{sim.owner_id}/{run.task_id}"
    assert host["Memory"] == 300 * 1024 * 1024 and host["MemoryReservation"] == 200 * 1024 * 1024
    labels = client.api.inspect_container(run.task.container("web").docker_id)["Config"]["Labels"]
    assert labels["team"] == "payments" and labels["com.amazonaws.ecs.task-arn"] == run.task.task_arn
    volume = f"ecs-sim-{run.task_id}-site"
    assert client.api.inspect_volume(volume)["Name"] == volume
    run.stop()
    result = run.wait(30)
    assert result.task.stop_code == "UserInitiated"
    assert not client.api.volumes(filters={"name": volume})["Volumes"]  # removed with the task
    doc = result.to_json()["task"]
    web = next(c for c in doc["containers"] if c["name"] == "web")
    assert web["networkBindings"][0]["bindIP"] == "127.0.0.1"
    assert web["cpu"] == "128" and web["memory"] == "300" and web["memoryReservation"] == "200"


def test_process_options(sim: Simulator, tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    script = " ; ".join(
        [
            "echo user=$(id -u):$(id -g)",
            "echo pwd=$(pwd)",
            "echo nofile=$(ulimit -n)",
            "echo init=$(cat /proc/1/comm)",
            "(touch /rootfs-write 2>/dev/null && echo rootfs=rw) || echo rootfs=ro",
            "echo host=$(grep -c 'db.internal' /etc/hosts)",
            "echo cap=$(grep CapBnd /proc/self/status | tr -d '\\t' | cut -d: -f2)",
            "echo written > /host/out.txt",
        ]
    )
    result = sim.run_task(
        taskdef(
            {
                "name": "app",
                "command": ["sh", "-c", script],
                "user": "1000:1000",
                "workingDirectory": "/work",
                "ulimits": [{"name": "nofile", "softLimit": 1234, "hardLimit": 2048}],
                "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["NET_RAW"]}},
                "readonlyRootFilesystem": True,
                "extraHosts": [{"hostname": "db.internal", "ipAddress": "169.254.99.1"}],
                "mountPoints": [{"sourceVolume": "host", "containerPath": "/host"}],
            },
            volumes=[{"name": "host", "host": {"sourcePath": str(tmp_path)}}],
        )
    )
    lines = dict(line.split("=", 1) for line in result.logs("app").splitlines())
    assert lines["user"] == "1000:1000" and lines["pwd"] == "/work", lines
    assert lines["nofile"] == "1234" and lines["init"] == "docker-init"
    assert lines["rootfs"] == "ro" and lines["host"] == "1"
    assert not int(lines["cap"], 16) & (1 << 13), lines  # CAP_NET_RAW is bit 13
    assert (tmp_path / "out.txt").read_text() == "written\n"


def test_volumes_from(sim: Simulator) -> None:
    result = sim.run_task(
        taskdef(
            {
                "name": "data",
                "essential": False,
                "command": ["sh", "-c", "echo shared > /data/file; exec sleep 300"],
                "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
                "stopTimeout": 1,
            },
            {
                "name": "reader",
                "command": [
                    "sh",
                    "-c",
                    "for i in $(seq 50); do test -f /data/file && break; sleep 0.1; done; cat /data/file",
                ],
                "volumesFrom": [{"sourceContainer": "data", "readOnly": True}],
            },
            volumes=[{"name": "data"}],
        )
    )
    assert result.logs("reader") == "shared", result.to_json()


def test_run_task_overrides(sim: Simulator) -> None:
    reader = (
        "import json, os, urllib.request; "
        "c = json.load(urllib.request.urlopen('http://169.254.170.2' + os.environ['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'])); "
        "print(json.dumps({'role': c['RoleArn'], 'greeting': os.environ.get('GREETING'), 'argv': os.environ.get('MODE')}))"
    )
    definition = taskdef(
        {
            "name": "app",
            "image": "ecs-sim/python:latest",
            "command": ["python3", "-c", "print('not overridden')"],
            "environment": [{"name": "GREETING", "value": "hello"}, {"name": "MODE", "value": "a"}],
            "memory": 256,
        },
        taskRoleArn="role-a",
        executionRoleArn="ecsTaskExecutionRole",
    )
    overrides = {
        "taskRoleArn": "arn:aws:iam::111122223333:role/role-b",
        "containerOverrides": [
            {
                "name": "app",
                "command": ["python3", "-c", reader],
                "environment": [{"name": "MODE", "value": "b"}],
                "memory": 300,
                "cpu": 64,
            }
        ],
    }
    result = sim.run_task(definition, overrides=overrides)
    out = json.loads(result.logs("app"))
    assert out == {"role": "arn:aws:iam::111122223333:role/role-b", "greeting": "hello", "argv": "b"}
    container = result.to_json()["task"]["containers"][0]
    assert container["memory"] == "300" and container["cpu"] == "64"


def test_awsvpc_containers_share_localhost_and_see_no_other_task(sim: Simulator) -> None:
    client_script = (
        "import socket, time, urllib.request\n"
        "for _ in range(100):\n"
        "    try:\n"
        "        print(urllib.request.urlopen('http://127.0.0.1:8081/', timeout=2).read().decode().strip()); break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
        "try:\n"
        "    socket.gethostbyname('server'); print('server resolves')\n"
        "except OSError:\n"
        "    print('no container-name DNS')\n"
    )
    result = sim.run_task(
        taskdef(
            {
                "name": "server",
                "image": "ecs-sim/python:latest",
                "essential": False,
                "command": [
                    "sh",
                    "-c",
                    "mkdir -p /srv && echo from localhost > /srv/index.html && "
                    "exec python3 -m http.server 8081 --directory /srv",
                ],
                "stopTimeout": 1,
            },
            {"name": "client", "image": "ecs-sim/python:latest", "command": ["python3", "-c", client_script]},
        )
    )
    assert result.logs("client").splitlines() == ["from localhost", "no container-name DNS"], result.to_json()


def test_bridge_links_are_seen_only_by_the_linking_container() -> None:
    # Embedded moto keeps one state per process: this second simulator gets its own account.
    with Simulator({**WORLD, "account": "444455556666"}, launch_type="EC2") as ec2:
        result = ec2.run_task(
            {
                "family": "bridge",
                "requiresCompatibilities": ["EC2"],
                "networkMode": "bridge",
                "containerDefinitions": [
                    {
                        "name": "db",
                        "image": BUSYBOX,
                        "essential": False,
                        "memory": 64,
                        "command": ["sleep", "300"],
                        "stopTimeout": 1,
                    },
                    {
                        "name": "web",
                        "image": BUSYBOX,
                        "memory": 64,
                        "links": ["db:database"],
                        "command": [
                            "sh",
                            "-c",
                            "ping -c1 -W1 database >/dev/null && echo linked; "
                            "ping -c1 -W1 db >/dev/null 2>&1 && echo db-resolves || echo no-db-name",
                        ],
                    },
                    {
                        "name": "other",
                        "image": BUSYBOX,
                        "essential": False,
                        "memory": 64,
                        "command": [
                            "sh",
                            "-c",
                            "ping -c1 -W1 database >/dev/null 2>&1 && echo sees-link || echo isolated",
                        ],
                    },
                ],
            }
        )
    assert result.logs("web").splitlines() == ["linked", "no-db-name"], result.to_json()
    assert result.logs("other") == "isolated"
