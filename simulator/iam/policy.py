"""Parsing, validating and compiling IAM policy documents.

``parse_policy`` checks a document the way IAM does (errors are ``MalformedPolicyDocument`` with IAM's
wording, placed by policy name and statement) and compiles it once: action and resource wildcards
to matchers, conditions to checks, principals to sets, so that evaluating a request is cheap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InputError
from .conditions import ConditionCheck, ConditionSyntaxError, compile_conditions
from .messages import POLICY_NOUNS
from .model import PolicyKind, StatementRef
from .principals import PrincipalSpec, PrincipalSyntaxError, parse_principal
from .variables import PatternMatcher, has_variables, parse_template, template_patterns
from .wildcard import WildcardSet

VERSIONS = ("2012-10-17", "2008-10-17")
VARIABLES_VERSION = "2012-10-17"  # the only version in which ${...} is a policy variable
_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_NO_PRINCIPAL_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_ALNUM_SID_KINDS = frozenset({PolicyKind.IDENTITY, PolicyKind.BOUNDARY})
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+")
_SID = re.compile(r"[0-9A-Za-z]*")
_ACTION_CACHE_LIMIT = 4096


class MalformedPolicyDocument(InputError):
    """A policy document IAM would reject with ``MalformedPolicyDocument``; ``message`` is IAM's text,
    ``where`` the policy and statement."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement. ``resources`` is None when the statement applies to any resource:
    ``"Resource": "*"`` (or a list holding it), or a resource-based policy that omits Resource (it then
    applies to the resource it is attached to)."""

    ref: StatementRef
    action_patterns: tuple[str, ...]
    actions: WildcardSet  # matches lower-case actions
    not_action: bool
    resources: PatternMatcher | None
    not_resource: bool
    principal: PrincipalSpec | None
    not_principal: bool
    conditions: tuple[ConditionCheck, ...]
    effect: Literal["Allow", "Deny"]
    label: str  # ref.label(), computed once for traces
    allows_line: str  # the trace line when this statement is the one that allows
    needs_context: bool  # has conditions or policy variables
    unconditional: bool  # applies whenever its Action covers: any resource, no Principal or Condition


class Policy:
    """A parsed policy: ``document`` is the original, ``statements`` the compiled statements."""

    __slots__ = ("_by_action", "document", "kind", "name", "statements", "version")

    def __init__(
        self,
        name: str,
        kind: PolicyKind,
        document: Mapping[str, Any],
        statements: tuple[Statement, ...],
        version: str,
    ) -> None:
        self.name = name
        self.kind = kind
        self.document = document
        self.statements = statements
        self.version = version
        self._by_action: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, {self.kind.value}, {len(self.statements)} statements)"

    def for_action(self, action: str) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """(Deny statements, Allow statements) whose Action/NotAction covers lower-case ``action``."""
        found = self._by_action.get(action)
        if found is None:
            hits = [s for s in self.statements if s.actions(action) != s.not_action]
            found = (
                tuple(s for s in hits if s.effect == "Deny"),
                tuple(s for s in hits if s.effect == "Allow"),
            )
            if len(self._by_action) >= _ACTION_CACHE_LIMIT:
                self._by_action.clear()
            self._by_action[action] = found
        return found


def parse_policy(document: Mapping[str, Any] | str | bytes, *, name: str, kind: PolicyKind) -> Policy:
    """Validate ``document`` (a dict or JSON text) as IAM does for a policy of ``kind``, and compile it."""
    where = f"{kind.value} policy {name!r}"
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError:
            raise MalformedPolicyDocument("This policy contains invalid Json", where=where) from None
    if not isinstance(document, Mapping):
        raise MalformedPolicyDocument("This policy contains invalid Json", where=where)
    for key in document:
        if key not in _TOP_LEVEL:
            raise MalformedPolicyDocument(f"Syntax errors in policy. Unknown element {key!r}.", where=where)
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise MalformedPolicyDocument("The policy failed legacy parsing", where=where)
    if "Id" in document and not isinstance(document["Id"], str):
        raise MalformedPolicyDocument("Syntax errors in policy. Id must be a string.", where=where)
    raw = document.get("Statement")
    raw_statements = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicyDocument(
            "Syntax errors in policy. Statement must be an object or a non-empty list of objects.",
            where=where,
        )
    statements = []
    sids: set[str] = set()
    for index, item in enumerate(raw_statements):
        sid = item.get("Sid") if isinstance(item, Mapping) else None
        label = f"{where}, Sid {sid!r}" if isinstance(sid, str) and sid else f"{where}, statement #{index}"
        if isinstance(sid, str) and sid:
            if sid in sids:
                raise MalformedPolicyDocument(
                    "Statement IDs (SID) in a single policy must be unique.", where=label
                )
            sids.add(sid)
        try:
            statements.append(_compile_statement(item, index, name, kind, version))
        except (ConditionSyntaxError, PrincipalSyntaxError, _StatementError) as err:
            raise MalformedPolicyDocument(str(err), where=label) from None
    return Policy(name, kind, document, tuple(statements), version)


def combine_policies(policies: Sequence[Policy], *, name: str) -> Policy:
    """``policies`` of one kind as one policy (the first alone as itself): what any of them allows, and
    nothing any of them denies, as for AssumeRole's session policies. A Sid needs to be unique only in
    its own policy, so each is prefixed with its policy's name."""
    if len(policies) == 1:
        return policies[0]
    statements = []
    for policy in policies:
        raw = policy.document["Statement"]
        for statement in [raw] if isinstance(raw, Mapping) else raw:
            sid = statement.get("Sid")
            statements.append({**statement, "Sid": f"{policy.name}/{sid}"} if sid else statement)
    return parse_policy({"Version": "2012-10-17", "Statement": statements}, name=name, kind=policies[0].kind)


class _StatementError(ValueError):
    pass


def _string_list(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement[key]
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) for i in items):
        raise _StatementError(
            f"Syntax errors in policy. {key} must be a string or a non-empty list of strings."
        )
    return items


def _one_of(statement: Mapping[str, Any], positive: str, negative: str) -> str | None:
    if positive in statement and negative in statement:
        raise _StatementError(
            f"Syntax errors in policy. A statement cannot have both {positive} and {negative}."
        )
    return positive if positive in statement else negative if negative in statement else None


def _compile_statement(statement: Any, index: int, name: str, kind: PolicyKind, version: str) -> Statement:
    if not isinstance(statement, Mapping):
        raise _StatementError("Syntax errors in policy. A statement must be a JSON object.")
    for key in statement:
        if key not in _STATEMENT_ELEMENTS:
            raise _StatementError(f"Syntax errors in policy. Unknown element {key!r}.")
    sid = statement.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _StatementError("Syntax errors in policy. Sid must be a string.")
    if sid and kind in _ALNUM_SID_KINDS and not _SID.fullmatch(sid):
        raise _StatementError(
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
            "expression [0-9A-Za-z]*"
        )
    effect = statement.get("Effect")
    if effect is None:
        raise _StatementError("Missing required field Effect")
    if effect not in ("Allow", "Deny"):
        raise _StatementError(f'Invalid effect: {effect!r} (Effect must be "Allow" or "Deny")')

    principal_key = _one_of(statement, "Principal", "NotPrincipal")
    if principal_key and kind in _NO_PRINCIPAL_KINDS:
        raise _StatementError("Policy document should not specify a principal.")
    if not principal_key and kind not in _NO_PRINCIPAL_KINDS:
        raise _StatementError("Missing required field Principal")
    principal = parse_principal(statement[principal_key]) if principal_key else None

    action_key = _one_of(statement, "Action", "NotAction")
    if action_key is None:
        raise _StatementError("Policy statement must contain actions.")
    actions = _string_list(statement, action_key)
    for action in actions:
        if action != "*" and ":" not in action:
            raise _StatementError(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
            )
        if action != "*" and not _ACTION.fullmatch(action):
            raise _StatementError(f"Invalid action {action!r}: expected service:ActionName")

    resource_key = _one_of(statement, "Resource", "NotResource")
    substitute = version == VARIABLES_VERSION
    resources: PatternMatcher | None = None
    variables = False
    if resource_key and kind is PolicyKind.TRUST:
        raise _StatementError(f"Has prohibited field {resource_key}")
    if resource_key:
        patterns = _string_list(statement, resource_key)
        for pattern in patterns:
            if pattern != "*" and not (
                pattern.startswith("arn:") and (pattern.count(":") >= 5 or "*" in pattern)
            ):
                raise _StatementError(f'Resource {pattern} must be in ARN format or "*".')
        templates = [parse_template(p, substitute=substitute) for p in patterns]
        if resource_key == "NotResource" or ("*",) not in templates:
            resources = template_patterns(templates)
            variables = any(has_variables(t) for t in templates)
    elif kind in _NO_PRINCIPAL_KINDS and kind is not PolicyKind.SCP:
        raise _StatementError("Policy statement must contain resources.")

    conditions = (
        compile_conditions(statement["Condition"], substitute=substitute) if "Condition" in statement else ()
    )
    ref = StatementRef(name, kind, sid or None, index, effect)
    return Statement(
        ref=ref,
        action_patterns=tuple(actions),
        actions=WildcardSet([(a.lower(),) for a in actions]),
        not_action=action_key == "NotAction",
        resources=resources,
        not_resource=resource_key == "NotResource",
        principal=principal,
        not_principal=principal_key == "NotPrincipal",
        conditions=conditions,
        effect=ref.effect,
        label=ref.label(),
        allows_line=f"{POLICY_NOUNS[kind]}: {ref.label()} allows",
        needs_context=bool(conditions) or variables,
        unconditional=resources is None and principal is None and not conditions,
    )
