"""`secrets` from SSM Parameter Store: GetParameters with decryption, batches of 10 per region (ssm.go)."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from ...ecs import failures
from .units import AwsCall, ContainerInputs, ExecutionClients, StartContext, StartFailed

WHY_SECRETS = (
    "secrets are read by the ECS agent at task start with the task execution role and injected as "
    "environment variables; the task role is only used by the running containers"
)
_BATCH = 10


@dataclass(frozen=True)
class SsmSecretRef:
    container: str
    env_name: str
    value_from: str  # parameter name or ARN, passed to GetParameters as given


def parameter_region(value_from: str, default: str) -> str:
    return value_from.split(":")[3] if value_from.startswith("arn:") else default


@dataclass
class SsmSecrets:
    ctx: StartContext
    region: str
    refs: tuple[SsmSecretRef, ...]
    kind: str = "ssm-secrets"
    why: str = WHY_SECRETS

    @property
    def container(self) -> str | None:
        return self.refs[0].container

    def _batches(self) -> list[list[str]]:
        names = list(dict.fromkeys(ref.value_from for ref in self.refs))
        return [names[i : i + _BATCH] for i in range(0, len(names), _BATCH)]

    def calls(self) -> list[AwsCall]:
        return [
            AwsCall("ssm", "GetParameters", {"Names": batch, "WithDecryption": True})
            for batch in self._batches()
        ]

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        ssm = clients.client("ssm", self.region)
        values: dict[str, str] = {}
        for batch in self._batches():
            try:
                answer = ssm.get_parameters(Names=batch, WithDecryption=True)
            except ClientError as err:
                raise StartFailed(
                    failures.ssm_secrets_failed(self.ctx.launch, self.region, failures.sdk_error_text(err))
                ) from err
            if answer.get("InvalidParameters"):
                text = failures.ssm_invalid_parameters(answer["InvalidParameters"])
                raise StartFailed(failures.ssm_secrets_failed(self.ctx.launch, self.region, text))
            for parameter in answer.get("Parameters", []):
                values[parameter["Name"]] = parameter["Value"]
                values[parameter["ARN"]] = parameter["Value"]
        for ref in self.refs:
            inputs[ref.container].secrets[ref.env_name] = values[_lookup_key(ref.value_from, values)]


def _lookup_key(value_from: str, values: dict[str, str]) -> str:
    # GetParameters answers with the parameter's name; a name without its leading slash still matches.
    for candidate in (value_from, "/" + value_from, value_from.lstrip("/")):
        if candidate in values:
            return candidate
    return value_from
