"""The request context of one decision: the caller's context keys plus the keys the request carries.

Keys are case-insensitive, so they are stored lower-case. The table is built on first use: most
statements are ruled out by their action before any condition looks at the context.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

from .model import AuthzRequest, ContextValue, Principal, PrincipalType

_CLOCK_KEYS = ("aws:currenttime", "aws:epochtime")


def principal_keys(principal: Principal) -> dict[str, tuple[str, ...]]:
    """The global condition keys AWS fills in for the caller (IAM User Guide, "AWS global condition
    context keys": aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalTag/*, aws:PrincipalType,
    aws:userid, aws:username, aws:PrincipalIsAWSService, aws:PrincipalServiceName)."""
    if principal.type is PrincipalType.SERVICE:
        return {
            "aws:principalservicename": (principal.service or principal.arn,),
            "aws:principalisawsservice": ("true",),
        }
    keys: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (principal.role_arn or principal.arn,),
        "aws:principalaccount": (principal.account,),
        "aws:principaltype": (principal.type.value,),
        "aws:principalisawsservice": ("false",),
        "aws:userid": (principal.userid or principal.account,),
    }
    if principal.type is PrincipalType.USER and principal.username:
        keys["aws:username"] = (principal.username,)
    for tag, value in principal.tags.items():
        keys[f"aws:principaltag/{tag.lower()}"] = (value,)
    return keys


def normalize(context: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    return {k.lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in context.items()}


class RequestContext:
    """``ctx(key)`` gives the values of a lower-case context key, or None when the request lacks it."""

    __slots__ = ("_keys", "_request", "_resource_account")

    def __init__(self, request: AuthzRequest, resource_account: str | None) -> None:
        self._request = request
        self._resource_account = resource_account
        self._keys: dict[str, tuple[str, ...]] | None = None

    def __call__(self, key: str) -> tuple[str, ...] | None:
        keys = self._keys
        if keys is None:
            keys = self._keys = self._build()
        found = keys.get(key)
        if found is None and key in _CLOCK_KEYS:
            now = time.time()
            keys["aws:epochtime"] = (str(int(now)),)
            keys["aws:currenttime"] = (datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
            found = keys[key]
        return found

    def _build(self) -> dict[str, tuple[str, ...]]:
        keys = principal_keys(self._request.principal)
        if self._resource_account:
            keys["aws:resourceaccount"] = (self._resource_account,)
        keys.update(normalize(self._request.context))  # what the request says wins
        return keys
