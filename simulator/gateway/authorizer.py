"""Asking the IAM engine about each check of a request, with the caller's and the resource's policies.

A read that decrypts (an SSM SecureString, a secret under a customer managed key) is also a
``kms:Decrypt`` by the same caller *via* the service, decided under the key policy with
``kms:ViaService`` and ``aws:CalledVia`` set, and refused with that service's own wording.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ..iam import denial_message, evaluate
from ..iam.model import AuthzRequest, ContextValue, Decision, PolicySet, Principal
from ..policy_source import PolicySource, ResourceInfo
from ..sessions import Session
from .resources import ANY, Check


@dataclass(frozen=True)
class DecisionRecord:
    """One authorization the gateway made, allowed or denied (``via``: the service that called KMS)."""

    session_label: str
    principal_arn: str
    service: str
    operation: str
    action: str
    resource: str
    decision: Decision
    error_code: str | None
    message: str | None
    at: datetime
    via: str | None = None


@dataclass(frozen=True)
class Denial:
    message: str


# How a service words a refused KMS call made on the caller's behalf (Java services append KMS's details).
_VIA_KMS_DENIALS: Mapping[str, Callable[[str], str]] = {
    "ssm": lambda kms_message: (
        f"{kms_message} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    ),
    "secretsmanager": lambda kms_message: "Access to KMS is not allowed",
}
# The encryption context each service passes to KMS (its documented kms:EncryptionContext key).
_ENCRYPTION_CONTEXT_KEYS = {"ssm": "PARAMETER_ARN", "secretsmanager": "SecretARN"}


@dataclass(frozen=True)
class RequestFacts:
    """What the authorizer needs to know about the HTTP request besides its checks."""

    service: str  # IAM service prefix
    operation: str
    region: str
    client_ip: str
    error_code: str  # the code a denial is answered with, for the record


class Authorizer:
    def __init__(self, policies: PolicySource, on_decision: Callable[[DecisionRecord], None] | None) -> None:
        self._policies = policies
        self._on_decision = on_decision

    def authorize(self, session: Session, facts: RequestFacts, checks: list[Check]) -> Denial | None:
        """The first denial among ``checks`` (in order), or None when every check is allowed."""
        if not checks:
            return None
        principal = session.principal
        base_set = self._policies.principal_policies(principal)
        context: dict[str, ContextValue] = {
            "aws:SecureTransport": "false",
            "aws:SourceIp": facts.client_ip,
            "aws:RequestedRegion": facts.region,
        }
        for check in checks:
            info = (
                self._policies.resource_info(check.policy_arn or check.resource)
                if check.resource != ANY
                else None
            )
            request = AuthzRequest(
                principal,
                check.action,
                check.resource,
                {**context, **_tag_keys(facts.service, check, info), **check.context},
            )
            policies = dataclasses.replace(base_set, resource=info.policy if info is not None else None)
            decision = evaluate(request, policies)
            message = None
            if not decision.allowed:
                message = denial_message(request, decision, quote_resource=facts.service == "s3")
            self._record(session, facts, request, decision, message, via=None)
            if message is not None:
                return Denial(message)
            if check.decrypts and info is not None and info.kms_key_arn:
                denial = self._decrypt_via(
                    session, facts, principal, base_set, check.resource, info.kms_key_arn
                )
                if denial is not None:
                    return denial
        return None

    def authorize_decrypts(self, session: Session, facts: RequestFacts, arns: list[str]) -> Denial | None:
        """kms:Decrypt via the service for each resource in ``arns`` encrypted with a customer managed key."""
        base_set: PolicySet | None = None
        for arn in arns:
            info = self._policies.resource_info(arn)
            if info.kms_key_arn:
                base_set = base_set or self._policies.principal_policies(session.principal)
                denial = self._decrypt_via(session, facts, session.principal, base_set, arn, info.kms_key_arn)
                if denial is not None:
                    return denial
        return None

    def _decrypt_via(
        self,
        session: Session,
        facts: RequestFacts,
        principal: Principal,
        base_set: PolicySet,
        arn: str,
        key_arn: str,
    ) -> Denial | None:
        service = facts.service
        called_via = f"{service}.amazonaws.com"
        # Forward access sessions carry no aws:SourceIp: the service, not the caller, calls KMS.
        context: dict[str, ContextValue] = {
            "aws:SecureTransport": "true",
            "aws:RequestedRegion": facts.region,
            "aws:ViaAWSService": "true",
            "aws:CalledVia": [called_via],
            "aws:CalledViaFirst": called_via,
            "aws:CalledViaLast": called_via,
            "kms:ViaService": f"{service}.{facts.region}.amazonaws.com",
            "kms:CallerAccount": principal.account,
        }
        if service in _ENCRYPTION_CONTEXT_KEYS:
            context[f"kms:EncryptionContext:{_ENCRYPTION_CONTEXT_KEYS[service]}"] = arn
        key_info = self._policies.resource_info(key_arn)
        request = AuthzRequest(
            principal, "kms:Decrypt", key_arn, {**context, **_tag_keys("kms", None, key_info)}
        )
        decision = evaluate(request, dataclasses.replace(base_set, resource=key_info.policy))
        message = None
        if not decision.allowed:
            kms_message = denial_message(request, decision)
            message = _VIA_KMS_DENIALS.get(service, lambda m: m)(kms_message)
        self._record(session, facts, request, decision, message, via=service)
        return Denial(message) if message is not None else None

    def _record(
        self,
        session: Session,
        facts: RequestFacts,
        request: AuthzRequest,
        decision: Decision,
        message: str | None,
        via: str | None,
    ) -> None:
        if self._on_decision is None:
            return
        self._on_decision(
            DecisionRecord(
                session_label=session.label,
                principal_arn=session.principal.arn,
                service=facts.service,
                operation=facts.operation,
                action=request.action,
                resource=request.resource,
                decision=decision,
                error_code=None if decision.allowed else facts.error_code,
                message=message,
                at=datetime.now(UTC),
                via=via,
            )
        )


def _tag_keys(service: str, check: Check | None, info: ResourceInfo | None) -> dict[str, ContextValue]:
    """aws:ResourceTag/* (and the service's own ResourceTag alias) of the resource itself."""
    if info is None or (check is not None and check.policy_arn not in (None, check.resource)):
        return {}  # an S3 object: its bucket's tags are not the object's
    keys: dict[str, ContextValue] = {}
    for tag, value in info.tags.items():
        keys[f"aws:ResourceTag/{tag}"] = value
        keys[f"{service}:ResourceTag/{tag}"] = value
    return keys
