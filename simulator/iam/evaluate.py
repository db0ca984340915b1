"""The AWS policy evaluation logic (IAM User Guide, "Policy evaluation logic" and "Cross-account policy
evaluation logic"), in the order of its flow chart:

1. an explicit Deny in any policy that applies (SCP, resource, identity, boundary, session) decides;
2. if SCPs apply, one of them must allow;
3. a resource-based policy in the same account that names the caller (session, user, service, "*")
   allows on its own; naming the caller's role skips the identity policies only (boundary and session
   policy still apply); naming the account delegates to identity policies. Role trust policies and KMS
   key policies must always allow; cross-account, both the resource policy and the caller's policies must;
4. identity policies must allow (the account root has every identity permission);
5. a permissions boundary, then a session policy, if present, must allow too.
"""

from __future__ import annotations

from collections.abc import Sequence

from .context import RequestContext
from .messages import POLICY_NOUNS
from .model import AuthzRequest, Decision, PolicyKind, PolicySet, Principal, PrincipalType
from .policy import Policy, Statement
from .principals import Grant
from .variables import ContextLookup

_ASSUME_ROLE_ACTIONS = frozenset(
    {"sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml", "sts:tagsession"}
)
_GRANT_WORDS = {
    Grant.DIRECT: "names the caller directly",
    Grant.ROLE: "names the caller's role (permissions boundary and session policy still apply)",
    Grant.ACCOUNT: "names the caller's account (identity-based policies must allow too)",
}


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def _requires_resource_policy(action: str, resource: str, policy: Policy | None) -> bool:
    """Trust policies and KMS key policies must allow even within one account."""
    if policy is not None and policy.kind is PolicyKind.TRUST:
        return True
    if action.startswith("kms:") and ":key/" in resource:
        return True
    return action in _ASSUME_ROLE_ACTIONS and ":role/" in resource


def _applies(
    statement: Statement, resource: str, principal: Principal, ctx: ContextLookup, has_boundary: bool
) -> Grant | None:
    """Does ``statement`` (already matched by action) apply? For Principal statements: how directly."""
    resources = statement.resources
    if resources is not None and resources(resource, ctx) == statement.not_resource:
        return None
    grant = Grant.DIRECT
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


class _Evaluation:
    __slots__ = ("action", "ctx", "has_boundary", "principal", "request", "resource", "trace")

    def __init__(self, request: AuthzRequest, ctx: RequestContext, has_boundary: bool) -> None:
        self.request = request
        self.principal = request.principal
        self.resource = request.resource
        self.action = request.action.lower()
        self.ctx = ctx
        self.has_boundary = has_boundary
        self.trace: list[str] = []

    def denies(self, policies: Sequence[Policy]) -> list[Statement]:
        action, resource, principal, ctx, has_boundary = (
            self.action,
            self.resource,
            self.principal,
            self.ctx,
            self.has_boundary,
        )
        return [
            st
            for policy in policies
            for st in policy.for_action(action)[0]
            if _applies(st, resource, principal, ctx, has_boundary)
        ]

    def first_allow(self, policies: Sequence[Policy]) -> Statement | None:
        for policy in policies:
            for st in policy.for_action(self.action)[1]:
                if _applies(st, self.resource, self.principal, self.ctx, self.has_boundary):
                    return st
        return None

    def best_grant(self, policy: Policy) -> tuple[Statement | None, Grant | None]:
        best: tuple[Statement | None, Grant | None] = (None, None)
        for st in policy.for_action(self.action)[1]:
            grant = _applies(st, self.resource, self.principal, self.ctx, self.has_boundary)
            if grant is not None and (best[1] is None or grant > best[1]):
                best = (st, grant)
                if grant is Grant.DIRECT:
                    break
        return best

    def require(self, kind: PolicyKind, policies: Sequence[Policy]) -> Statement | Decision:
        """The allowing statement of ``policies`` (all of one kind), or the implicit deny they cause."""
        st = self.first_allow(policies)
        if st is None:
            self.trace.append(_NONE_ALLOWS[kind])
            return self.implicit(kind)
        self.trace.append(st.allows_line)
        return st

    def implicit(self, kind: PolicyKind, why: str = "") -> Decision:
        req = self.request
        self.trace.append("result: ImplicitDeny")
        return Decision(
            "ImplicitDeny",
            kind,
            (),
            f"{req.action} on {req.resource} is implicitly denied: no {POLICY_NOUNS[kind]} allows it{why}.",
            tuple(self.trace),
        )

    def allow(self, statements: list[Statement]) -> Decision:
        req = self.request
        self.trace.append("result: Allow")
        labels = "; ".join(st.label for st in statements) or "the account root user's own permissions"
        return Decision(
            "Allow",
            None,
            tuple(st.ref for st in statements),
            f"{req.action} on {req.resource} is allowed by {labels}.",
            tuple(self.trace),
        )


_NONE_ALLOWS = {kind: f"{noun}: no statement allows -> implicit deny" for kind, noun in POLICY_NOUNS.items()}


def evaluate(request: AuthzRequest, policies: PolicySet) -> Decision:
    """Decide ``request`` under ``policies`` the way AWS does, with the deciding statements and a trace."""
    principal = request.principal
    action = request.action.lower()
    is_service = principal.type is PrincipalType.SERVICE
    resource_account = request.resource_account or _arn_account(request.resource) or principal.account or None
    cross_account = not is_service and resource_account is not None and resource_account != principal.account
    resource_policy = policies.resource
    resource_kind = resource_policy.kind if resource_policy is not None else PolicyKind.RESOURCE
    # Service principals have no identity policies, boundaries or sessions, and SCPs do not apply to them.
    if is_service:
        scps: Sequence[Policy] = ()
        identity: Sequence[Policy] = ()
        boundary = session = None
    else:
        scps, identity, boundary, session = (
            policies.scps,
            policies.identity,
            policies.boundary,
            policies.session,
        )
    ev = _Evaluation(request, RequestContext(request, resource_account), boundary is not None)
    trace = ev.trace
    trace.append(
        f"request: {principal.arn} -> {request.action} on {request.resource}"
        f" ({'cross-account' if cross_account else 'same account'})"
    )

    # 1. Explicit deny anywhere.
    ordered = [*scps]
    if resource_policy is not None:
        ordered.append(resource_policy)
    ordered += identity
    if boundary is not None:
        ordered.append(boundary)
    if session is not None:
        ordered.append(session)
    denied = ev.denies(ordered)
    if denied:
        first = denied[0]
        trace.append(f"explicit deny: {'; '.join(st.label for st in denied)}")
        trace.append("result: ExplicitDeny")
        more = f" (and {len(denied) - 1} more)" if len(denied) > 1 else ""
        return Decision(
            "ExplicitDeny",
            first.ref.policy_kind,
            tuple(st.ref for st in denied),
            f"{request.action} on {request.resource} is explicitly denied by {first.label}{more}.",
            tuple(trace),
        )
    trace.append(f"explicit deny: none in {len(ordered)} policies")

    allowed_by: list[Statement] = []
    # 2. SCPs (one of the attached SCPs must allow).
    if scps:
        found = ev.require(PolicyKind.SCP, scps)
        if isinstance(found, Decision):
            return found
        allowed_by.append(found)
    else:
        trace.append("service control policy: none applies")

    # 3. Resource-based policy.
    res_st, grant = ev.best_grant(resource_policy) if resource_policy is not None else (None, None)
    if resource_policy is None:
        trace.append("resource-based policy: none")
    elif res_st is None:
        trace.append(f"{POLICY_NOUNS[resource_kind]} {resource_policy.name!r}: no statement allows")
    else:
        trace.append(f"{POLICY_NOUNS[resource_kind]}: {res_st.label} allows and {_GRANT_WORDS[grant]}")  # type: ignore[index]
        allowed_by.append(res_st)
    if is_service:
        return ev.allow(allowed_by) if res_st else ev.implicit(resource_kind, " the service principal")
    if not cross_account:
        if grant is Grant.DIRECT:
            return ev.allow(allowed_by)
        if grant is None and _requires_resource_policy(action, request.resource, resource_policy):
            why = (
                " (a role's trust policy must allow the caller)"
                if action in _ASSUME_ROLE_ACTIONS
                else " (a KMS key policy must allow the caller or delegate to its account)"
            )
            return ev.implicit(resource_kind, why)

    # 4. Identity-based policies, unless a resource policy named the caller's role (same account).
    if grant is Grant.ROLE and not cross_account:
        trace.append("identity-based policy: not needed (the resource-based policy names the role)")
    elif principal.type is PrincipalType.ROOT:
        trace.append("identity-based policy: not needed (the account root user)")
    else:
        found = ev.require(PolicyKind.IDENTITY, identity)
        if isinstance(found, Decision):
            return found
        allowed_by.append(found)

    # 5. Permissions boundary and session policy.
    for kind, policy in ((PolicyKind.BOUNDARY, boundary), (PolicyKind.SESSION, session)):
        if policy is None:
            trace.append(_NO_POLICY[kind])
            continue
        found = ev.require(kind, (policy,))
        if isinstance(found, Decision):
            return found
        allowed_by.append(found)

    if cross_account and res_st is None:
        return ev.implicit(resource_kind, " (cross-account access needs the resource's policy to allow too)")
    return ev.allow(allowed_by)


_NO_POLICY = {kind: f"{noun}: none" for kind, noun in POLICY_NOUNS.items()}
