"""``simulate``: decide hand-written requests (the engine behind ``ecs-sim simulate REQUEST.json``).

A request document names the caller, the action, the resource and every policy that applies::

    {"principal": "arn:aws:sts::111122223333:assumed-role/ROLE/SESSION", "action": "ssm:GetParameters",
     "resource": "arn:aws:ssm:us-east-1:111122223333:parameter/app/x",
     "context": {"aws:SecureTransport": "true", "aws:TagKeys": ["a", "b"]},
     "identity_policies": [{...}], "resource_policy": {...} | null, "permission_boundary": {...} | null,
     "scps": [{...}] | null, "session_policy": {...} | null,
     "resource_account": "111122223333", "principal_tags": {"team": "app"}}

or a JSON array of such documents. For ``sts:AssumeRole*`` the resource policy is the role's trust policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .actions import action_exists, unknown_actions
from .evaluate import evaluate
from .messages import denial_message
from .model import AuthzRequest, Decision, PolicyKind, PolicySet
from .policy import MalformedPolicyDocument, Policy, parse_policy
from .principals import principal_from_arn

__all__ = ["SimulationResult", "principal_from_arn", "simulate"]

_FIELDS = frozenset(
    {
        "principal",
        "action",
        "resource",
        "context",
        "identity_policies",
        "resource_policy",
        "permission_boundary",
        "scps",
        "session_policy",
        "resource_account",
        "principal_tags",
    }
)


@dataclass(frozen=True)
class SimulationResult:
    request: AuthzRequest
    decision: Decision
    message: str | None  # AWS's AccessDenied message, None when allowed
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.request.principal.arn,
            "action": self.request.action,
            "resource": self.request.resource,
            "decision": self.decision.effect,
            "explanation": self.decision.explanation,
            "blocked_by": self.decision.blocked_by.value if self.decision.blocked_by else None,
            "statements": [
                {
                    "policy": s.policy_name,
                    "kind": s.policy_kind.value,
                    "sid": s.sid,
                    "index": s.index,
                    "effect": s.effect,
                }
                for s in self.decision.statements
            ],
            "message": self.message,
            "warnings": list(self.warnings),
        }

    def render_text(self) -> str:
        req, decision = self.request, self.decision
        blocked = f" (blocked by the {decision.blocked_by.value} policy)" if decision.blocked_by else ""
        lines = [
            f"{req.principal.arn} -> {req.action} on {req.resource}",
            f"  decision: {decision.effect}{blocked}",
            f"  {decision.explanation}",
        ]
        if self.message:
            lines.append(f"  AWS would say: {self.message}")
        lines.append("  evaluation:")
        lines += [f"    {n}. {step}" for n, step in enumerate(decision.trace, 1)]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def simulate(request_json: Mapping[str, Any] | list[Any], *, source: str) -> list[SimulationResult]:
    """Decide each request of ``request_json``; ``source`` (a file name) prefixes error places."""
    if isinstance(request_json, list):
        items = [(f"request[{n}]", item) for n, item in enumerate(request_json)]
        if not items:
            raise InputError("expected a request object or a non-empty array of them", where=source)
    else:
        items = [("request", request_json)]
    return [_simulate_one(item, f"{source}: {path}") for path, item in items]


def _fail(message: str, where: str) -> InputError:
    return InputError(message, where=where)


def _context(raw: Any, where: str) -> dict[str, str | list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail("must be an object of context key -> value or [values]", where)
    out: dict[str, str | list[str]] = {}
    for key, value in raw.items():
        if isinstance(value, list):
            out[key] = [_context_value(v, f"{where}.{key}") for v in value]
        else:
            out[key] = _context_value(value, f"{where}.{key}")
    return out


def _context_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _fail(f"must be a string, number, boolean or a list of those, got {type(value).__name__}", where)


def _string(item: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _fail("is required and must be a non-empty string", f"{where}.{key}")
    return value


def _policy(doc: Any, name: str, kind: PolicyKind, source_where: str) -> Policy:
    try:
        return parse_policy(doc, name=name, kind=kind)
    except MalformedPolicyDocument as err:
        raise MalformedPolicyDocument(err.message, where=f"{source_where} ({err.where})") from None


def _simulate_one(item: Any, where: str) -> SimulationResult:
    if not isinstance(item, Mapping):
        raise _fail("must be a JSON object", where)
    for key in item:
        if key not in _FIELDS:
            raise _fail(f"unknown field (expected one of: {', '.join(sorted(_FIELDS))})", f"{where}.{key}")
    tags = item.get("principal_tags") or {}
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise _fail("must be an object of tag key -> string value", f"{where}.principal_tags")
    try:
        principal = principal_from_arn(_string(item, "principal", where) or "", tags=tags)
    except InputError as err:
        raise _fail(err.message, f"{where}.principal") from None
    action = _string(item, "action", where) or ""
    if ":" not in action:
        raise _fail(f"{action!r} is not of the form service:ActionName", f"{where}.action")
    resource = _string(item, "resource", where, required=False) or "*"
    resource_account = _string(item, "resource_account", where, required=False)
    if resource_account is not None and not (len(resource_account) == 12 and resource_account.isdigit()):
        raise _fail(f"{resource_account!r} is not a 12-digit account id", f"{where}.resource_account")

    def policy_list(key: str, kind: PolicyKind) -> list[Policy]:
        docs = item.get(key) or []
        if not isinstance(docs, list):
            raise _fail("must be a list of policy documents", f"{where}.{key}")
        return [_policy(doc, f"{key}[{n}]", kind, f"{where}.{key}[{n}]") for n, doc in enumerate(docs)]

    def single(key: str, kind: PolicyKind) -> Policy | None:
        doc = item.get(key)
        return None if doc is None else _policy(doc, key, kind, f"{where}.{key}")

    assume_role = action.lower().startswith("sts:assumerole")
    policies = PolicySet(
        identity=policy_list("identity_policies", PolicyKind.IDENTITY),
        resource=single("resource_policy", PolicyKind.TRUST if assume_role else PolicyKind.RESOURCE),
        boundary=single("permission_boundary", PolicyKind.BOUNDARY),
        scps=policy_list("scps", PolicyKind.SCP),
        session=single("session_policy", PolicyKind.SESSION),
    )
    request = AuthzRequest(
        principal=principal,
        action=action,
        resource=resource,
        context=_context(item.get("context"), f"{where}.context"),
        resource_account=resource_account,
    )
    warnings = [] if action_exists(action) else [f"{action} is not a known IAM action"]
    for policy in [
        *policies.identity,
        policies.resource,
        policies.boundary,
        *policies.scps,
        policies.session,
    ]:
        if policy is not None:
            warnings += [f"{policy.name} names unknown action {a}" for a in unknown_actions(policy)]
    decision = evaluate(request, policies)
    message = None if decision.allowed else denial_message(request, decision)
    return SimulationResult(request, decision, message, tuple(warnings))
