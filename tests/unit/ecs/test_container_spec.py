"""How a container definition becomes the Docker container the agent would create."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulator.ecs.failures import LaunchType
from simulator.phases import container_spec
from simulator.phases.firelens import FireLens, pullable_router, tag, with_router_dependency
from simulator.phases.task_start.units import ContainerInputs

CTX = container_spec.TaskContext(
    task_id="abc123",
    task_arn="arn:aws:ecs:us-east-1:111122223333:task/default/abc123",
    family="web",
    revision=3,
    cluster="default",
    region="us-east-1",
    launch_type=LaunchType.FARGATE,
    network="ecs-sim-net",
    owner_labels={"io.ecs-sim.managed": "true"},
    volumes=({"name": "data"}, {"name": "host", "host": {"sourcePath": "/srv"}}),
    task_cpu=512,
    task_memory=1024,
    docker_names={"app": "ecs-web-3-app-1", "data": "ecs-web-3-data-2"},
)


def build(definition: dict, inputs: ContainerInputs | None = None, **kwargs) -> container_spec.ContainerSpec:
    return container_spec.build(
        {"name": "app", "image": "busybox", **definition},
        inputs or ContainerInputs(image="busybox"),
        CTX,
        credentials_id=kwargs.pop("credentials_id", "cred-1"),
        endpoint_id="ep-1",
        **kwargs,
    )


def test_environment_precedence_and_injected_variables() -> None:
    inputs = ContainerInputs(image="busybox", env_files={"A": "file", "B": "file"}, secrets={"B": "secret"})
    spec = build({"environment": [{"name": "A", "value": "env"}, {"name": "B", "value": "env"}]}, inputs)
    env = spec.environment
    assert env["A"] == "env" and env["B"] == "secret"  # environmentFiles < environment < secrets
    assert env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == "/v2/credentials/cred-1"
    assert env["ECS_CONTAINER_METADATA_URI_V4"] == "http://169.254.170.2/v4/ep-1"
    assert env["ECS_CONTAINER_METADATA_URI"] == "http://169.254.170.2/v3/ep-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_ECS_FARGATE" and "AWS_ACCESS_KEY_ID" not in env
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in build({}, credentials_id=None).environment


def test_limits() -> None:
    spec = build({"cpu": 1, "memory": 256, "memoryReservation": 128})
    assert spec.cpu_shares == 2  # the agent's minimum CPU shares
    assert spec.nano_cpus == 500_000_000 and spec.memory_mib == 256 and spec.memory_reservation_mib == 128
    assert build({}).memory_mib == 1024  # no container memory: the task's


def test_limits_in_a_task_cgroup() -> None:
    ctx = dataclasses.replace(CTX, task_cgroup="/ecs-sim/owner/abc123")
    shared = container_spec.build(
        {"name": "app", "image": "busybox"},
        ContainerInputs("busybox"),
        ctx,
        credentials_id=None,
        endpoint_id="ep-1",
    )
    assert shared.cgroup_parent == "/ecs-sim/owner/abc123"
    assert shared.memory_mib is None and shared.nano_cpus is None  # the task cgroup holds them
    assert build({}).cgroup_parent is None  # without one, each container is capped (above)
    assert container_spec.pause(ctx, []).cgroup_parent is None  # the namespace holder stays outside


def test_stop_timeout_defaults_and_fargate_cap() -> None:
    assert container_spec.stop_timeout({}, LaunchType.FARGATE) == 30
    assert container_spec.stop_timeout({"stopTimeout": 500}, LaunchType.FARGATE) == 120
    assert container_spec.stop_timeout({"stopTimeout": 500}, LaunchType.EC2) == 500


def test_volumes() -> None:
    spec = build(
        {
            "mountPoints": [
                {"sourceVolume": "data", "containerPath": "/data"},
                {"sourceVolume": "host", "containerPath": "/srv", "readOnly": True},
            ],
            "volumesFrom": [{"sourceContainer": "data", "readOnly": True}],
        }
    )
    data, host = spec.mounts
    assert data["Type"] == "volume" and data["Source"] == "ecs-sim-abc123-data"
    assert host["Type"] == "bind" and host["Source"] == "/srv" and host["ReadOnly"]
    assert spec.volumes_from == ["ecs-web-3-data-2:ro"]
    assert spec.name == "ecs-web-3-app-1"


def test_labels_and_health_check_defaults() -> None:
    spec = build({"dockerLabels": {"team": "x"}, "healthCheck": {"command": ["CMD-SHELL", "true"]}})
    assert spec.labels["com.amazonaws.ecs.task-definition-version"] == "3" and spec.labels["team"] == "x"
    assert spec.health_check is not None
    assert (spec.health_check.interval, spec.health_check.timeout, spec.health_check.retries) == (30, 5, 3)


def test_firelens_wiring(tmp_path: Path) -> None:
    firelens = FireLens("abc123", "router", tmp_path)
    app = build(
        {"logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}}},
        firelens=firelens,
    )
    assert app.log_driver == "fluentd"
    assert app.environment["FLUENT_HOST"] == "127.0.0.1" and app.environment["FLUENT_PORT"] == "24224"
    assert app.log_options == {
        "fluentd-address": f"unix://{tmp_path}/fluent.sock",
        "fluentd-async-connect": "true",
        "tag": "app-firelens-abc123",
    }
    router = container_spec.build(
        {"name": "router", "image": "fluent-bit", "firelensConfiguration": {"type": "fluentbit"}},
        ContainerInputs(image="fluent-bit"),
        CTX,
        credentials_id="c",
        endpoint_id="e",
        firelens=firelens,
        all_definitions=[
            {"name": "app", "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "s3"}}}
        ],
        firelens_metadata={"ecs_cluster": "default"},
    )
    assert router.image == "ecs-sim/python:latest" and router.log_driver == "json-file"
    assert '"app-firelens-abc123": {"Name": "s3"}' in router.environment["ECS_SIM_FIRELENS_CONFIG"]
    assert tag("app", "abc123") == "app-firelens-abc123"
    assert with_router_dependency({"name": "app"}, "router")["dependsOn"] == [
        {"containerName": "router", "condition": "START"}
    ]
    assert (
        pullable_router({"name": "r", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"})[
            "image"
        ]
        == "ecs-sim/python:latest"
    )
    ecr = "111122223333.dkr.ecr.us-east-1.amazonaws.com/router:1"
    assert pullable_router({"name": "r", "image": ecr})["image"] == ecr


class _Hostnames:
    """Stands in for ``aws_hostnames.AwsHostnames``: its container settings only."""

    @property
    def dns_servers(self) -> list[str]:
        return ["169.254.170.2"]

    def mount(self):
        return container_spec.Mount("/bundle.pem", "/host/bundle.pem", type="bind", read_only=True)


def test_aws_hostnames_replace_the_endpoint_url_with_dns_and_a_ca_bundle() -> None:
    ctx = dataclasses.replace(CTX, aws_hostnames=_Hostnames())
    spec = container_spec.build(
        {
            "name": "app",
            "image": "busybox",
            "environment": [{"name": "SSL_CERT_FILE", "value": "/mine.pem"}],
        },
        ContainerInputs(image="busybox"),
        ctx,
        credentials_id=None,
        endpoint_id="ep-1",
    )
    assert "AWS_ENDPOINT_URL" not in spec.environment  # as on ECS: SDKs use the AWS host names
    assert spec.environment["AWS_CA_BUNDLE"] == "/etc/ecs-sim/aws-ca-bundle.pem"
    assert spec.environment["SSL_CERT_FILE"] == "/mine.pem"  # the definition's own wins
    assert spec.dns == ["169.254.170.2"]
    assert spec.mounts[-1]["Target"] == "/bundle.pem" and spec.mounts[-1]["ReadOnly"]
    assert container_spec.pause(ctx, [{"name": "app"}]).dns == ["169.254.170.2"]


def test_without_aws_hostnames_the_gateway_is_the_endpoint_url() -> None:
    spec = build({})
    assert spec.environment["AWS_ENDPOINT_URL"] == "http://169.254.170.2:4566"
    assert spec.dns == [] and "AWS_CA_BUNDLE" not in spec.environment
    defined = build({"environment": [{"name": "AWS_ENDPOINT_URL", "value": "http://mine:1"}]})
    assert defined.environment["AWS_ENDPOINT_URL"] == "http://mine:1"
