"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}`` ``${?}`` ``${$}``.

IAM substitutes variables only in policies with ``"Version": "2012-10-17"``, and only in ``Resource``
/ ``NotResource`` and in the values of String and ARN condition operators. A variable resolves to the
single value of the request context key of that name (case-insensitive), else to its default; with
neither, the policy value it sits in matches nothing. A resolved value is literal text: a ``*`` in a
user name is not a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .wildcard import Literal, Part, Parts, WildcardSet, compiled, plain_text, translate

# ${*} ${?} ${$} are escapes for the literal characters; otherwise a key with an optional 'default'.
_VARIABLE = re.compile(
    r"\$\{\s*(?:(?P<escape>[*?$])|(?P<key>[^,}'\s]+)\s*(?:,\s*'(?P<default>[^']*)'\s*)?)\}"
)

ContextLookup = Callable[[str], Sequence[str] | None]


@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # lower case: context keys are case-insensitive
    default: str | None


TemplatePart = Part | Variable
Template = tuple[TemplatePart, ...]


def parse_template(text: str, *, substitute: bool = True) -> Template:
    """Split ``text`` into wildcard text, literal escapes and variables (just ``(text,)`` if none)."""
    if not substitute or "${" not in text:
        return (text,)
    parts: list[TemplatePart] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        if m["escape"]:
            parts.append(Literal(m["escape"]))
        else:
            parts.append(Variable(m["key"].lower(), m["default"]))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return tuple(parts)


def has_variables(template: Template) -> bool:
    return any(isinstance(p, Variable) for p in template)


def resolve(template: Template, lookup: ContextLookup) -> Parts | None:
    """``template`` with every variable replaced by its literal value; None if one has no value."""
    out: list[Part] = []
    for part in template:
        if isinstance(part, Variable):
            values = lookup(part.key)
            if values is not None and len(values) == 1:
                out.append(Literal(values[0]))
            elif part.default is not None:
                out.append(Literal(part.default))
            else:
                return None
        else:
            out.append(part)
    return tuple(out)


@lru_cache(maxsize=4096)
def _resolved_matcher(parts: Parts, arn: bool) -> Callable[[str], re.Match[str] | None]:
    return compiled(translate(parts, arn=arn))


PatternMatcher = Callable[[str, ContextLookup], bool]


def template_patterns(templates: Sequence[Template], *, arn: bool = False) -> PatternMatcher:
    """A matcher for ``templates``: a plain WildcardSet when none has a variable (the common case)."""
    if any(has_variables(t) for t in templates):
        return TemplatePatterns(templates, arn=arn)
    return WildcardSet(templates, arn=arn)  # type: ignore[arg-type]


class TemplatePatterns:
    """Wildcard patterns that may hold variables: fixed ones are compiled once, the others per request."""

    __slots__ = ("_arn", "_dynamic", "_static")

    def __init__(self, templates: Sequence[Template], *, arn: bool = False) -> None:
        self._arn = arn
        self._static = WildcardSet([t for t in templates if not has_variables(t)], arn=arn)  # type: ignore[misc]
        self._dynamic = tuple(t for t in templates if has_variables(t))

    def __call__(self, text: str, lookup: ContextLookup) -> bool:
        if self._static(text):
            return True
        for template in self._dynamic:
            parts = resolve(template, lookup)
            if parts is not None and _resolved_matcher(parts, self._arn)(text) is not None:
                return True
        return False


class TemplateValues:
    """Exact values that may hold variables (``StringEquals`` and friends); ``fold`` ignores case."""

    __slots__ = ("_dynamic", "_fold", "_static")

    def __init__(self, templates: Sequence[Template], *, fold: bool = False) -> None:
        self._fold = fold
        static = (plain_text(t) for t in templates if not has_variables(t))  # type: ignore[arg-type]
        self._static = frozenset(s.casefold() if fold else s for s in static)
        self._dynamic = tuple(t for t in templates if has_variables(t))

    def __call__(self, text: str, lookup: ContextLookup) -> bool:
        if self._fold:
            text = text.casefold()
        if text in self._static:
            return True
        for template in self._dynamic:
            parts = resolve(template, lookup)
            if parts is not None:
                value = plain_text(parts)
                if (value.casefold() if self._fold else value) == text:
                    return True
        return False
