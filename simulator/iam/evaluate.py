"""The AWS policy evaluation logic (IAM User Guide, "Policy evaluation logic" and "Cross-account policy
evaluation logic"), in the order of its flow chart:

1. an explicit Deny in any policy that applies (SCP, resource, identity, boundary, session) decides;
2. if SCPs apply, one of them must allow (``PolicySet.scps`` are the SCPs attached at one level:
   FullAWSAccess plus deny lists, or an allow list);
3. a resource-based policy in the same account that names the caller (session, user, service, "*")
   allows on its own; naming the caller's role skips the identity policies only (boundary and session
   policy still apply); naming the account delegates to identity policies. Role trust policies and KMS
   key policies must always allow; cross-account, both the resource policy and the caller's policies must;
4. identity policies must allow (the account root has every identity permission);
5. a permissions boundary, then a session policy, if present, must allow too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .context import request_keys
from .messages import POLICY_NOUNS
from .model import AuthzRequest, Decision, PolicyKind, PolicySet, Principal, PrincipalType, StatementRef
from .policy import Policy, Statement
from .principals import Grant
from .variables import ContextLookup

_ASSUME_ROLE_ACTIONS = frozenset(
    {"sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml", "sts:tagsession"}
)
# Enum members read per decision, bound once: each ``Enum.MEMBER`` access is a descriptor call.
_DIRECT, _ROLE = Grant.DIRECT, Grant.ROLE
_SERVICE, _ROOT = PrincipalType.SERVICE, PrincipalType.ROOT
_SCP, _IDENTITY, _BOUNDARY, _SESSION = (
    PolicyKind.SCP,
    PolicyKind.IDENTITY,
    PolicyKind.BOUNDARY,
    PolicyKind.SESSION,
)
_GRANT_WORDS = {
    Grant.DIRECT: "names the caller directly",
    Grant.ROLE: "names the caller's role (permissions boundary and session policy still apply)",
    Grant.ACCOUNT: "names the caller's account (identity-based policies must allow too)",
}


@lru_cache(maxsize=4096)  # callers come back to the same resources; splitting one costs more than a lookup
def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def _resource_policy_rule(action: str, policy: Policy | None) -> tuple[str, str] | None:
    """Trust policies and KMS key policies must allow even within one account. For lower-case ``action``:
    (the text a resource ARN holds when its resource-based policy must allow, "" for any; why), or None."""
    why = (
        " (a role's trust policy must allow the caller)"
        if action in _ASSUME_ROLE_ACTIONS
        else " (a KMS key policy must allow the caller or delegate to its account)"
    )
    if policy is not None and policy.kind is PolicyKind.TRUST:
        return "", why
    if action.startswith("kms:"):
        return ":key/", why
    return (":role/", why) if action in _ASSUME_ROLE_ACTIONS else None


def _applies(
    statement: Statement, resource: str, principal: Principal, ctx: ContextLookup, has_boundary: bool
) -> Grant | None:
    """Does ``statement`` (already matched by action) apply? For Principal statements: how directly."""
    resources = statement.resources
    if resources is not None and resources(resource, ctx) == statement.not_resource:
        return None
    grant = _DIRECT
    spec = statement.principal
    if spec is not None:
        if statement.not_principal:
            # "NotPrincipal with Deny always denies a principal that has a permissions boundary"
            # (IAM User Guide, "Permissions boundaries for IAM entities").
            if spec.lists_all(principal) and not (has_boundary and statement.effect == "Deny"):
                return None
        else:
            found = spec.grant(principal)
            if found is None:
                return None
            grant = found
    for check in statement.conditions:
        if not check.test(ctx):
            return None
    return grant


@dataclass(frozen=True, slots=True)
class _Plan:
    """The statements of a policy set that can matter for one action, by evaluation step."""

    denies: tuple[Statement, ...]  # in the order SCP, resource, identity, boundary, session
    no_deny_line: str  # the trace line when no Deny statement applies
    scps: tuple[Statement, ...] | None  # Allow statements; None: no SCP applies
    resource: tuple[Statement, ...] | None  # None: no resource-based policy
    identity: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None
    session: tuple[Statement, ...] | None
    needs_context: bool  # some statement has a condition or a policy variable
    resource_policy_rule: tuple[str, str] | None  # see _resource_policy_rule


def _no_context(_key: str) -> None:
    return None


_PLAN_LIMIT = 8192
# Keyed by the action as the caller spells it (no lower-case copy per request) and by the policies
# themselves (immutable, hashed by identity), not by the PolicySet: callers build a new PolicySet per
# request around the same policies.
_plans: dict[tuple[object, ...], _Plan] = {}


def _plan(policies: PolicySet, action: str, is_service: bool) -> _Plan:
    key = (
        action,
        is_service,
        policies.resource,
        policies.boundary,
        policies.session,
        len(policies.scps),
        *policies.scps,
        *policies.identity,
    )
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) >= _PLAN_LIMIT:
            _plans.clear()
        plan = _plans[key] = _make_plan(policies, action, is_service)
    return plan


def _make_plan(policies: PolicySet, action: str, is_service: bool) -> _Plan:
    action = action.lower()

    def allows(group: Sequence[Policy]) -> tuple[Statement, ...]:
        return tuple(st for p in group for st in p.for_action(action)[1])

    resource = (policies.resource,) if policies.resource is not None else ()
    if is_service:  # no identity policies, boundary or session; SCPs do not apply to service principals
        scps: Sequence[Policy] = ()
        identity: Sequence[Policy] = ()
        boundary: tuple[Policy, ...] = ()
        session: tuple[Policy, ...] = ()
    else:
        scps, identity = policies.scps, policies.identity
        boundary = (policies.boundary,) if policies.boundary is not None else ()
        session = (policies.session,) if policies.session is not None else ()
    ordered = [*scps, *resource, *identity, *boundary, *session]
    return _Plan(
        denies=tuple(st for p in ordered for st in p.for_action(action)[0]),
        needs_context=any(
            st.needs_context for p in ordered for group in p.for_action(action) for st in group
        ),
        no_deny_line=f"explicit deny: none in {len(ordered)} policies",
        scps=allows(scps) if scps else None,
        resource=allows(resource) if resource else None,
        identity=allows(identity),
        boundary=allows(boundary) if boundary else None,
        session=allows(session) if session else None,
        resource_policy_rule=_resource_policy_rule(action, policies.resource),
    )


_NEAR_MISSES_SHOWN = 3


def _miss_reason(statement: Statement, resource: str, principal: Principal, ctx: ContextLookup) -> str:
    """Why an Allow statement that covers the action does not apply (only computed for denials)."""
    if statement.resources is not None and statement.resources(resource, ctx) == statement.not_resource:
        return "its Resource does not match"
    if statement.principal is not None and statement.principal.grant(principal) is None:
        return "its Principal does not name the caller"
    failed = next((c for c in statement.conditions if not c.test(ctx)), None)
    return f"condition {failed.describe()} is not met" if failed else "it does not apply"


def _misses(
    statements: tuple[Statement, ...], resource: str, principal: Principal, ctx: ContextLookup
) -> str:
    """For a trace line: the Allow statements that cover the action, and why each does not apply."""
    if not statements:
        return " (no statement covers the action)"
    misses = [
        f"{st.label}: {_miss_reason(st, resource, principal, ctx)}" for st in statements[:_NEAR_MISSES_SHOWN]
    ]
    if len(statements) > _NEAR_MISSES_SHOWN:
        misses.append(f"and {len(statements) - _NEAR_MISSES_SHOWN} more")
    return f" ({'; '.join(misses)})"


_NONE_ALLOWS = {kind: f"{noun}: no statement allows -> implicit deny" for kind, noun in POLICY_NOUNS.items()}
_NO_POLICY = {kind: f"{noun}: none" for kind, noun in POLICY_NOUNS.items()}
_ROOT_OWN = "the account root user's own permissions"


def evaluate(request: AuthzRequest, policies: PolicySet) -> Decision:
    """Decide ``request`` under ``policies`` the way AWS does, with the deciding statements and a trace."""
    principal = request.principal
    resource = request.resource
    is_service = principal.type is _SERVICE
    resource_account = request.resource_account or _arn_account(resource) or principal.account or None
    cross_account = not is_service and resource_account is not None and resource_account != principal.account
    plan = _plan(policies, request.action, is_service)
    ctx: ContextLookup = request_keys(request, resource_account).get if plan.needs_context else _no_context
    has_boundary = plan.boundary is not None
    trace = [
        f"request: {principal.arn} -> {request.action} on {resource}"
        f" ({'cross-account' if cross_account else 'same account'})"
    ]

    # 1. Explicit deny anywhere.
    denied = []
    for st in plan.denies:
        if st.unconditional or _applies(st, resource, principal, ctx, has_boundary):
            denied.append(st)
    if denied:
        head = denied[0]
        refs, labels = _refs_and_labels(denied)
        trace.append(f"explicit deny: {labels}")
        trace.append("result: ExplicitDeny")
        more = f" (and {len(denied) - 1} more)" if len(denied) > 1 else ""
        return Decision(
            "ExplicitDeny",
            head.ref.policy_kind,
            refs,
            f"{request.action} on {resource} is explicitly denied by {head.label}{more}.",
            tuple(trace),
        )
    trace.append(plan.no_deny_line)

    allowed_by: list[Statement] = []
    # 2. SCPs: one of the attached SCPs must allow.
    if plan.scps is None:
        trace.append("service control policy: none applies")
    else:
        found = _first(plan.scps, resource, principal, ctx, has_boundary)
        if found is None:
            trace.append(_NONE_ALLOWS[_SCP] + _misses(plan.scps, resource, principal, ctx))
            return _implicit(request, _SCP, trace)
        trace.append(found.allows_line)
        allowed_by.append(found)

    # 3. Resource-based policy: the most direct grant decides what else must allow.
    res_st: Statement | None = None
    grant: Grant | None = None
    if plan.resource is None:
        trace.append("resource-based policy: none")
    else:
        for st in plan.resource:
            found_grant = _applies(st, resource, principal, ctx, has_boundary)
            if found_grant is not None and (grant is None or found_grant > grant):
                res_st, grant = st, found_grant
                if grant is _DIRECT:
                    break
        if res_st is None:
            misses = _misses(plan.resource, resource, principal, ctx)
            trace.append(f"{POLICY_NOUNS[_resource_kind(policies)]}: no statement allows{misses}")
        else:
            trace.append(f"{res_st.allows_line} and {_GRANT_WORDS[grant]}")  # type: ignore[index]
            allowed_by.append(res_st)
    if is_service:
        if res_st is None:
            return _implicit(
                request,
                _resource_kind(policies),
                trace,
                " (a service principal has no identity-based policies)",
            )
        trace.append("result: Allow")
        return _allow(request, allowed_by, trace)
    if not cross_account:
        if grant is _DIRECT:
            trace.append("result: Allow")
            return _allow(request, allowed_by, trace)
        rule = plan.resource_policy_rule
        if grant is None and rule is not None and rule[0] in resource:
            return _implicit(request, _resource_kind(policies), trace, rule[1])

    # 4. Identity-based policies, unless a resource policy named the caller's role (same account).
    if grant is _ROLE and not cross_account:
        trace.append("identity-based policy: not needed (the resource-based policy names the role)")
    elif principal.type is _ROOT:
        trace.append("identity-based policy: not needed (the account root user)")
    else:
        found = _first(plan.identity, resource, principal, ctx, has_boundary)
        if found is None:
            trace.append(_NONE_ALLOWS[_IDENTITY] + _misses(plan.identity, resource, principal, ctx))
            return _implicit(request, _IDENTITY, trace)
        trace.append(found.allows_line)
        allowed_by.append(found)

    # 5. Permissions boundary and session policy.
    for kind, statements in ((_BOUNDARY, plan.boundary), (_SESSION, plan.session)):
        if statements is None:
            trace.append(_NO_POLICY[kind])
            continue
        found = _first(statements, resource, principal, ctx, has_boundary)
        if found is None:
            trace.append(_NONE_ALLOWS[kind] + _misses(statements, resource, principal, ctx))
            return _implicit(request, kind, trace)
        trace.append(found.allows_line)
        allowed_by.append(found)

    if cross_account and res_st is None:
        return _implicit(
            request,
            _resource_kind(policies),
            trace,
            " (cross-account access needs the resource's policy to allow too)",
        )
    trace.append("result: Allow")
    return _allow(request, allowed_by, trace)


def _resource_kind(policies: PolicySet) -> PolicyKind:
    """The kind that blocks when the resource side fails: the resource policy's own, else resource."""
    return policies.resource.kind if policies.resource is not None else PolicyKind.RESOURCE


def _first(
    statements: tuple[Statement, ...],
    resource: str,
    principal: Principal,
    ctx: ContextLookup,
    has_boundary: bool,
) -> Statement | None:
    for st in statements:
        if st.unconditional or _applies(st, resource, principal, ctx, has_boundary):
            return st
    return None


def _implicit(request: AuthzRequest, kind: PolicyKind, trace: list[str], why: str = "") -> Decision:
    trace.append("result: ImplicitDeny")
    return Decision(
        "ImplicitDeny",
        kind,
        (),
        f"{request.action} on {request.resource} is implicitly denied: no {POLICY_NOUNS[kind]} allows it{why}.",
        tuple(trace),
    )


def _allow(request: AuthzRequest, statements: list[Statement], trace: list[str]) -> Decision:
    refs, labels = _refs_and_labels(statements)
    return Decision(
        "Allow",
        None,
        refs,
        f"{request.action} on {request.resource} is allowed by {labels or _ROOT_OWN}.",
        tuple(trace),
    )


def _refs_and_labels(statements: list[Statement]) -> tuple[tuple[StatementRef, ...], str]:
    """The deciding statements' refs and their labels for an explanation. A plain loop: in Python 3.11 a
    comprehension is a function call of its own, and these lists hold a handful of statements."""
    refs = []
    labels = []
    for st in statements:
        refs.append(st.ref)
        labels.append(st.label)
    return tuple(refs), "; ".join(labels)
