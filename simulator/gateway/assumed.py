"""Sessions a caller makes for itself with ``sts:AssumeRole`` through the gateway (role chaining).

The backend issues the credentials; the gateway registers them so the new session is known when it
signs its first request, as on AWS. It inherits the caller's label: the runner attributes its
decisions to the same task and phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..iam import principal_from_arn
from ..iam.policy import Policy
from ..sessions import Session
from .parsing import xml_texts


def session_from_assume_role(
    body: bytes, caller: Session, role_tags: Mapping[str, str], session_policy: Policy | None = None
) -> Session | None:
    """The session in an ``AssumeRole`` XML response, narrowed by ``session_policy``; None when the
    response holds none."""
    values = xml_texts(body)
    needed = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Arn")
    if not all(values.get(name) for name in needed):
        return None
    try:
        expiration = datetime.fromisoformat(values["Expiration"].replace("Z", "+00:00"))
    except ValueError:
        return None
    return Session(
        access_key_id=values["AccessKeyId"],
        secret_access_key=values["SecretAccessKey"],
        session_token=values["SessionToken"],
        expiration=expiration,
        principal=principal_from_arn(values["Arn"], tags=dict(role_tags)),
        label=caller.label,
        session_policy=session_policy,
    )
