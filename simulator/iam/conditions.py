"""Condition operators, compiled once per policy (IAM User Guide, "IAM JSON policy elements: Condition
operators" and "Single-valued vs. multivalued context keys").

Semantics encoded here:
- several values for one key are ORed; several keys, and several operators, are ANDed;
- a key missing from the request makes a condition false, except for negated operators
  (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress`` ...), which are then true;
- ``...IfExists`` is true when the key is missing; ``Null`` tests presence itself;
- ``ForAnyValue:`` needs at least one request value to match (false when the key is missing or empty),
  ``ForAllValues:`` needs every request value to match (true when the key is missing or empty); with a
  negated operator "match" means "matches none of the policy values";
- condition keys are case-insensitive; policy variables are substituted in String and ARN operators only.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .variables import (
    ContextLookup,
    Template,
    TemplateValues,
    has_variables,
    parse_template,
    template_patterns,
)
from .wildcard import plain_text

ValueMatcher = Callable[[str, ContextLookup], bool]


class ConditionSyntaxError(ValueError):
    """A condition block IAM would reject; the policy parser adds where it is."""


@dataclass(frozen=True, slots=True)
class _Operator:
    name: str
    family: str
    negated: bool = False
    compare: Callable[[float, float], bool] = operator.eq


def _operators() -> dict[str, _Operator]:
    table = [
        _Operator("StringEquals", "string"),
        _Operator("StringNotEquals", "string", True),
        _Operator("StringEqualsIgnoreCase", "string_ic"),
        _Operator("StringNotEqualsIgnoreCase", "string_ic", True),
        _Operator("StringLike", "like"),
        _Operator("StringNotLike", "like", True),
        _Operator("Bool", "bool"),
        _Operator("BinaryEquals", "binary"),
        _Operator("IpAddress", "ip"),
        _Operator("NotIpAddress", "ip", True),
        _Operator("ArnEquals", "arn"),
        _Operator("ArnLike", "arn"),
        _Operator("ArnNotEquals", "arn", True),
        _Operator("ArnNotLike", "arn", True),
        _Operator("Null", "null"),
    ]
    comparisons = {
        "Equals": (operator.eq, False),
        "NotEquals": (operator.eq, True),
        "LessThan": (operator.lt, False),
        "LessThanEquals": (operator.le, False),
        "GreaterThan": (operator.gt, False),
        "GreaterThanEquals": (operator.ge, False),
    }
    for family in ("Numeric", "Date"):
        for suffix, (compare, negated) in comparisons.items():
            table.append(_Operator(family + suffix, family.lower(), negated, compare))
    return {op.name.lower(): op for op in table}


_OPERATORS = _operators()
_SET_PREFIXES = {"foranyvalue:": "any", "forallvalues:": "all"}
_VARIABLE_FAMILIES = frozenset({"string", "string_ic", "like", "arn"})


def parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def parse_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 date/time or an epoch number (as IAM accepts both)."""
    number = parse_number(text)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _compile_values(
    op: _Operator, raw: list[str], substitute: bool, where: str
) -> ValueMatcher | frozenset[str]:
    """What one request value must match (un-negated): a set of exact values, or a matcher telling
    whether it matches any of the policy values."""
    if op.family in _VARIABLE_FAMILIES:
        templates: list[Template] = [parse_template(v, substitute=substitute) for v in raw]
        if op.family == "like":
            return template_patterns(templates)
        if op.family == "arn":
            return template_patterns(templates, arn=True)
        if op.family == "string" and not any(has_variables(t) for t in templates):
            return frozenset(plain_text(t) for t in templates)  # type: ignore[arg-type]
        return TemplateValues(templates, fold=op.family == "string_ic")
    if op.family == "bool":
        wanted = frozenset(v.lower() for v in raw)
        return lambda text, _ctx: text.lower() in wanted
    if op.family == "binary":
        return frozenset(raw)
    if op.family == "ip":
        try:
            networks = tuple(ipaddress.ip_network(v.strip(), strict=False) for v in raw)
        except ValueError as err:
            raise ConditionSyntaxError(f"Invalid IP address or CIDR in {where}: {err}") from None

        @lru_cache(maxsize=1024)  # callers come from few addresses; parsing one costs microseconds
        def in_networks(text: str) -> bool:
            ip = _parse_ip(text)
            return ip is not None and any(ip in net for net in networks if net.version == ip.version)

        return lambda text, _ctx: in_networks(text)
    parse = parse_number if op.family == "numeric" else parse_date
    bounds = [parse(v) for v in raw]
    if any(b is None for b in bounds):
        bad = next(v for v, b in zip(raw, bounds, strict=True) if b is None)
        raise ConditionSyntaxError(f"Invalid {op.family} value {bad!r} in {where}")
    compare = op.compare

    def compares(text: str, _ctx: ContextLookup) -> bool:
        value = parse(text)
        if value is not None:
            for bound in bounds:  # a loop, not any(): most conditions have one bound
                if compare(value, bound):  # type: ignore[arg-type]
                    return True
        return False

    return compares


Test = Callable[[ContextLookup], bool]


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    """One ``operator: {key: values}`` pair of a Condition block; ``test`` is compiled for its shape."""

    operator: str  # as written, for traces
    key: str  # as written
    test: Test

    def describe(self) -> str:
        return f"{self.operator} {self.key}"


def _member(exact: frozenset[str]) -> ValueMatcher:
    return lambda text, _ctx: text in exact


def _null_test(key: str, wanted: frozenset[bool]) -> Test:
    """``Null``: ``wanted`` holds True for "the key must be absent", False for "present"."""
    return lambda ctx: (not ctx(key)) in wanted


def _compile_test(
    key: str, matches: ValueMatcher | frozenset[str], negated: bool, set_op: str | None, if_exists: bool
) -> Test:
    """The test of a ``key`` (lower case) against compiled policy values, specialised for the shape of
    the operator so that evaluating it costs as few calls as possible."""
    missing = if_exists or set_op == "all" or (negated and set_op is None)  # verdict when the key is absent
    if isinstance(matches, frozenset) and set_op is None:  # the commonest shape: no call per value
        exact = matches

        def test_exact(ctx: ContextLookup) -> bool:
            values = ctx(key)
            if not values:
                return missing
            if len(values) == 1:
                return (values[0] in exact) != negated
            return (not exact.isdisjoint(values)) != negated

        return test_exact
    match = _member(matches) if isinstance(matches, frozenset) else matches
    if set_op is None:

        def test_one(ctx: ContextLookup) -> bool:
            values = ctx(key)
            if not values:
                return missing
            if len(values) == 1:
                return match(values[0], ctx) != negated
            return any(match(v, ctx) for v in values) != negated

        return test_one
    every = set_op == "all"

    def test_set(ctx: ContextLookup) -> bool:
        values = ctx(key)
        if not values:
            return missing
        if every:
            return all(match(v, ctx) != negated for v in values)
        return any(match(v, ctx) != negated for v in values)

    return test_set


def _value_strings(raw: Any, where: str) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ConditionSyntaxError(f"Empty value list in {where}")
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise ConditionSyntaxError(f"Condition values must be strings, numbers or booleans in {where}")
    return out


def split_operator(name: str) -> tuple[_Operator, str | None, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (StringLike, "any", True); unknown names raise."""
    rest = name
    set_op = None
    prefix, sep, tail = name.partition(":")
    if sep:
        set_op = _SET_PREFIXES.get(prefix.lower() + ":")
        if set_op is None:
            raise ConditionSyntaxError(f"Invalid Condition type : {name}")
        rest = tail
    if_exists = rest.lower().endswith("ifexists")
    base = rest[: -len("ifexists")] if if_exists else rest
    op = _OPERATORS.get(base.lower())
    if op is None or (op.family == "null" and (if_exists or set_op)):
        raise ConditionSyntaxError(f"Invalid Condition type : {name}")
    return op, set_op, if_exists


def compile_conditions(block: Any, *, substitute: bool) -> tuple[ConditionCheck, ...]:
    """Compile a statement's Condition element. ``substitute``: the policy version allows variables."""
    if not isinstance(block, Mapping):
        raise ConditionSyntaxError("Syntax errors in policy. Condition must be an object of operators")
    checks: list[ConditionCheck] = []
    for op_name, keys in block.items():
        op, set_op, if_exists = split_operator(str(op_name))
        if not isinstance(keys, Mapping) or not keys:
            raise ConditionSyntaxError(
                f"Syntax errors in policy. {op_name} must map condition keys to values"
            )
        for key, raw in keys.items():
            where = f"{op_name} {key}"
            if not isinstance(key, str) or ":" not in key or key.startswith(":"):
                raise ConditionSyntaxError(
                    f"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. ({key!r})"
                )
            values = _value_strings(raw, where)
            if op.family == "null":
                test = _null_test(key.lower(), frozenset(v.lower() == "true" for v in values))
            else:
                matches = _compile_values(op, values, substitute, where)
                test = _compile_test(key.lower(), matches, op.negated, set_op, if_exists)
            checks.append(ConditionCheck(op_name, key, test))
    return tuple(checks)
