"""The request context of one decision: the caller's context keys plus the keys the request carries.

Keys are case-insensitive, so they are stored lower-case. The caller's keys and the clock's are
cached per principal for the current second (sessions are long-lived), and so is a request's whole
table (callers repeat the same calls with the same keys); the table is built only for requests that
meet a condition or a policy variable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

from .model import AuthzRequest, ContextValue, Principal, PrincipalType

Keys = dict[str, tuple[str, ...]]
_CACHE_LIMIT = 1024
# id(principal) -> (principal, second, keys); holding the principal keeps its id from being reused.
_base_cache: dict[int, tuple[Principal, int, Keys]] = {}
# (id(principal), second, resource account, *request items) -> (principal, table)
_request_cache: dict[tuple[object, ...], tuple[Principal, Keys]] = {}


def principal_keys(principal: Principal) -> Keys:
    """The global condition keys AWS fills in for the caller (IAM User Guide, "AWS global condition
    context keys": aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalTag/*, aws:PrincipalType,
    aws:userid, aws:username, aws:PrincipalIsAWSService, aws:PrincipalServiceName)."""
    if principal.type is PrincipalType.SERVICE:
        return {
            "aws:principalservicename": (principal.service or principal.arn,),
            "aws:principalisawsservice": ("true",),
        }
    keys: Keys = {
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


def _base_keys(principal: Principal, now: int) -> Keys:
    """The caller's keys plus aws:CurrentTime and aws:EpochTime for the second ``now``."""
    cached = _base_cache.get(id(principal))
    if cached is not None and cached[0] is principal and cached[1] == now:
        return cached[2]
    keys = principal_keys(principal)
    keys["aws:epochtime"] = (str(now),)
    keys["aws:currenttime"] = (datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
    if len(_base_cache) >= _CACHE_LIMIT:
        _base_cache.clear()
    _base_cache[id(principal)] = (principal, now, keys)
    return keys


def request_keys(request: AuthzRequest, resource_account: str | None) -> Keys:
    """Every context key of ``request``: the caller's, the clock's, then the request's own (which win).
    The table is shared by requests that would build the same one: read it, never change it."""
    principal = request.principal
    now = int(time.time())
    try:
        key = (id(principal), now, resource_account, *request.context.items())
        cached = _request_cache.get(key)
    except TypeError:  # a list value: not hashable, so not cached
        return _table(principal, now, resource_account, request.context)
    if cached is not None and cached[0] is principal:
        return cached[1]
    keys = _table(principal, now, resource_account, request.context)
    if len(_request_cache) >= _CACHE_LIMIT:
        _request_cache.clear()
    _request_cache[key] = (principal, keys)
    return keys


def _table(
    principal: Principal, now: int, resource_account: str | None, context: Mapping[str, ContextValue]
) -> Keys:
    keys = _base_keys(principal, now).copy()
    if resource_account:
        keys["aws:resourceaccount"] = (resource_account,)
    for key, value in context.items():
        keys[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
    return keys
