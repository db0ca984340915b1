"""Asking the IAM engine about each check of a request, with the caller's and the resource's policies.

A read that decrypts (an SSM SecureString, a secret or an S3 object under a customer managed key) is
also a ``kms:Decrypt`` by the same caller *via* the service, and an S3 write under such a key a
``kms:GenerateDataKey``: decided under the key policy with ``kms:ViaService``, ``aws:CalledVia`` and
the service's encryption context set, and refused with that service's own wording.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..iam import denial_message, evaluate
from ..iam.model import AuthzRequest, ContextValue, Decision, Principal
from ..iam.policy import Policy
from ..policy_source import PolicySource, ResourceInfo
from ..sessions import Session
from .resources import ANY, Check, KmsUse


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
    # every context key the decision saw: wrong-role detection asks the other role the same question
    context: Mapping[str, ContextValue] = field(default_factory=dict)


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
_ENCRYPTION_CONTEXT_KEYS = {"ssm": "PARAMETER_ARN", "secretsmanager": "SecretARN", "s3": "aws:s3:arn"}


@dataclass(frozen=True)
class RequestFacts:
    """What the authorizer needs to know about the HTTP request besides its checks."""

    service: str  # IAM service prefix
    operation: str
    region: str
    client_ip: str
    error_code: str  # the code a denial is answered with, for the record


# The source address of a call decided without being sent (``ecs-sim check``, wrong-role detection).
UNSENT_CLIENT_IP = "127.0.0.1"


def request_context(region: str, client_ip: str) -> dict[str, ContextValue]:
    """The keys every request through the gateway carries: from ``client_ip``, for ``region``, and over
    TLS: the gateway's plain-HTTP hop stands in for AWS's HTTPS endpoints, which the agent and the SDKs
    always use (a bucket policy refusing insecure transport must refuse none of their calls)."""
    return {"aws:SecureTransport": "true", "aws:SourceIp": client_ip, "aws:RequestedRegion": region}


class Authorizer:
    def __init__(self, policies: PolicySource, on_decision: Callable[[DecisionRecord], None] | None) -> None:
        self._policies = policies
        self._on_decision = on_decision

    def decide(
        self,
        principal: Principal,
        check: Check,
        context: Mapping[str, ContextValue],
        session_policy: Policy | None = None,
    ) -> tuple[AuthzRequest, Decision]:
        """One check as the gateway decides it: the caller's policies (identity, boundary, SCPs, the
        session's own ``session_policy``), the resource's policy and tags, ``context`` (the request's
        keys), then the check's own keys.
        ``Simulator.authorize`` asks this too, so `check` and diagnosis cannot judge a call differently."""
        info = (
            self._policies.resource_info(check.policy_arn or check.resource)
            if check.resource != ANY
            else None
        )
        request = AuthzRequest(
            principal, check.action, check.resource, {**context, **_tag_keys(check, info), **check.context}
        )
        policies = self._policies.principal_policies(principal)
        if info is not None:
            policies = dataclasses.replace(policies, resource=info.policy)
        if session_policy is not None:
            policies = dataclasses.replace(policies, session=session_policy)
        return request, evaluate(request, policies)

    def authorize(self, session: Session, facts: RequestFacts, checks: list[Check]) -> Denial | None:
        """The first denial among ``checks`` (in order), or None when every check is allowed."""
        context = request_context(facts.region, facts.client_ip)
        for check in checks:
            request, decision = self.decide(session.principal, check, context, session.session_policy)
            message = None
            if not decision.allowed:
                message = denial_message(request, decision, quote_resource=facts.service == "s3")
            self._record(session, facts, request, decision, message, via=None)
            if message is not None:
                return Denial(message)
            if check.kms is not None:
                denial = self._use_key(session, facts, check.resource, check.kms)
                if denial is not None:
                    return denial
        return None

    def authorize_decrypts(self, session: Session, facts: RequestFacts, arns: list[str]) -> Denial | None:
        """kms:Decrypt via the service for each resource in ``arns`` encrypted with a customer managed key."""
        for arn in arns:
            denial = self._use_key(session, facts, arn, KmsUse("kms:Decrypt", arn))
            if denial is not None:
                return denial
        return None

    def _use_key(self, session: Session, facts: RequestFacts, arn: str, use: KmsUse) -> Denial | None:
        """``use`` by the service on ``arn``'s behalf: nothing to decide when no customer managed key is involved."""
        info = self._policies.resource_info(use.key_of)
        key_arn = use.key_arn or info.kms_key_arn
        if not key_arn:
            return None
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
            "kms:CallerAccount": session.principal.account,
        }
        if service in _ENCRYPTION_CONTEXT_KEYS:
            # With an S3 Bucket Key, S3 asks KMS for the bucket's key material, naming the bucket.
            named = arn.split("/", 1)[0] if info.kms_bucket_key else arn
            context[f"kms:EncryptionContext:{_ENCRYPTION_CONTEXT_KEYS[service]}"] = named
            context["kms:EncryptionContextKeys"] = [_ENCRYPTION_CONTEXT_KEYS[service]]
        request, decision = self.decide(
            session.principal, Check(use.action, key_arn), context, session.session_policy
        )
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
                context=request.context,
            )
        )


def _tag_keys(check: Check, info: ResourceInfo | None) -> dict[str, ContextValue]:
    """aws:ResourceTag/* (and the service's own ResourceTag alias) of the resource itself."""
    if info is None or check.policy_arn not in (None, check.resource):
        return {}  # an S3 object: its bucket's tags are not the object's
    service = check.action.split(":", 1)[0]
    keys: dict[str, ContextValue] = {}
    for tag, value in info.tags.items():
        keys[f"aws:ResourceTag/{tag}"] = value
        keys[f"{service}:ResourceTag/{tag}"] = value
    return keys
