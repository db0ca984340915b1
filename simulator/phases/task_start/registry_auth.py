"""`repositoryCredentials`: a private registry's username/password read from Secrets Manager (asmauth.go)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ...ecs import failures
from .ecr import WHY_PULL
from .units import AwsCall, ContainerInputs, ExecutionClients, StartContext, StartFailed


@dataclass
class RegistryCredentials:
    ctx: StartContext
    container_name: str
    secret_id: str
    kind: str = "registry-auth"
    why: str = WHY_PULL

    @property
    def container(self) -> str | None:
        return self.container_name

    def calls(self) -> list[AwsCall]:
        return [AwsCall("secretsmanager", "GetSecretValue", {"SecretId": self.secret_id})]

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        region = self.secret_id.split(":")[3] if self.secret_id.startswith("arn:") else self.ctx.region
        try:
            answer = clients.client("secretsmanager", region).get_secret_value(SecretId=self.secret_id)
        except ClientError as err:
            failure = failures.asm_registry_auth_failed(
                self.ctx.launch, self.secret_id, failures.sdk_error_text(err)
            )
            raise StartFailed(failure) from err
        problem = _schema_problem(answer.get("SecretString") or "")
        if problem:
            raise StartFailed(failures.asm_registry_auth_failed(self.ctx.launch, self.secret_id, problem))


def _schema_problem(text: str) -> str | None:
    if not text:
        return "asm fetching authorization data: empty secrets value"
    try:
        document = json.loads(text)
    except ValueError:
        return "asm fetching authorization data: unable to unmarshal secret value, invalid schema"
    for field in ("username", "password"):
        if not isinstance(document, dict) or not document.get(field):
            return f"asm fetching {field}: AuthorizationData is malformed, empty field"
    return None
