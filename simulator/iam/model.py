"""The data every IAM decision is made of: who asks, for what, under which policies, and the verdict.

These types are the contract between the policy engine and its callers (gateway, task-start checks,
`check`, `explain`, `simulate`). They know nothing of HTTP, Docker or ECS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .policy import Policy

ContextValue = str | Sequence[str]


class PolicyKind(StrEnum):
    """Where a policy sits in the evaluation logic; also names what blocked a denied request."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    BOUNDARY = "boundary"
    SCP = "scp"
    SESSION = "session"
    TRUST = "trust"  # a role's trust policy: the resource policy of sts:AssumeRole


class PrincipalType(StrEnum):
    ASSUMED_ROLE = "AssumedRole"
    USER = "User"
    ROOT = "Account"
    SERVICE = "Service"


@dataclass(frozen=True)
class Principal:
    """The caller. For an assumed-role session ``arn`` is the STS ARN, ``role_arn`` the IAM role ARN."""

    arn: str
    account: str
    type: PrincipalType
    role_arn: str | None = None
    session_name: str | None = None
    userid: str = ""
    username: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    service: str | None = None  # e.g. "ecs-tasks.amazonaws.com" for a service principal

    @property
    def role_name(self) -> str | None:
        return self.role_arn.rsplit("/", 1)[-1] if self.role_arn else None


@dataclass(frozen=True)
class AuthzRequest:
    """One IAM question. ``context`` holds request keys; the engine adds the principal's own keys."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_account: str | None = None  # None: same account as the resource ARN (or the principal)


@dataclass(frozen=True)
class PolicySet:
    """Every policy that applies to one request, by its place in the evaluation logic."""

    identity: Sequence[Policy] = ()
    resource: Policy | None = None
    boundary: Policy | None = None
    scps: Sequence[Policy] = ()
    session: Policy | None = None


Effect = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]


@dataclass(frozen=True)
class StatementRef:
    """A statement that decided: the policy's name and kind, and its Sid (or index when it has none)."""

    policy_name: str
    policy_kind: PolicyKind
    sid: str | None
    index: int
    effect: Literal["Allow", "Deny"]

    def label(self) -> str:
        which = f"Sid {self.sid!r}" if self.sid else f"statement #{self.index}"
        return f"{self.policy_kind.value} policy {self.policy_name!r}, {which}"


@dataclass(frozen=True, init=False)
class Decision:
    """The verdict with its reasons.

    ``blocked_by`` is the policy kind that denied (explicit deny) or failed to allow (implicit deny);
    ``statements`` are the deciding statements (the denying ones, or the allowing ones on Allow);
    ``trace`` is the step-by-step evaluation, one readable line per step.
    """

    effect: Effect
    blocked_by: PolicyKind | None
    statements: tuple[StatementRef, ...]
    explanation: str
    trace: tuple[str, ...] = ()

    def __init__(
        self,
        effect: Effect,
        blocked_by: PolicyKind | None,
        statements: tuple[StatementRef, ...],
        explanation: str,
        trace: tuple[str, ...] = (),
    ) -> None:
        # Fields go straight into the instance dict: the generated frozen __init__ sets each one through
        # object.__setattr__, which cost as much as a tenth of a whole decision (one per request).
        fields = self.__dict__
        fields["effect"] = effect
        fields["blocked_by"] = blocked_by
        fields["statements"] = statements
        fields["explanation"] = explanation
        fields["trace"] = trace

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"
