"""The IAM policy evaluation engine: parse policies, decide requests, word denials like AWS."""

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
