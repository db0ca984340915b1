"""IAM wildcard patterns (``*`` any run of characters, ``?`` exactly one) compiled to regular expressions.

Patterns are translated character by character, so every other character is matched literally
(``.``, ``+``, ``(`` ... are escaped). A pattern is a sequence of parts: ``str`` parts carry live
wildcards, :class:`Literal` parts (a resolved policy variable, or ``${*}``) match as written.
ARN patterns (``ArnLike``/``ArnEquals``) match component by component: in the first five
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


class WildcardSet:
    """Matches a string against a fixed set of patterns: exact ones by set lookup, the rest by one regex."""

    __slots__ = ("_exact", "_match_all", "_regex")

    def __init__(self, patterns: Iterable[Parts], *, arn: bool = False) -> None:
        exact: set[str] = set()
        regexes: list[str] = []
        self._match_all = False
        for parts in patterns:
            if parts == ("*",):
                self._match_all = True
            elif has_wildcard(parts):
                regexes.append(translate(parts, arn=arn))
            else:
                exact.add(plain_text(parts))
        self._exact = frozenset(exact)
        self._regex = compiled("|".join(f"(?:{r})" for r in regexes)) if regexes else None

    def __call__(self, text: str, _lookup: object = None) -> bool:
        """``_lookup`` is ignored: fixed patterns have no variables (it keeps the matcher signature)."""
        return (
            self._match_all
            or text in self._exact
            or (self._regex is not None and self._regex(text) is not None)
        )
