"""The IAM policy evaluation engine: parse policies, decide requests, word denials like AWS.

    from simulator.iam import AuthzRequest, PolicyKind, PolicySet, denial_message, evaluate, parse_policy
    from simulator.iam import principal_from_arn

    policy = parse_policy(document, name="exec-inline", kind=PolicyKind.IDENTITY)  # MalformedPolicyDocument
    caller = principal_from_arn("arn:aws:sts::111122223333:assumed-role/exec/task-1", tags={"team": "app"})
    request = AuthzRequest(caller, "ssm:GetParameters", parameter_arn, {"aws:SecureTransport": "true"})
    decision = evaluate(request, PolicySet(identity=[policy]))  # .effect .blocked_by .statements .trace
    if not decision.allowed:
        message = denial_message(request, decision)  # "User: ... is not authorized to perform: ..."

Policies are compiled once by ``parse_policy``; keep the ``Policy`` objects and build a ``PolicySet``
per request freely: per-action statement plans are cached by the policies themselves.
Action metadata (ARN templates, condition keys) lives in ``simulator.iam.actions``.
"""

from .evaluate import evaluate
from .messages import denial_message
from .model import (
    AuthzRequest,
    ContextValue,
    Decision,
    Effect,
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalType,
    StatementRef,
)
from .policy import MalformedPolicyDocument, Policy, parse_policy
from .principals import principal_from_arn
from .simulate import SimulationResult, simulate

__all__ = [
    "AuthzRequest",
    "ContextValue",
    "Decision",
    "Effect",
    "MalformedPolicyDocument",
    "Policy",
    "PolicyKind",
    "PolicySet",
    "Principal",
    "PrincipalType",
    "SimulationResult",
    "StatementRef",
    "denial_message",
    "evaluate",
    "parse_policy",
    "principal_from_arn",
    "simulate",
]
