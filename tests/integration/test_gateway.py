"""The gateway between real boto3 clients and real moto: SigV4, IAM decisions, AWS errors.

Every client signs with a session registered in the gateway; the policies come from a small
in-memory PolicySource whose documents go through the real IAM engine. Every test runs twice: with
the gateway calling embedded moto in-process (the default backend's transport) and over HTTP to moto's
server (how it reaches LocalStack or an endpoint URL).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from simulator.backend import EmbeddedMoto, RemoteEndpoint
from simulator.gateway import DecisionRecord, Gateway
from simulator.gateway.in_process import InProcess
from simulator.gateway.upstream import Transport, Upstream
from simulator.iam import PolicyKind, PolicySet, parse_policy, principal_from_arn
from simulator.iam.policy import Policy
from simulator.policy_source import ResourceInfo
from simulator.sessions import Session, SessionRegistry

ACCOUNT = "123456789012"  # moto's account for access keys it does not know
REGION = "us-east-1"
ROLE = principal_from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/task-1")
ADMIN = Session(
    "AKIAGATEWAYADMIN",
    "admin-secret",
    None,
    None,
    principal_from_arn(f"arn:aws:iam::{ACCOUNT}:root"),
    superuser=True,
)
USER = Session("ASIAGATEWAYUSER1", "user-secret", "user-token", None, ROLE, label="task-1/runtime")


def policy(kind: PolicyKind, *statements: dict[str, Any], name: str = "p") -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name, kind=kind)


def allow(actions: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


@dataclass
class MemoryPolicies:
    """PolicySource for tests: identity policies per principal ARN, facts per resource ARN."""

    identity: dict[str, list[Policy]] = field(default_factory=dict)
    resources: dict[str, ResourceInfo] = field(default_factory=dict)
    invalidations: int = 0

    def principal_policies(self, principal) -> PolicySet:
        return PolicySet(identity=tuple(self.identity.get(principal.arn, ())))

    def resource_info(self, arn: str) -> ResourceInfo:
        return self.resources.get(arn, ResourceInfo(arn, exists=False))

    def invalidate(self) -> None:
        self.invalidations += 1


@pytest.fixture(scope="module", params=["in-process", "http"])
def moto(request: pytest.FixtureRequest) -> Iterator[tuple[EmbeddedMoto, str]]:
    """A fresh moto per transport: the tests create resources with fixed names."""
    with EmbeddedMoto(account=ACCOUNT, load_managed_policies=False) as backend:
        yield backend, request.param


def transport(moto: tuple[EmbeddedMoto, str]) -> Transport:
    backend, kind = moto
    return backend.transport() if kind == "in-process" else Upstream(backend.endpoint_url)


@dataclass
class World:
    gateway: Gateway
    sessions: SessionRegistry
    policies: MemoryPolicies
    records: list[DecisionRecord]

    def client(self, service: str, session: Session = USER, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.gateway.url,
            region_name=REGION,
            aws_access_key_id=session.access_key_id,
            aws_secret_access_key=session.secret_access_key,
            aws_session_token=session.session_token,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def grant(self, *statements: dict[str, Any]) -> None:
        self.policies.identity[ROLE.arn] = [policy(PolicyKind.IDENTITY, *statements)]


@pytest.fixture
def world(moto: tuple[EmbeddedMoto, str]) -> Iterator[World]:
    sessions = SessionRegistry()
    sessions.register(ADMIN)
    sessions.register(USER)
    policies = MemoryPolicies()
    records: list[DecisionRecord] = []
    with Gateway(transport(moto), sessions, policies, region=REGION, on_decision=records.append) as gateway:
        yield World(gateway, sessions, policies, records)


def denied(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def user_message(action: str, resource: str, *, quoted: bool = False) -> str:
    shown = f'"{resource}"' if quoted else resource
    return (
        f"User: {ROLE.arn} is not authorized to perform: {action} on resource: {shown} "
        f"because no identity-based policy allows the {action} action"
    )


# --- allowed and denied, per service ------------------------------------------------------------------


def test_ssm_allowed_and_denied(world: World):
    world.client("ssm", ADMIN).put_parameter(
        Name="/gwtest/app/host", Value="db.local", Type="String", Overwrite=True
    )
    world.grant(allow("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/app/*"))
    ssm = world.client("ssm")
    assert ssm.get_parameter(Name="/gwtest/app/host")["Parameter"]["Value"] == "db.local"
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/app/host"
    assert denied(ssm.get_parameters, Names=["/gwtest/app/host"]) == (
        "AccessDeniedException",
        user_message("ssm:GetParameters", arn),
    )
    actions = [(r.action, r.decision.effect, r.error_code) for r in world.records]
    assert actions == [
        ("ssm:GetParameter", "Allow", None),
        ("ssm:GetParameters", "ImplicitDeny", "AccessDeniedException"),
    ]
    assert world.records[0].session_label == "task-1/runtime"


def test_ssm_batch_first_denied_name_decides(world: World):
    admin = world.client("ssm", ADMIN)
    for name in ("/gwtest/ok/a", "/gwtest/secret/b"):
        admin.put_parameter(Name=name, Value="v", Type="String", Overwrite=True)
    world.grant(allow("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/ok/*"))
    code, message = denied(world.client("ssm").get_parameters, Names=["/gwtest/ok/a", "/gwtest/secret/b"])
    assert code == "AccessDeniedException"
    assert "parameter/gwtest/secret/b because" in message


def test_s3_allowed_denied_and_bucket_policy_deny(world: World):
    admin = world.client("s3", ADMIN)
    admin.create_bucket(Bucket="gwtest-config")
    admin.put_object(Bucket="gwtest-config", Key="prod.env", Body=b"FEATURE_X=1\n")
    admin.put_object(Bucket="gwtest-config", Key="private/keys", Body=b"k")
    world.grant(allow(["s3:GetObject", "s3:GetBucketLocation", "s3:ListBucket"], "*"))
    s3 = world.client("s3")
    assert s3.get_object(Bucket="gwtest-config", Key="prod.env")["Body"].read() == b"FEATURE_X=1\n"
    assert s3.head_object(Bucket="gwtest-config", Key="prod.env")["ContentLength"] == 12
    assert "LocationConstraint" in s3.get_bucket_location(Bucket="gwtest-config") or True
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="gwtest-config")["Contents"]] == [
        "private/keys",
        "prod.env",
    ]
    assert denied(s3.put_object, Bucket="gwtest-config", Key="x", Body=b"1") == (
        "AccessDenied",
        user_message("s3:PutObject", "arn:aws:s3:::gwtest-config/x", quoted=True),
    )
    bucket_policy = policy(
        PolicyKind.RESOURCE,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::gwtest-config/private/*",
        },
        name="bucket-policy",
    )
    world.policies.resources["arn:aws:s3:::gwtest-config"] = ResourceInfo(
        "arn:aws:s3:::gwtest-config", exists=True, policy=bucket_policy
    )
    code, message = denied(s3.get_object, Bucket="gwtest-config", Key="private/keys")
    assert code == "AccessDenied"
    assert message == (
        f'User: {ROLE.arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::gwtest-config/private/keys"'
        " with an explicit deny in a resource-based policy"
    )
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket="gwtest-config", Key="private/keys")
    assert err.value.response["Error"]["Code"] == "403"


S3_KEYS = [
    "with space.env",
    "plus+sign+",
    "literal%2Fslash %20",
    "dir/nested/key",
    "ключ/€ file.txt",
    "~!@$&'()*,;=:",
    "tab\tquestion?hash#",
    "/leading-slash",
    "double//slash",
    "trailing/",
]


def test_s3_keys_and_metadata_round_trip_exactly(world: World, moto: tuple[EmbeddedMoto, str]):
    """What moto stores from a call through the gateway is what it stores from a direct call, and back."""
    backend, _ = moto
    direct = backend.admin_session().client("s3", endpoint_url=backend.endpoint_url, region_name=REGION)
    direct.create_bucket(Bucket="gwtest-keys")
    world.grant(allow(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"], "*"))
    s3 = world.client("s3")
    metadata = {"my_key": "underscored", "plain-key": "dashed"}
    for key in S3_KEYS:
        direct.put_object(Bucket="gwtest-keys", Key=key, Body=key.encode(), Metadata=metadata)
        got = s3.get_object(Bucket="gwtest-keys", Key=key)
        assert (got["Body"].read(), got["Metadata"]) == (key.encode(), metadata), key
        assert s3.head_object(Bucket="gwtest-keys", Key=key)["ContentLength"] == len(key.encode())
        s3.put_object(
            Bucket="gwtest-keys", Key=f"gw/{key}", Body=b"via gateway " + key.encode(), Metadata=metadata
        )
        got = direct.get_object(Bucket="gwtest-keys", Key=f"gw/{key}")
        assert (got["Body"].read(), got["Metadata"]) == (b"via gateway " + key.encode(), metadata), key
    listed = s3.list_objects_v2(Bucket="gwtest-keys")["Contents"]
    expected = sorted([*S3_KEYS, *(f"gw/{key}" for key in S3_KEYS)])
    assert [o["Key"] for o in listed] == expected
    assert [o["Key"] for o in direct.list_objects_v2(Bucket="gwtest-keys")["Contents"]] == expected
    s3.delete_object(Bucket="gwtest-keys", Key="literal%2Fslash %20")
    assert "literal%2Fslash %20" not in [
        o["Key"] for o in direct.list_objects_v2(Bucket="gwtest-keys")["Contents"]
    ]
    resources = {r.resource for r in world.records if r.action == "s3:GetObject"}
    assert "arn:aws:s3:::gwtest-keys/ключ/€ file.txt" in resources


def test_concurrent_calls_each_get_their_own_answer(world: World):
    admin = world.client("ssm", ADMIN)
    for i in range(8):
        admin.put_parameter(Name=f"/gwtest/concurrent/{i}", Value=f"value-{i}", Type="String", Overwrite=True)
    world.grant(allow("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/concurrent/*"))
    clients = [world.client("ssm") for _ in range(8)]

    def read(i: int) -> list[str]:
        name = f"/gwtest/concurrent/{i}"
        return [clients[i].get_parameter(Name=name)["Parameter"]["Value"] for _ in range(15)]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(read, range(8)))
    assert answers == [[f"value-{i}"] * 15 for i in range(8)]


def test_embedded_moto_is_called_in_process_a_remote_endpoint_over_http(moto: tuple[EmbeddedMoto, str]):
    backend, _ = moto
    assert isinstance(backend.transport(), InProcess)
    assert isinstance(RemoteEndpoint(backend.endpoint_url).transport(), Upstream)


def test_secretsmanager_name_resolves_to_the_full_arn(world: World):
    arn = world.client("secretsmanager", ADMIN).create_secret(
        Name="gwtest/app/db", SecretString='{"pw":"x"}'
    )["ARN"]
    world.grant(
        allow(
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:gwtest/app/db-??????",
        )
    )
    sm = world.client("secretsmanager")
    assert sm.get_secret_value(SecretId="gwtest/app/db")["SecretString"] == '{"pw":"x"}'
    assert sm.get_secret_value(SecretId=arn)["ARN"] == arn
    assert denied(sm.describe_secret, SecretId="gwtest/app/db") == (
        "AccessDeniedException",
        user_message("secretsmanager:DescribeSecret", arn),
    )


def test_kms_alias_resolves_to_the_key(world: World):
    admin = world.client("kms", ADMIN)
    key_arn = admin.create_key()["KeyMetadata"]["Arn"]
    admin.create_alias(AliasName="alias/gwtest-app", TargetKeyId=key_arn)
    blob = admin.encrypt(KeyId=key_arn, Plaintext=b"hello")["CiphertextBlob"]
    key_policy = policy(
        PolicyKind.RESOURCE,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        name="key-policy",
    )
    world.policies.resources[key_arn] = ResourceInfo(key_arn, exists=True, policy=key_policy)
    world.grant(allow("kms:Decrypt", key_arn))
    kms = world.client("kms")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hello"
    assert kms.decrypt(CiphertextBlob=blob, KeyId="alias/gwtest-app")["Plaintext"] == b"hello"
    assert denied(kms.encrypt, KeyId="alias/gwtest-app", Plaintext=b"x") == (
        "AccessDeniedException",
        user_message("kms:Encrypt", key_arn),
    )


def test_ecr_logs_sqs_sts(world: World):
    world.client("ecr", ADMIN).create_repository(repositoryName="gwtest-app")
    world.client("logs", ADMIN).create_log_group(logGroupName="/gwtest/ecs")
    queue_url = world.client("sqs", ADMIN).create_queue(QueueName="gwtest-jobs")["QueueUrl"]
    world.grant(
        allow(["ecr:GetAuthorizationToken", "ecr:DescribeRepositories"]),
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/gwtest/ecs:*",
        ),
        allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:gwtest-jobs"),
    )
    ecr = world.client("ecr")
    assert ecr.get_authorization_token()["authorizationData"]
    assert (
        ecr.describe_repositories(repositoryNames=["gwtest-app"])["repositories"][0]["repositoryName"]
        == "gwtest-app"
    )
    repo = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/gwtest-app"
    assert denied(ecr.batch_get_image, repositoryName="gwtest-app", imageIds=[{"imageTag": "latest"}]) == (
        "AccessDeniedException",
        user_message("ecr:BatchGetImage", repo),
    )
    logs = world.client("logs")
    logs.create_log_stream(logGroupName="/gwtest/ecs", logStreamName="web/app/1")
    logs.put_log_events(
        logGroupName="/gwtest/ecs", logStreamName="web/app/1", logEvents=[{"timestamp": 1, "message": "hi"}]
    )
    assert denied(logs.create_log_group, logGroupName="/gwtest/other") == (
        "AccessDeniedException",
        user_message(
            "logs:CreateLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/gwtest/other:log-stream:"
        ),
    )
    sqs = world.client("sqs")
    assert sqs.send_message(QueueUrl=queue_url, MessageBody="job")["MessageId"]
    assert denied(sqs.receive_message, QueueUrl=queue_url) == (
        "AccessDenied",
        user_message("sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:gwtest-jobs"),
    )
    # GetCallerIdentity needs no permission, as on AWS
    assert world.client("sts").get_caller_identity()["Account"] == ACCOUNT


# --- SigV4 refusals ----------------------------------------------------------------------------------


def test_wrong_secret(world: World):
    forged = Session(USER.access_key_id, "not-the-secret", USER.session_token, None, ROLE)
    assert denied(world.client("sts", forged).get_caller_identity)[0] == "SignatureDoesNotMatch"
    assert denied(world.client("s3", forged).list_buckets)[0] == "SignatureDoesNotMatch"
    assert denied(world.client("ssm", forged).get_parameter, Name="/x")[0] == "InvalidSignatureException"
    assert world.records == []


def test_unknown_key(world: World):
    stranger = Session("AKIANOBODYKNOWS1", "x", None, None, ROLE)
    assert denied(world.client("sts", stranger).get_caller_identity) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )
    assert denied(world.client("ssm", stranger).get_parameter, Name="/x")[0] == "UnrecognizedClientException"
    assert denied(world.client("sqs", stranger).list_queues)[0] == "InvalidClientTokenId"
    assert denied(world.client("s3", stranger).list_buckets)[0] == "InvalidAccessKeyId"


def test_revoked_session_is_expired(world: World):
    world.sessions.revoke(USER.access_key_id)
    assert denied(world.client("sts").get_caller_identity) == (
        "ExpiredToken",
        "The security token included in the request is expired",
    )
    assert denied(world.client("ssm").get_parameter, Name="/x")[0] == "ExpiredTokenException"


def test_unsigned_request(world: World):
    request = urllib.request.Request(
        world.gateway.url + "/", data=b"{}", headers={"X-Amz-Target": "AmazonSSM.GetParameter"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert json.loads(err.value.read())["__type"] == "MissingAuthenticationTokenException"


def test_presigned_url_through_the_gateway(world: World):
    world.client("s3", ADMIN).create_bucket(Bucket="gwtest-presigned")
    world.client("s3", ADMIN).put_object(Bucket="gwtest-presigned", Key="f.txt", Body=b"shared")
    world.grant(allow("s3:GetObject", "arn:aws:s3:::gwtest-presigned/*"))
    for s3 in (world.client("s3", signature_version="s3v4"), world.client("s3")):  # SigV4, boto3's SigV2
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "gwtest-presigned", "Key": "f.txt"}, ExpiresIn=60
        )
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"shared"


# --- cross-service KMS ----------------------------------------------------------------------------------


def _cmk(world: World) -> str:
    key_arn = world.client("kms", ADMIN).create_key()["KeyMetadata"]["Arn"]
    key_policy = policy(
        PolicyKind.RESOURCE,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        name="key-policy",
    )
    world.policies.resources[key_arn] = ResourceInfo(key_arn, exists=True, policy=key_policy)
    return key_arn


def test_secure_string_needs_kms_decrypt_via_ssm(world: World):
    key_arn = _cmk(world)
    world.client("ssm", ADMIN).put_parameter(
        Name="/gwtest/app/pw", Value="s3cr3t", Type="SecureString", KeyId=key_arn, Overwrite=True
    )
    param_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/app/pw"
    world.policies.resources[param_arn] = ResourceInfo(param_arn, exists=True, kms_key_arn=key_arn)
    world.grant(allow("ssm:GetParameters", param_arn))
    ssm = world.client("ssm")
    code, message = denied(ssm.get_parameters, Names=["/gwtest/app/pw"], WithDecryption=True)
    assert code == "AccessDeniedException"
    assert message.startswith(user_message("kms:Decrypt", key_arn) + " (Service: AWSKMS; Status Code: 400;")
    via = world.records[-1]
    assert (via.action, via.resource, via.via, via.decision.effect) == (
        "kms:Decrypt",
        key_arn,
        "ssm",
        "ImplicitDeny",
    )
    # without decryption KMS is not involved; with kms:Decrypt granted via SSM it passes
    assert ssm.get_parameters(Names=["/gwtest/app/pw"])["Parameters"][0]["Name"] == "/gwtest/app/pw"
    world.grant(
        allow("ssm:GetParameters", param_arn),
        allow(
            "kms:Decrypt",
            key_arn,
            Condition={"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}},
        ),
    )
    assert (
        ssm.get_parameters(Names=["/gwtest/app/pw"], WithDecryption=True)["Parameters"][0]["Value"]
        == "s3cr3t"
    )
    # the same grant does not allow calling KMS directly
    assert (
        denied(world.client("kms").decrypt, CiphertextBlob=b"x" * 40, KeyId=key_arn)[0]
        == "AccessDeniedException"
    )


def test_parameters_by_path_decrypting_needs_kms_decrypt(world: World):
    key_arn = _cmk(world)
    admin = world.client("ssm", ADMIN)
    admin.put_parameter(
        Name="/gwtest/path/pw", Value="s3cr3t", Type="SecureString", KeyId=key_arn, Overwrite=True
    )
    admin.put_parameter(Name="/gwtest/path/host", Value="db", Type="String", Overwrite=True)
    param_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/path/pw"
    world.policies.resources[param_arn] = ResourceInfo(param_arn, exists=True, kms_key_arn=key_arn)
    world.grant(allow("ssm:GetParametersByPath", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gwtest/path"))
    ssm = world.client("ssm")
    assert len(ssm.get_parameters_by_path(Path="/gwtest/path")["Parameters"]) == 2
    code, message = denied(ssm.get_parameters_by_path, Path="/gwtest/path", WithDecryption=True)
    assert code == "AccessDeniedException"
    assert message.startswith(user_message("kms:Decrypt", key_arn))
    assert (world.records[-1].via, world.records[-1].resource) == ("ssm", key_arn)


def test_secret_under_a_cmk_needs_kms_decrypt(world: World):
    key_arn = _cmk(world)
    arn = world.client("secretsmanager", ADMIN).create_secret(
        Name="gwtest/cmk/db", SecretString="pw", KmsKeyId=key_arn
    )["ARN"]
    world.policies.resources[arn] = ResourceInfo(arn, exists=True, kms_key_arn=key_arn)
    world.grant(allow("secretsmanager:GetSecretValue", arn))
    assert denied(world.client("secretsmanager").get_secret_value, SecretId="gwtest/cmk/db") == (
        "AccessDeniedException",
        "Access to KMS is not allowed",
    )


# --- gateway behaviour ----------------------------------------------------------------------------------


def test_writes_invalidate_the_policy_source_reads_do_not(world: World):
    ssm = world.client("ssm", ADMIN)
    before = world.policies.invalidations
    ssm.get_parameters(Names=["/nothing"])
    assert world.policies.invalidations == before
    ssm.put_parameter(Name="/gwtest/inv", Value="v", Type="String", Overwrite=True)
    assert world.policies.invalidations == before + 1


def test_superuser_is_not_authorized_against_policies(world: World):
    world.client("s3", ADMIN).create_bucket(Bucket="gwtest-admin-only")
    assert world.records == []


def test_oversized_body_is_refused_cleanly(world: World):
    world.grant(allow("ssm:*"))
    ssm = world.client("ssm")
    code, _ = denied(ssm.put_parameter, Name="/gwtest/big", Value="x" * (21 * 1024 * 1024), Type="String")
    assert code == "RequestEntityTooLargeException"
    assert world.client("sts").get_caller_identity()["Account"] == ACCOUNT  # still serving


def test_malformed_json_body(world: World):
    world.grant(allow("ssm:*"))
    ssm = world.client("ssm")

    def corrupt(request, **_):
        request.data = b"{not json"

    ssm.meta.events.register("before-sign.ssm.GetParameter", corrupt)
    assert denied(ssm.get_parameter, Name="/x")[0] == "SerializationException"


def test_add_listener(world: World):
    port = world.gateway.add_listener("127.0.0.2")
    assert port == world.gateway.port
    sts = boto3.client(
        "sts",
        endpoint_url=f"http://127.0.0.2:{port}",
        region_name=REGION,
        aws_access_key_id=USER.access_key_id,
        aws_secret_access_key=USER.secret_access_key,
        aws_session_token=USER.session_token,
    )
    assert sts.get_caller_identity()["Account"] == ACCOUNT


def test_sqs_query_protocol_client_gets_query_errors(world: World):
    """Older SDKs still speak SQS's query protocol; they get its XML errors."""
    queue_url = world.client("sqs", ADMIN).create_queue(QueueName="gwtest-query")["QueueUrl"]
    world.grant(allow("sqs:GetQueueAttributes", "*"))
    request = AWSRequest(
        method="POST",
        url=world.gateway.url + "/",
        data=f"Action=SendMessage&Version=2012-11-05&QueueUrl={quote(queue_url, safe='')}&MessageBody=x".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(
        Credentials(USER.access_key_id, USER.secret_access_key, USER.session_token), "sqs", REGION
    ).add_auth(request)
    prepared = request.prepare()
    http_request = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(http_request, timeout=10)
    body = err.value.read().decode()
    assert err.value.code == 403
    assert "<Code>AccessDenied</Code>" in body
    assert "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:gwtest-query" in body


def test_assume_role_through_the_gateway_registers_the_new_session(world: World):
    """Role chaining: credentials from sts:AssumeRole sign their own requests at once, as on AWS."""
    role_arn = world.client("iam", ADMIN).create_role(
        RoleName="gwtest-chained",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    trust = policy(
        PolicyKind.TRUST,
        {"Effect": "Allow", "Principal": {"AWS": ROLE.role_arn}, "Action": "sts:AssumeRole"},
        name="gwtest-chained trust policy",
    )
    world.policies.resources[role_arn] = ResourceInfo(role_arn, exists=True, policy=trust, tags={"team": "x"})
    world.grant(allow("sts:AssumeRole", role_arn))
    creds = world.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="chained")["Credentials"]
    chained = world.sessions.lookup(creds["AccessKeyId"])
    assert chained is not None
    assert chained.principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/gwtest-chained/chained"
    assert chained.principal.tags == {"team": "x"}
    assert chained.label == USER.label
    assert denied(world.client("ssm", chained).get_parameter, Name="/x")[0] == "AccessDeniedException"
    # the trust policy decides: a caller it does not name is refused
    world.policies.resources[role_arn] = ResourceInfo(
        role_arn,
        exists=True,
        policy=policy(
            PolicyKind.TRUST,
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
        ),
    )
    assert denied(world.client("sts").assume_role, RoleArn=role_arn, RoleSessionName="again") == (
        "AccessDenied",
        f"User: {ROLE.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nno-colon\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_malformed_http_gets_an_error_and_the_gateway_keeps_serving(world: World, raw: bytes):
    with socket.create_connection(("127.0.0.1", world.gateway.port), timeout=10) as sock:
        sock.sendall(raw)
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1] in (b"400", b"403", b"431")
    assert world.client("sts").get_caller_identity()["Account"] == ACCOUNT
