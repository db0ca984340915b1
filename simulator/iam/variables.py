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
from typing import Generic, TypeVar

from .wildcard import Literal, Part, Parts, WildcardSet, plain_text

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


T = TypeVar("T")
_BUILT_LIMIT = 1024


class _Resolved(Generic[T]):
    """A template with variables, and what ``build`` makes of it once its variables are known
    (a regex, a string), cached per set of values: callers come back with the same few values."""

    __slots__ = ("_build", "_built", "_template", "_variables")

    def __init__(self, template: Template, build: Callable[[Parts], T]) -> None:
        self._template = template
        self._variables = tuple(p for p in template if isinstance(p, Variable))
        self._build = build
        self._built: dict[tuple[str, ...], T] = {}

    def __call__(self, lookup: ContextLookup) -> T | None:
        """What the template builds to in this request; None when a variable has no value."""
        values = []
        for variable in self._variables:
            found = lookup(variable.key)
            if found is not None and len(found) == 1:
                values.append(found[0])
            elif variable.default is not None:
                values.append(variable.default)
            else:
                return None
        key = tuple(values)
        built = self._built.get(key)
        if built is None:
            if len(self._built) >= _BUILT_LIMIT:
                self._built.clear()
            resolved = iter(key)
            parts = tuple(Literal(next(resolved)) if isinstance(p, Variable) else p for p in self._template)
            built = self._built[key] = self._build(parts)
        return built


PatternMatcher = Callable[[str, ContextLookup], bool]


def template_patterns(templates: Sequence[Template], *, arn: bool = False) -> PatternMatcher:
    """A matcher for ``templates``: a plain wildcard matcher when none has a variable (the common case)."""
    if any(has_variables(t) for t in templates):
        return TemplatePatterns(templates, arn=arn)
    return WildcardSet(templates, arn=arn).match  # type: ignore[arg-type]


class TemplatePatterns:
    """Wildcard patterns that may hold variables: fixed ones are compiled once, the others per request."""

    __slots__ = ("_dynamic", "_static")

    def __init__(self, templates: Sequence[Template], *, arn: bool = False) -> None:
        static = [t for t in templates if not has_variables(t)]
        self._static = WildcardSet(static, arn=arn).match if static else None  # type: ignore[arg-type]
        self._dynamic = tuple(
            _Resolved(t, lambda parts: WildcardSet([parts], arn=arn).match)
            for t in templates
            if has_variables(t)
        )

    def __call__(self, text: str, lookup: ContextLookup) -> bool:
        if self._static is not None and self._static(text, lookup):
            return True
        for resolved in self._dynamic:
            matcher = resolved(lookup)
            if matcher is not None and matcher(text, lookup):
                return True
        return False


class TemplateValues:
    """Exact values that may hold variables (``StringEquals`` and friends); ``fold`` ignores case."""

    __slots__ = ("_dynamic", "_fold", "_static")

    def __init__(self, templates: Sequence[Template], *, fold: bool = False) -> None:
        self._fold = fold
        static = (plain_text(t) for t in templates if not has_variables(t))  # type: ignore[arg-type]
        self._static = frozenset(s.casefold() if fold else s for s in static)
        self._dynamic = tuple(
            _Resolved(t, lambda parts: plain_text(parts).casefold() if fold else plain_text(parts))
            for t in templates
            if has_variables(t)
        )

    def __call__(self, text: str, lookup: ContextLookup) -> bool:
        if self._fold:
            text = text.casefold()
        return text in self._static or any(resolved(lookup) == text for resolved in self._dynamic)
