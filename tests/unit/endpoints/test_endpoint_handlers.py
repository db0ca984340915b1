"""Every route of the endpoint, answered as the ECS agent answers (bodies compared byte for byte)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from simulator.endpoints import (
    ContainerMetadata,
    ContainerView,
    HealthInfo,
    NetworkInfo,
    PortMapping,
    TaskCredentials,
    TaskMetadata,
    VolumeInfo,
)
from simulator.endpoints.handlers import handle
from simulator.endpoints.registry import EndpointRegistry

CREDS = TaskCredentials(
    role_arn="arn:aws:iam::111122223333:role/app-task-role",
    access_key_id="ASIAEXAMPLE",
    secret_access_key="secret",
    token="token",
    expiration=datetime(2026, 6, 30, 18, 0, 0, tzinfo=UTC),
)
CREDS_BODY = (
    b'{"RoleArn":"arn:aws:iam::111122223333:role/app-task-role","AccessKeyId":"ASIAEXAMPLE",'
    b'"SecretAccessKey":"secret","Token":"token","Expiration":"2026-06-30T18:00:00Z"}'
)
TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/default/8f03e41243824aea923aca126495f665"

# The AWS docs' v4 example container, as the simulator's runner would describe it.
CURL = ContainerMetadata(
    docker_id="ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66",
    name="curl",
    docker_name="ecs-curltest-24-curl-cca48e8dcadd97805600",
    image="111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest:latest",
    image_id="sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553",
    labels={
        "com.amazonaws.ecs.task-definition-version": "24",
        "com.amazonaws.ecs.cluster": "default",
        "com.amazonaws.ecs.container-name": "curl",
        "com.amazonaws.ecs.task-arn": TASK_ARN,
        "com.amazonaws.ecs.task-definition-family": "curltest",
    },
    desired_status="RUNNING",
    known_status="RUNNING",
    cpu=10,
    memory=128,
    created_at=datetime(2020, 10, 2, 0, 15, 7, 620912, tzinfo=UTC),
    started_at=datetime(2020, 10, 2, 0, 15, 8, 62559, tzinfo=UTC),
    log_driver="awslogs",
    log_options={
        "awslogs-create-group": "true",
        "awslogs-group": "/ecs/metadata",
        "awslogs-region": "us-west-2",
        "awslogs-stream": "ecs/curl/8f03e41243824aea923aca126495f665",
    },
    container_arn="arn:aws:ecs:us-west-2:111122223333:container/0206b271-b33f-47ab-86c6-a0ba208a70a9",
    networks=[NetworkInfo("awsvpc", ["10.0.2.106"])],
)
CURL_V4 = (
    '{"DockerId":"ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66","Name":"curl",'
    '"DockerName":"ecs-curltest-24-curl-cca48e8dcadd97805600",'
    '"Image":"111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest:latest",'
    '"ImageID":"sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553",'
    '"Labels":{"com.amazonaws.ecs.cluster":"default","com.amazonaws.ecs.container-name":"curl",'
    '"com.amazonaws.ecs.task-arn":"' + TASK_ARN + '",'
    '"com.amazonaws.ecs.task-definition-family":"curltest","com.amazonaws.ecs.task-definition-version":"24"},'
    '"DesiredStatus":"RUNNING","KnownStatus":"RUNNING","Limits":{"CPU":10,"Memory":128},'
    '"CreatedAt":"2020-10-02T00:15:07.620912Z","StartedAt":"2020-10-02T00:15:08.062559Z","Type":"NORMAL",'
    '"LogDriver":"awslogs","LogOptions":{"awslogs-create-group":"true","awslogs-group":"/ecs/metadata",'
    '"awslogs-region":"us-west-2","awslogs-stream":"ecs/curl/8f03e41243824aea923aca126495f665"},'
    '"ContainerARN":"arn:aws:ecs:us-west-2:111122223333:container/0206b271-b33f-47ab-86c6-a0ba208a70a9",'
    '"Networks":[{"NetworkMode":"awsvpc","IPv4Addresses":["10.0.2.106"]}]}'
)
TASK = TaskMetadata(
    cluster="default",
    task_arn=TASK_ARN,
    family="curltest",
    revision="24",
    desired_status="RUNNING",
    known_status="RUNNING",
    containers=[CURL],
    cpu=0.25,
    memory=512,
    pull_started_at=datetime(2020, 10, 2, 0, 15, 6, 93536, tzinfo=UTC),
    pull_stopped_at=datetime(2020, 10, 2, 0, 15, 7, 545914, tzinfo=UTC),
    availability_zone="us-west-2d",
    launch_type="EC2",
    task_tags={"team": "payments"},
)


@pytest.fixture
def registry() -> EndpointRegistry:
    return EndpointRegistry()


def body(response) -> str:
    return response.body.decode()


# --- credentials ---------------------------------------------------------------------------------


def test_v2_credentials_are_served_exactly(registry):
    credentials_id = registry.register_credentials(CREDS)
    response = handle(registry, f"/v2/credentials/{credentials_id}")
    assert (response.status, response.content_type, response.body) == (200, "application/json", CREDS_BODY)


def test_v1_credentials_by_query_parameter(registry):
    credentials_id = registry.register_credentials(CREDS)
    assert handle(registry, f"/v1/credentials?id={credentials_id}").body == CREDS_BODY


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/v2/credentials/",
            '{"code":"NoIdInRequest","message":"CredentialsV2Request: No Credential ID in the request",'
            '"HTTPErrorCode":400}',
        ),
        (
            "/v2/credentials/unknown",
            '{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found",'
            '"HTTPErrorCode":400}',
        ),
        (
            "/v1/credentials",
            '{"code":"NoIdInRequest","message":"CredentialsV1Request: No Credential ID in the request",'
            '"HTTPErrorCode":400}',
        ),
        (
            "/v1/credentials?id=",
            '{"code":"NoIdInRequest","message":"CredentialsV1Request: No Credential ID in the request",'
            '"HTTPErrorCode":400}',
        ),
        (
            "/v1/credentials?id=unknown",
            '{"code":"InvalidIdInRequest","message":"CredentialsV1Request: Credentials not found",'
            '"HTTPErrorCode":400}',
        ),
    ],
)
def test_credentials_errors_as_the_agent(registry, path, expected):
    registry.register_credentials(CREDS)
    response = handle(registry, path)
    assert (response.status, response.content_type, body(response)) == (400, "application/json", expected)


def test_unregistered_credentials_answer_like_unknown_ones(registry):
    credentials_id = registry.register_credentials(CREDS)
    registry.unregister_credentials(credentials_id)
    assert (
        handle(registry, f"/v2/credentials/{credentials_id}").body
        == handle(registry, "/v2/credentials/never-registered").body
    )


def test_rotated_credentials_are_served_under_the_same_id(registry):
    credentials_id = registry.register_credentials(CREDS)
    rotated = TaskCredentials(CREDS.role_arn, "ASIAROTATED", "s2", "t2", CREDS.expiration)
    registry.update_credentials(credentials_id, rotated)
    assert handle(registry, f"/v2/credentials/{credentials_id}").body == rotated.body()
    registry.unregister_credentials(credentials_id)
    with pytest.raises(KeyError):
        registry.update_credentials(credentials_id, rotated)  # a stopped task's id is not revived


def test_credentials_ids_are_uuid_shaped_and_carry_128_random_bits(registry):
    ids = {registry.register_credentials(CREDS) for _ in range(200)}
    assert len(ids) == 200
    for credentials_id in ids:
        assert [len(part) for part in credentials_id.split("-")] == [8, 4, 4, 4, 12]
    # uuid4 fixes 6 bits; these ids do not, so every hex digit position varies.
    assert {credentials_id[14] for credentials_id in ids} != {"4"}


def test_each_task_sees_only_its_own_id(registry):
    first = registry.register_credentials(CREDS)
    other = TaskCredentials("arn:aws:iam::111122223333:role/other", "ASIAOTHER", "s", "t", CREDS.expiration)
    second = registry.register_credentials(other)
    assert json.loads(handle(registry, f"/v2/credentials/{first}").body)["AccessKeyId"] == "ASIAEXAMPLE"
    assert json.loads(handle(registry, f"/v2/credentials/{second}").body)["AccessKeyId"] == "ASIAOTHER"


# --- task metadata v4 ----------------------------------------------------------------------------


def register(registry, container=CURL, task=TASK, stats=None) -> str:
    return registry.register_container(lambda: ContainerView(container, task), stats)


def test_v4_container_matches_the_aws_docs_example(registry):
    endpoint_id = register(registry)
    response = handle(registry, f"/v4/{endpoint_id}")
    assert (response.status, body(response)) == (200, CURL_V4)


def test_v4_task_field_order_and_vcpu_limits(registry):
    endpoint_id = register(registry)
    response = handle(registry, f"/v4/{endpoint_id}/task")
    expected = (
        '{"Cluster":"default","TaskARN":"' + TASK_ARN + '","Family":"curltest","Revision":"24",'
        '"DesiredStatus":"RUNNING","KnownStatus":"RUNNING","Limits":{"CPU":0.25,"Memory":512},'
        '"PullStartedAt":"2020-10-02T00:15:06.093536Z","PullStoppedAt":"2020-10-02T00:15:07.545914Z",'
        '"AvailabilityZone":"us-west-2d","LaunchType":"EC2","Containers":[' + CURL_V4 + "],"
        '"FaultInjectionEnabled":false}'
    )
    assert (response.status, body(response)) == (200, expected)


def test_v4_task_with_tags_adds_task_tags(registry):
    endpoint_id = register(registry)
    document = json.loads(handle(registry, f"/v4/{endpoint_id}/taskWithTags").body)
    assert document["TaskTags"] == {"team": "payments"}
    assert list(document).index("TaskTags") == list(document).index("AvailabilityZone") + 1
    assert "TaskTags" not in json.loads(handle(registry, f"/v4/{endpoint_id}/task").body)


def test_v4_cpu_below_two_units_is_reported_as_two_and_empty_fields_are_omitted(registry):
    bare = ContainerMetadata(docker_id="d1", name="app", docker_name="ecs-app", image="busybox")
    bare_task = TaskMetadata(cluster="c", task_arn="arn:t", family="f", revision="1", known_status="PENDING")
    endpoint_id = register(registry, bare, TaskMetadata(**{**bare_task.__dict__, "containers": [bare]}))
    assert body(handle(registry, f"/v4/{endpoint_id}")) == (
        '{"DockerId":"d1","Name":"app","DockerName":"ecs-app","Image":"busybox","ImageID":"",'
        '"DesiredStatus":"RUNNING","KnownStatus":"PENDING","Limits":{"CPU":2,"Memory":0},"Type":"NORMAL"}'
    )
    assert body(handle(registry, f"/v4/{endpoint_id}/task")) == (
        '{"Cluster":"c","TaskARN":"arn:t","Family":"f","Revision":"1","KnownStatus":"PENDING",'
        '"Containers":[{"DockerId":"d1","Name":"app","DockerName":"ecs-app","Image":"busybox","ImageID":"",'
        '"DesiredStatus":"RUNNING","KnownStatus":"PENDING","Limits":{"CPU":2,"Memory":0},"Type":"NORMAL"}],'
        '"FaultInjectionEnabled":false}'
    )


def test_v4_optional_container_fields_in_order(registry):
    full = ContainerMetadata(
        docker_id="d1",
        name="app",
        docker_name="ecs-app",
        image="busybox",
        ports=[PortMapping(8080, "tcp", 32768, "0.0.0.0")],
        exit_code=0,
        finished_at=datetime(2020, 1, 1, tzinfo=UTC),
        health=HealthInfo("HEALTHY", datetime(2020, 1, 1, 0, 0, 1, tzinfo=UTC), 0, "ok"),
        volumes=[VolumeInfo("vol", "/var/lib/docker/volumes/vol/_data", "/data")],
        networks=[NetworkInfo("ecs-sim-1", ["169.254.171.2"])],
        restart_count=1,
    )
    endpoint_id = register(registry, full)
    assert body(handle(registry, f"/v4/{endpoint_id}")) == (
        '{"DockerId":"d1","Name":"app","DockerName":"ecs-app","Image":"busybox","ImageID":"",'
        '"Ports":[{"ContainerPort":8080,"Protocol":"tcp","HostPort":32768,"HostIp":"0.0.0.0"}],'
        '"DesiredStatus":"RUNNING","KnownStatus":"PENDING","ExitCode":0,"Limits":{"CPU":2,"Memory":0},'
        '"FinishedAt":"2020-01-01T00:00:00Z","Type":"NORMAL",'
        '"Health":{"status":"HEALTHY","statusSince":"2020-01-01T00:00:01Z","output":"ok"},'
        '"Volumes":[{"DockerName":"vol","Source":"/var/lib/docker/volumes/vol/_data","Destination":"/data"}],'
        '"Networks":[{"NetworkMode":"ecs-sim-1","IPv4Addresses":["169.254.171.2"]}],"RestartCount":1}'
    )
    # v3: no HostIp, Networks right after Type, no RestartCount
    assert body(handle(registry, f"/v3/{endpoint_id}")) == (
        '{"DockerId":"d1","Name":"app","DockerName":"ecs-app","Image":"busybox","ImageID":"",'
        '"Ports":[{"ContainerPort":8080,"Protocol":"tcp","HostPort":32768}],'
        '"DesiredStatus":"RUNNING","KnownStatus":"PENDING","ExitCode":0,"Limits":{"CPU":2,"Memory":0},'
        '"FinishedAt":"2020-01-01T00:00:00Z","Type":"NORMAL",'
        '"Networks":[{"NetworkMode":"ecs-sim-1","IPv4Addresses":["169.254.171.2"]}],'
        '"Health":{"status":"HEALTHY","statusSince":"2020-01-01T00:00:01Z","output":"ok"},'
        '"Volumes":[{"DockerName":"vol","Source":"/var/lib/docker/volumes/vol/_data","Destination":"/data"}]}'
    )


def test_unknown_health_status_is_not_reported(registry):
    endpoint_id = register(
        registry, ContainerMetadata("d1", "app", "ecs-app", "busybox", health=HealthInfo("UNKNOWN"))
    )
    assert json.loads(handle(registry, f"/v4/{endpoint_id}").body)["Health"] == {}


def test_v3_has_no_v4_only_fields(registry):
    endpoint_id = register(registry)
    container = json.loads(handle(registry, f"/v3/{endpoint_id}").body)
    assert not {"LogDriver", "LogOptions", "ContainerARN"} & set(container)
    task = json.loads(handle(registry, f"/v3/{endpoint_id}/task").body)
    assert not {"LaunchType", "FaultInjectionEnabled"} & set(task)
    assert list(task)[:7] == [
        "Cluster",
        "TaskARN",
        "Family",
        "Revision",
        "DesiredStatus",
        "KnownStatus",
        "Containers",
    ]


V4_404 = [
    ("", "V4 container metadata handler: unable to get container ID from request: "
     "unable to get docker ID from v3 endpoint ID: {id}"),
    ("/task", "V4 task metadata handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
    ("/taskWithTags", "V4 task metadata handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
    ("/stats", "V4 container stats handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
    ("/task/stats", "V4 task stats handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
]  # fmt: skip
V3_ERRORS = [
    ("", 500, "V3 container metadata handler: unable to get container ID from request: "
     "unable to get docker ID from v3 endpoint ID: {id}"),
    ("/task", 500, "V3 task metadata handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
    ("/stats", 400, "V3 container stats handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
    ("/task/stats", 400, "V3 task stats handler: unable to get task arn from request: "
     "unable to get task Arn from v3 endpoint ID: {id}"),
]  # fmt: skip


@pytest.mark.parametrize(("suffix", "message"), V4_404)
def test_v4_unknown_endpoint_id_is_a_404_json_string(registry, suffix, message):
    response = handle(registry, f"/v4/gone{suffix}")
    expected = json.dumps(message.format(id="gone")).encode()
    assert (response.status, response.content_type, response.body) == (404, "application/json", expected)


@pytest.mark.parametrize(("suffix", "status", "message"), V3_ERRORS)
def test_v3_unknown_endpoint_id_errors_as_the_agent(registry, suffix, status, message):
    response = handle(registry, f"/v3/gone{suffix}")
    assert (response.status, response.body) == (status, json.dumps(message.format(id="gone")).encode())


def test_stopped_task_container_endpoint_answers_not_found(registry):
    endpoint_id = register(registry)
    registry.unregister_container(endpoint_id)
    assert handle(registry, f"/v4/{endpoint_id}").status == 404


def test_container_not_created_yet_has_no_docker_id(registry):
    endpoint_id = register(registry, ContainerMetadata("", "app", "ecs-app", "busybox"))
    assert handle(registry, f"/v4/{endpoint_id}").status == 404
    assert handle(registry, f"/v4/{endpoint_id}/task").status == 200
    response = handle(registry, f"/v4/{endpoint_id}/stats")
    assert (
        response.body
        == json.dumps(
            "V4 container stats handler: unable to get container ID from request: "
            f"unable to get docker ID from v3 endpoint ID: {endpoint_id}"
        ).encode()
    )


def test_a_failing_view_provider_is_a_500(registry):
    def broken() -> ContainerView:
        raise RuntimeError("docker inspect failed")

    endpoint_id = registry.register_container(broken)
    assert (handle(registry, f"/v4/{endpoint_id}").status, body(handle(registry, f"/v4/{endpoint_id}"))) == (
        500,
        '"failed to get container metadata"',
    )
    assert body(handle(registry, f"/v4/{endpoint_id}/task")) == '"failed to get task metadata"'


# --- stats ---------------------------------------------------------------------------------------

DOCKER_STATS = {"read": "2020-10-02T00:51:13.410254284Z", "preread": "0001-01-01T00:00:00Z", "cpu_stats": {}}


def test_container_stats_pass_docker_json_through(registry):
    asked = []

    def stats(docker_id):
        asked.append(docker_id)
        return DOCKER_STATS

    endpoint_id = register(registry, stats=stats)
    for version in ("v3", "v4"):
        response = handle(registry, f"/{version}/{endpoint_id}/stats")
        assert (response.status, json.loads(response.body)) == (200, DOCKER_STATS)
    assert asked == [CURL.docker_id, CURL.docker_id]


def test_task_stats_map_docker_ids_sorted_with_null_for_unavailable(registry):
    other = ContainerMetadata("0aaa", "sidecar", "ecs-sidecar", "busybox")
    task = TaskMetadata(**{**TASK.__dict__, "containers": [CURL, other]})
    endpoint_id = register(
        registry, task=task, stats=lambda docker_id: None if docker_id == "0aaa" else DOCKER_STATS
    )
    response = handle(registry, f"/v4/{endpoint_id}/task/stats")
    assert response.status == 200
    assert (
        response.body
        == b'{"0aaa":null,"'
        + CURL.docker_id.encode()
        + b'":'
        + json.dumps(DOCKER_STATS, separators=(",", ":")).encode()
        + b"}"
    )


def test_unavailable_container_stats(registry):
    endpoint_id = register(registry, stats=lambda docker_id: None)
    message = json.dumps(f"Unable to get container stats for: {CURL.docker_id}").encode()
    assert handle(registry, f"/v4/{endpoint_id}/stats")[:2] == (500, message)
    assert handle(registry, f"/v3/{endpoint_id}/stats")[:2] == (400, message)


def test_raising_stats_provider_counts_as_unavailable(registry):
    def stats(docker_id):
        raise ConnectionError("docker went away")

    endpoint_id = register(registry, stats=stats)
    assert handle(registry, f"/v4/{endpoint_id}/stats").status == 500


# --- everything else -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/v2/credentials", "/v4/a/b/c", "/v5/x", "/v4/x/tasks", "/healthz"])
def test_unknown_paths_get_gorillas_plain_404(registry, path):
    response = handle(registry, path)
    assert response == (404, b"404 page not found\n", "text/plain; charset=utf-8")


def test_health(registry):
    assert handle(registry, "/health")[:2] == (200, b'{"status":"ok"}')
