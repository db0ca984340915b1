"""Turns a denied call into the answer users look for: which role needs what, and why that role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .iam.model import Decision, PolicyKind

PHASE_EXECUTION = "execution"
PHASE_RUNTIME = "runtime"

WHY_RUNTIME = (
    "the call was made by the application inside a running container, whose AWS SDK gets the task "
    "role's credentials from the credentials endpoint"
)

WHY_TASK_PROTECTION = (
    "the ECS agent makes this call itself, with the task role's credentials (never the execution role's), when "
    "a container uses the task scale-in protection endpoint ($ECS_AGENT_URI/task-protection/v1/state)"
)

_BLOCKER_ADVICE: dict[PolicyKind, str] = {
    PolicyKind.BOUNDARY: "the role's permissions boundary does not allow it: widen the boundary; adding to the "
    "role's own policies would not help",
    PolicyKind.SCP: "a service control policy of the organization blocks it: change the SCP; no role policy can "
    "override it",
    PolicyKind.RESOURCE: "the resource's own policy blocks it: change the resource policy (bucket, key, secret or "
    "repository policy)",
    PolicyKind.SESSION: "the session policy blocks it",
    PolicyKind.TRUST: "the role's trust policy does not let the caller assume it: fix the trust relationship",
}


@dataclass(frozen=True)
class Denial:
    phase: str
    role_arn: str
    action: str
    resource: str
    decision: Decision
    error_code: str | None
    message: str | None
    diagnosis: str
    fix: dict[str, Any] | None
    other_role_allows: bool = False
    deciding: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "roleArn": self.role_arn,
            "action": self.action,
            "resource": self.resource,
            "decision": self.decision.effect,
            "blockedBy": self.decision.blocked_by.value if self.decision.blocked_by else None,
            "decidingStatements": self.deciding,
            "errorCode": self.error_code,
            "message": self.message,
            "diagnosis": self.diagnosis,
            "fix": self.fix,
        }


def role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def fix_statement(action: str, resource: str) -> dict[str, Any]:
    """The smallest statement that grants exactly this call."""
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def diagnose(
    *,
    phase: str,
    role_arn: str,
    action: str,
    resource: str,
    decision: Decision,
    why: str,
    other_role_arn: str | None,
    other_role_decision: Decision | None,
) -> tuple[str, dict[str, Any] | None, bool]:
    """(diagnosis text, fix statement or None, whether the task's other role would have allowed it)."""
    who = "task execution role" if phase == PHASE_EXECUTION else "task role"
    name = role_name(role_arn)
    lines = [
        f"{action} on {resource} was denied to the {who} `{name}` at "
        f"{'task start' if phase == PHASE_EXECUTION else 'runtime'}: {why}."
    ]
    if decision.effect == "ExplicitDeny":
        deciding = ", ".join(s.label() for s in decision.statements) or "a Deny statement"
        lines.append(f"An explicit deny decided it ({deciding}).")
    else:
        lines.append(f"Nothing allows it: {decision.explanation}")
    other_allows = bool(other_role_decision and other_role_decision.allowed and other_role_arn)
    if other_allows and other_role_arn:
        other_who = "task role" if phase == PHASE_EXECUTION else "task execution role"
        used_when = (
            "is only used by the running containers"
            if phase == PHASE_EXECUTION
            else "is only used by the ECS agent at task start"
        )
        lines.append(
            f"`{role_name(other_role_arn)}` (the {other_who}) allows {action} on this resource, but the {other_who} "
            f"{used_when}; add it to `{name}`."
        )
    blocker = decision.blocked_by
    if decision.effect == "ExplicitDeny" or (blocker and blocker is not PolicyKind.IDENTITY):
        advice = _BLOCKER_ADVICE.get(blocker) if blocker else None
        if decision.effect == "ExplicitDeny" and blocker is PolicyKind.IDENTITY:
            advice = "remove or narrow the Deny statement in the role's own policy"
        lines.append(f"Fix: {advice or 'change the policy that denies it'}.")
        return " ".join(lines), None, other_allows
    lines.append(f"Fix: add this statement to a policy of `{name}`.")
    return " ".join(lines), fix_statement(action, resource), other_allows
