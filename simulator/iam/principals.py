"""The Principal / NotPrincipal element, and principals named by ARN.

IAM User Guide, "AWS JSON policy elements: Principal": an account id or ``arn:aws:iam::A:root``
names the account (it delegates to the account's identity policies); a role ARN matches every
session of that role; an assumed-role session ARN or a user ARN names that caller directly; "*"
(or its equivalent {"AWS": "*"}) names everyone. "AWS JSON policy elements: NotPrincipal": a caller is excluded only when every one of
its identities is listed (for a role session: the session ARN, the role ARN and the account).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ..errors import InputError
from .model import Principal, PrincipalType

_ACCOUNT_ID = re.compile(r"\d{12}")
_IAM_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)"
)
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


class PrincipalSyntaxError(ValueError):
    """A Principal element IAM would reject; the policy parser adds where it is."""


class Grant(IntEnum):
    """How directly a resource-based policy names the caller (decides which implicit denies still apply)."""

    ACCOUNT = 1  # the caller's account: identity policies must allow too
    ROLE = 2  # the caller's role: permissions boundary and session policy still apply
    DIRECT = 3  # the session, the user, the service, or everyone


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    everyone: bool = False  # "Principal": "*", or its equivalent {"AWS": "*"}
    accounts: frozenset[str] = frozenset()
    arns: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    federated: frozenset[str] = frozenset()

    def grant(self, principal: Principal) -> Grant | None:
        if self.everyone:
            return Grant.DIRECT
        if principal.type is PrincipalType.SERVICE:
            return Grant.DIRECT if (principal.service or principal.arn) in self.services else None
        if principal.arn in self.federated:
            return Grant.DIRECT
        if principal.role_arn is None:
            if principal.arn in self.arns:
                return Grant.DIRECT
        elif principal.arn != principal.role_arn and principal.arn in self.arns:
            return Grant.DIRECT
        elif principal.role_arn in self.arns:
            return Grant.ROLE
        if principal.account in self.accounts:
            return Grant.ACCOUNT
        return None

    def lists_all(self, principal: Principal) -> bool:
        """NotPrincipal: is every identity of ``principal`` listed (so the statement skips it)?"""
        if self.everyone:
            return True
        if principal.type is PrincipalType.SERVICE:
            return (principal.service or principal.arn) in self.services
        identities = [principal.arn] if principal.type is not PrincipalType.ROOT else []
        if principal.role_arn and principal.role_arn != principal.arn:
            identities.append(principal.role_arn)
        listed = self.arns | self.federated
        return principal.account in self.accounts and all(i in listed for i in identities)


def _strings(value: Any, kind: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) and i for i in items):
        raise PrincipalSyntaxError(f'Invalid principal in policy: "{kind}":{value!r}')
    return items


def parse_principal(element: Any) -> PrincipalSpec:
    if element == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(element, Mapping) or not element:
        raise PrincipalSyntaxError(f"Invalid principal in policy: {element!r}")
    accounts: set[str] = set()
    arns: set[str] = set()
    services: set[str] = set()
    federated: set[str] = set()
    everyone = False
    for kind, value in element.items():
        if kind not in _PRINCIPAL_TYPES:
            raise PrincipalSyntaxError(f"Invalid principal in policy: {kind!r} is not a principal type")
        for item in _strings(value, kind):
            invalid = PrincipalSyntaxError(f'Invalid principal in policy: "{kind}":"{item}"')
            if kind == "AWS":
                if item == "*":
                    everyone = True
                elif _ACCOUNT_ID.fullmatch(item):
                    accounts.add(item)
                elif (m := _IAM_ARN.fullmatch(item)) and "*" not in item and "?" not in item:
                    if m["resource"] == "root":
                        accounts.add(m["account"])
                    else:
                        arns.add(item)
                else:
                    raise invalid
            elif "*" in item:
                raise invalid
            elif kind == "Service":
                services.add(item)
            elif kind == "Federated":
                federated.add(item)
            # CanonicalUser names S3 canonical ids, which no caller of this engine has.
    return PrincipalSpec(
        everyone=everyone,
        accounts=frozenset(accounts),
        arns=frozenset(arns),
        services=frozenset(services),
        federated=frozenset(federated),
    )


def _unique_id(prefix: str, arn: str) -> str:
    """A stable stand-in for the unique id IAM gives a user (AIDA...) or role (AROA...)."""
    return prefix + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()


def principal_from_arn(arn: str, *, tags: Mapping[str, str] | None = None) -> Principal:
    """The caller named by ``arn``: an assumed-role session, role, user, account root, or a service
    principal name such as ``ecs-tasks.amazonaws.com``."""
    tags = dict(tags or {})
    if not isinstance(arn, str) or not arn:
        raise InputError(f"principal must be an ARN or a service name, got {arn!r}")
    if not arn.startswith("arn:"):
        if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?", arn):
            return Principal(arn=arn, account="", type=PrincipalType.SERVICE, service=arn, tags=tags)
        raise InputError(f"principal {arn!r} is neither an ARN nor a service principal (x.amazonaws.com)")
    m = _IAM_ARN.fullmatch(arn)
    if m is None:
        raise InputError(f"principal {arn!r} is not an IAM or STS ARN (arn:aws:iam::ACCOUNT:... )")
    account, resource, partition = m["account"], m["resource"], m["partition"]
    kind, _, rest = resource.partition("/")
    if m["service"] == "sts" and kind == "assumed-role" and rest.count("/") == 1:
        role_name, session = rest.split("/")
        role_arn = f"arn:{partition}:iam::{account}:role/{role_name}"
        return Principal(
            arn=arn,
            account=account,
            type=PrincipalType.ASSUMED_ROLE,
            role_arn=role_arn,
            session_name=session,
            userid=f"{_unique_id('AROA', role_arn)}:{session}",
            tags=tags,
        )
    if m["service"] == "iam" and kind == "role" and rest:
        return Principal(
            arn=arn,
            account=account,
            type=PrincipalType.ASSUMED_ROLE,
            role_arn=arn,
            userid=_unique_id("AROA", arn),
            tags=tags,
        )
    if m["service"] == "iam" and kind == "user" and rest:
        return Principal(
            arn=arn,
            account=account,
            type=PrincipalType.USER,
            userid=_unique_id("AIDA", arn),
            username=rest.rsplit("/", 1)[-1],
            tags=tags,
        )
    if m["service"] == "iam" and resource == "root":
        return Principal(arn=arn, account=account, type=PrincipalType.ROOT, userid=account, tags=tags)
    raise InputError(
        f"principal {arn!r}: expected an assumed-role session (arn:aws:sts::A:assumed-role/ROLE/SESSION), "
        "a role, a user or an account root ARN"
    )
