"""The request context of one decision: the caller's context keys plus the keys the request carries.

Keys are case-insensitive, so they are stored lower-case. The caller's keys are cached per principal
(sessions are long-lived); the table is built only for requests that meet a condition or a variable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

from .model import AuthzRequest, ContextValue, Principal, PrincipalType

Keys = dict[str, tuple[str, ...]]
_CACHE_LIMIT = 1024
# id(principal) -> (principal, keys); holding the principal keeps its id from being reused.
_principal_cache: dict[int, tuple[Principal, Keys]] = {}
_clock: list[tuple[int, Keys]] = [(-1, {})]


def principal_keys(principal: Principal) -> Keys:
    """The global condition keys AWS fills in for the caller (IAM User Guide, "AWS global condition
    context keys": aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalTag/*, aws:PrincipalType,
    aws:userid, aws:username, aws:PrincipalIsAWSService, aws:PrincipalServiceName)."""
    cached = _principal_cache.get(id(principal))
    if cached is not None and cached[0] is principal:
        return cached[1]
    if principal.type is PrincipalType.SERVICE:
        keys: Keys = {
            "aws:principalservicename": (principal.service or principal.arn,),
            "aws:principalisawsservice": ("true",),
        }
    else:
        keys = {
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
    if len(_principal_cache) >= _CACHE_LIMIT:
        _principal_cache.clear()
    _principal_cache[id(principal)] = (principal, keys)
    return keys


def clock_keys() -> Keys:
    """aws:CurrentTime and aws:EpochTime for the current second."""
    now = int(time.time())
    second, keys = _clock[0]
    if second != now:
        keys = {
            "aws:epochtime": (str(now),),
            "aws:currenttime": (datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
        }
        _clock[0] = (now, keys)
    return keys


def normalize(context: Mapping[str, ContextValue]) -> Keys:
    return {k.lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in context.items()}


def request_keys(request: AuthzRequest, resource_account: str | None) -> Keys:
    """Every context key of ``request``: the caller's, the clock's, then the request's own (which win)."""
    keys = dict(principal_keys(request.principal))
    keys.update(clock_keys())
    if resource_account:
        keys["aws:resourceaccount"] = (resource_account,)
    keys.update(normalize(request.context))
    return keys
