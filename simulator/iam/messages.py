"""AWS's access-denied wording (IAM User Guide, "Troubleshooting access denied error messages")."""

from __future__ import annotations

from .model import AuthzRequest, Decision, PolicyKind

# How AWS names each policy type: "because no <noun> allows ...", "with an explicit deny in <article noun>".
POLICY_NOUNS = {
    PolicyKind.IDENTITY: "identity-based policy",
    PolicyKind.RESOURCE: "resource-based policy",
    PolicyKind.TRUST: "resource-based policy",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SCP: "service control policy",
    PolicyKind.SESSION: "session policy",
}


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def denial_message(request: AuthzRequest, decision: Decision, *, quote_resource: bool = False) -> str:
    """``User: ARN is not authorized to perform: ACTION on resource: RESOURCE because ...``.

    ``quote_resource``: Amazon S3 puts the resource ARN in double quotes. STS (AssumeRole) gives no reason.
    """
    if decision.allowed or decision.blocked_by is None:
        raise ValueError("denial_message needs a denied decision")
    resource = f'"{request.resource}"' if quote_resource else request.resource
    text = f"User: {request.principal.arn} is not authorized to perform: {request.action}"
    if request.resource:
        text += f" on resource: {resource}"
    if request.action.lower().startswith("sts:assumerole") and decision.effect == "ImplicitDeny":
        return text
    noun = POLICY_NOUNS[decision.blocked_by]
    if decision.effect == "ExplicitDeny":
        return f"{text} with an explicit deny in {_article(noun)} {noun}"
    return f"{text} because no {noun} allows the {request.action} action"
