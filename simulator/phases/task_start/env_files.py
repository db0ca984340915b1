"""`environmentFiles` from S3: GetObject per file (envfile.go), parsed as KEY=VALUE lines. A file under a
customer managed KMS key is also a kms:Decrypt by S3 on the role's behalf, which the gateway decides (and
`check` lists) with the GetObject."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from ...ecs import failures
from .units import AwsCall, ContainerInputs, ExecutionClients, StartContext, StartFailed

WHY_ENV_FILES = (
    "environment files are downloaded from S3 by the ECS agent at task start with the task execution "
    "role, before the container (and its task role) exists; S3 decrypts a file encrypted with a KMS key "
    "(SSE-KMS) with that role's kms:Decrypt on the key"
)


def parse_s3_arn(arn: str) -> tuple[str, str]:
    """``arn:aws:s3:::bucket/key/with/slashes`` -> (bucket, key)."""
    prefix = "arn:aws:s3:::"
    rest = arn[len(prefix) :] if arn.startswith(prefix) else ""
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise ValueError(f"invalid s3 arn: {arn}")
    return bucket, key


def parse_env_file(text: str) -> dict[str, str]:
    """ECS's env file rules: one VARIABLE=VALUE per line, lines starting with # are comments, values
    are taken literally (no quote handling)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value
    return values


@dataclass
class EnvFile:
    ctx: StartContext
    container_name: str
    arn: str
    kind: str = "env-file"
    why: str = WHY_ENV_FILES

    @property
    def container(self) -> str | None:
        return self.container_name

    def calls(self) -> list[AwsCall]:
        bucket, key = parse_s3_arn(self.arn)
        return [AwsCall("s3", "GetObject", {"Bucket": bucket, "Key": key})]

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        bucket, key = parse_s3_arn(self.arn)
        try:
            body = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            error = err.response.get("Error", {})
            text = f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}"
            raise StartFailed(failures.env_file_failed(self.ctx.launch, bucket, key, text)) from err
        # Files are applied in order: a later file overrides an earlier one's variable.
        inputs[self.container_name].env_files.update(parse_env_file(body.decode("utf-8", "replace")))
