"""`secrets` from Secrets Manager: GetSecretValue per secret, with the
`arn:...:secret:name-AbCdEf:json-key:version-stage:version-id` reference forms (asm.go)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ...ecs import failures
from .ssm_secrets import WHY_SECRETS
from .units import AwsCall, ContainerInputs, ExecutionClients, StartContext, StartFailed

_ARN_PARTS = 7  # arn:aws:secretsmanager:region:account:secret:name-AbCdEf


@dataclass(frozen=True)
class AsmReference:
    secret_id: str
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None

    @property
    def region(self) -> str | None:
        return self.secret_id.split(":")[3] if self.secret_id.startswith("arn:") else None

    def request(self) -> dict[str, Any]:
        params: dict[str, Any] = {"SecretId": self.secret_id}
        if self.version_stage:
            params["VersionStage"] = self.version_stage
        if self.version_id:
            params["VersionId"] = self.version_id
        return params


def parse_reference(value_from: str) -> AsmReference:
    if not value_from.startswith("arn:"):
        return AsmReference(value_from)
    parts = value_from.split(":")
    if len(parts) < _ARN_PARTS or parts[5] != "secret":
        raise ValueError(
            "an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again."
        )
    extra = [*parts[_ARN_PARTS:], "", "", ""]
    return AsmReference(":".join(parts[:_ARN_PARTS]), extra[0] or None, extra[1] or None, extra[2] or None)


@dataclass(frozen=True)
class AsmSecretRef:
    container: str
    env_name: str
    value_from: str


@dataclass
class AsmSecret:
    """All references that read one secret version (the same secret may feed several env vars)."""

    ctx: StartContext
    reference: AsmReference
    refs: tuple[AsmSecretRef, ...]
    kind: str = "asm-secret"
    why: str = WHY_SECRETS

    @property
    def container(self) -> str | None:
        return self.refs[0].container

    def calls(self) -> list[AwsCall]:
        return [AwsCall("secretsmanager", "GetSecretValue", self.reference.request())]

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        region = self.reference.region or self.ctx.region
        try:
            answer = clients.client("secretsmanager", region).get_secret_value(**self.reference.request())
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            failure = failures.asm_secret_failed(
                self.ctx.launch,
                self.reference.secret_id,
                failures.sdk_error_text(err),
                not_found=code == "ResourceNotFoundException",
            )
            raise StartFailed(failure) from err
        text = answer.get("SecretString") or ""
        for ref in self.refs:
            key = parse_reference(ref.value_from).json_key
            inputs[ref.container].secrets[ref.env_name] = self._extract(text, key)

    def _extract(self, text: str, key: str | None) -> str:
        if key is None:
            return text
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or key not in document:
            raise StartFailed(failures.asm_json_key_missing(self.ctx.launch, self.reference.secret_id, key))
        value = document[key]
        return value if isinstance(value, str) else json.dumps(value)
