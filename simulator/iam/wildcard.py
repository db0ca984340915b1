"""IAM wildcard patterns (``*`` any run of characters, ``?`` exactly one) compiled to matchers: exact
patterns to a set lookup, ``text*`` to ``str.startswith``, the others to regular expressions.

Patterns are translated to regular expressions character by character, so every other character is
matched literally (``.``, ``+``, ``(`` ... are escaped). A pattern is a sequence of parts: ``str``
parts carry live wildcards, :class:`Literal` parts (a resolved policy variable, or ``${*}``) match as
written. ARN patterns (``ArnLike``/``ArnEquals``) match component by component: in the first five
colon-separated components a wildcard never crosses a ``:``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_ARN_PREFIX_COMPONENTS = 5  # arn:partition:service:region:account: -- then the resource part


@dataclass(frozen=True, slots=True)
class Literal:
    """Text that matches as written, even if it contains ``*`` or ``?``."""

    text: str


Part = str | Literal
Parts = tuple[Part, ...]


def has_wildcard(parts: Sequence[Part]) -> bool:
    return any(isinstance(p, str) and ("*" in p or "?" in p) for p in parts)


def plain_text(parts: Sequence[Part]) -> str:
    return "".join(p if isinstance(p, str) else p.text for p in parts)


def translate(parts: Sequence[Part], *, arn: bool = False) -> str:
    """The regular expression (to be used with ``fullmatch``) for a pattern."""
    out: list[str] = []
    colons = 0
    for part in parts:
        live = isinstance(part, str)
        for ch in part if live else part.text:
            in_prefix = arn and colons < _ARN_PREFIX_COMPONENTS
            if ch == ":":
                colons += 1
                out.append(":")
            elif live and ch == "*":
                star = "[^:]*" if in_prefix else ".*"
                if not out or out[-1] != star:  # "**" is "*"; runs of stars would only slow the regex
                    out.append(star)
            elif live and ch == "?":
                out.append("[^:]" if in_prefix else ".")
            else:
                out.append(re.escape(ch))
    return "".join(out)


@lru_cache(maxsize=4096)
def compiled(regex: str) -> Callable[[str], re.Match[str] | None]:
    """A cached ``fullmatch`` for a translated pattern (patterns with variables are built per request)."""
    return re.compile(regex, re.DOTALL).fullmatch


Matcher = Callable[[str, object], bool]  # (text, ignored lookup): the shape of every pattern matcher


def _prefix(parts: Sequence[Part], *, arn: bool) -> str | None:
    """``text*`` with no other wildcard, the commonest pattern, matches by ``str.startswith``: the text
    before the star, or None when the pattern is another shape. In an ARN pattern the star must lie in
    the resource part, where it may cross a ``:``."""
    last = parts[-1] if parts else None
    if not isinstance(last, str) or not last.endswith("*") or has_wildcard([*parts[:-1], last[:-1]]):
        return None
    prefix = plain_text(parts)[:-1]
    return None if arn and prefix.count(":") < _ARN_PREFIX_COMPONENTS else prefix


def _always(_text: str, _lookup: object) -> bool:
    return True


class WildcardSet:
    """Matches a string against a fixed set of patterns: exact ones by set lookup, ``prefix*`` ones by
    ``str.startswith``, the rest by one regex. ``match`` is the same test as a plain function, built
    for the shapes present (no method dispatch, no checks for absent shapes) for hot paths."""

    __slots__ = ("match",)

    def __init__(self, patterns: Iterable[Parts], *, arn: bool = False) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        regexes: list[str] = []
        for parts in patterns:
            if parts == ("*",):
                self.match: Matcher = _always
                return
            prefix = _prefix(parts, arn=arn)
            if prefix is not None:
                prefixes.append(prefix)
            elif has_wildcard(parts):
                regexes.append(translate(parts, arn=arn))
            else:
                exact.add(plain_text(parts))
        self.match = _matcher(frozenset(exact), tuple(prefixes), regexes)

    def __call__(self, text: str, _lookup: object = None) -> bool:
        """``_lookup`` is ignored: fixed patterns have no variables (it keeps the matcher signature)."""
        return self.match(text, _lookup)


def _matcher(exact: frozenset[str], prefixes: tuple[str, ...], regexes: list[str]) -> Matcher:
    regex = compiled("|".join(f"(?:{r})" for r in regexes)) if regexes else None
    if regex is None:
        if not prefixes:
            return lambda text, _lookup: text in exact
        if not exact:
            return lambda text, _lookup: text.startswith(prefixes)
        return lambda text, _lookup: text in exact or text.startswith(prefixes)
    if not exact and not prefixes:
        return lambda text, _lookup: regex(text) is not None
    return lambda text, _lookup: text in exact or text.startswith(prefixes) or regex(text) is not None
