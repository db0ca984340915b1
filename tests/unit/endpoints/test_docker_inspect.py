from datetime import UTC, datetime

from simulator.endpoints import (
    ContainerMetadata,
    HealthInfo,
    NetworkInfo,
    PortMapping,
    VolumeInfo,
    from_docker_inspect,
)
from simulator.endpoints.metadata import container_response

# Trimmed `docker inspect` of a running container with a health check, a published port and a bind mount.
RUNNING = {
    "Id": "8252c689ab396f2f8cec677f84900e761cda02c0b70fa2943df3df5e889f62c1",
    "Name": "/ecs-app-1-web-abc",
    "Image": "sha256:ae1cb171d921d020bc040292dc3581ad73f9ae7cf8dc48dbb7aa903fa41d6311",
    "Created": "2026-11-29T06:54:03.009177785Z",
    "State": {
        "Status": "running",
        "ExitCode": 0,
        "StartedAt": "2026-11-29T06:54:03.41576246Z",
        "FinishedAt": "0001-01-01T00:00:00Z",
        "Health": {
            "Status": "healthy",
            "Log": [
                {
                    "Start": "2026-11-29T06:54:05.488937606Z",
                    "End": "2026-11-29T06:54:05.554412655Z",
                    "ExitCode": 0,
                    "Output": "",
                }
            ],
        },
    },
    "Config": {"Labels": {"com.amazonaws.ecs.container-name": "web", "io.ecs-sim.owner": "abc"}},
    "HostConfig": {"RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}},
    "NetworkSettings": {
        "Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32769"}], "9090/udp": None},
        "Networks": {"ecs-sim-abc": {"IPAddress": "169.254.171.2", "GlobalIPv6Address": ""}},
    },
    "Mounts": [{"Type": "bind", "Source": "/tmp", "Destination": "/data"}],
    "RestartCount": 0,
}


def test_running_container():
    fields = from_docker_inspect(RUNNING)
    assert fields == {
        "docker_id": RUNNING["Id"],
        "docker_name": "ecs-app-1-web-abc",
        "image_id": RUNNING["Image"],
        "labels": {"com.amazonaws.ecs.container-name": "web"},
        "known_status": "RUNNING",
        "exit_code": None,
        "created_at": datetime(2026, 11, 29, 6, 54, 3, 9177, tzinfo=UTC),
        "started_at": datetime(2026, 11, 29, 6, 54, 3, 415762, tzinfo=UTC),
        "finished_at": None,
        "ports": [PortMapping(8080, "tcp", 32769, "127.0.0.1")],
        "networks": [NetworkInfo("ecs-sim-abc", ["169.254.171.2"], [])],
        "health": HealthInfo("HEALTHY", datetime(2026, 11, 29, 6, 54, 5, 554412, tzinfo=UTC), 0, ""),
        "volumes": [VolumeInfo("", "/tmp", "/data")],
        "restart_count": None,
    }
    metadata = ContainerMetadata(name="web", image="app:dev", **fields)
    assert list(container_response(metadata, v4=True)) == [
        "DockerId", "Name", "DockerName", "Image", "ImageID", "Ports", "Labels", "DesiredStatus", "KnownStatus",
        "Limits", "CreatedAt", "StartedAt", "Type", "Health", "Volumes", "Networks",
    ]  # fmt: skip


def test_exited_container_reports_exit_code_and_empty_address():
    exited = {
        **RUNNING,
        "State": {
            "Status": "exited",
            "ExitCode": 3,
            "StartedAt": "2026-11-29T06:54:03Z",
            "FinishedAt": "2026-11-29T06:55:00.5Z",
        },
        "NetworkSettings": {"Ports": {}, "Networks": {"ecs-sim-abc": {"IPAddress": ""}}},
        "HostConfig": {"RestartPolicy": {"Name": "on-failure"}},
        "RestartCount": 2,
    }
    fields = from_docker_inspect(exited)
    assert (fields["known_status"], fields["exit_code"], fields["health"], fields["restart_count"]) == (
        "STOPPED",
        3,
        None,
        2,
    )
    assert fields["finished_at"] == datetime(2026, 11, 29, 6, 55, 0, 500000, tzinfo=UTC)
    assert fields["networks"] == [
        NetworkInfo("ecs-sim-abc", [""], [])
    ]  # as the agent: the empty address stays


def test_starting_health_is_unknown():
    starting = {**RUNNING, "State": {**RUNNING["State"], "Health": {"Status": "starting", "Log": []}}}
    assert from_docker_inspect(starting)["health"] == HealthInfo("UNKNOWN", None, 0, "")
