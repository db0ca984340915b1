"""Task role credentials as the ECS agent serves them (``ecs-agent/tmds/handlers/v1|v2``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..sessions import Session
from . import gojson


@dataclass(frozen=True)
class TaskCredentials:
    role_arn: str
    access_key_id: str
    secret_access_key: str
    token: str
    expiration: datetime

    @classmethod
    def from_session(cls, session: Session) -> TaskCredentials:
        """The credentials of an assumed-role session (the task role's)."""
        if session.expiration is None or session.session_token is None or session.principal.role_arn is None:
            raise ValueError(f"session {session.access_key_id} is not a temporary role session")
        return cls(
            role_arn=session.principal.role_arn,
            access_key_id=session.access_key_id,
            secret_access_key=session.secret_access_key,
            token=session.session_token,
            expiration=session.expiration,
        )

    def body(self) -> bytes:
        """The 200 body: ``IAMRoleCredentials`` marshalled, fields in the agent's order."""
        return gojson.dumps(
            {
                "RoleArn": self.role_arn,
                "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key,
                "Token": self.token,
                "Expiration": gojson.rfc3339(self.expiration),
            }
        )


def error_body(code: str, message: str, status: int) -> bytes:
    """``handlersutils.ErrorMessage``: its status field has no json tag, hence ``HTTPErrorCode``."""
    return gojson.dumps({"code": code, "message": message, "HTTPErrorCode": status})


# (status, code, message without the "CredentialsV<n>Request: " prefix), from v1/credentials_handler.go
NO_ID = (400, "NoIdInRequest", "No Credential ID in the request")
NOT_FOUND = (400, "InvalidIdInRequest", "Credentials not found")
