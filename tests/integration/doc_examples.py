"""The examples of docs/integrations.md, by name, so the tests run exactly what the document shows.

A named example is the first fenced block after an ``<!-- example: NAME -->`` line."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "integrations.md"
_EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\s*```[\w-]*\n(.*?)```", re.DOTALL)


def doc_example(name: str) -> str:
    examples = dict(_EXAMPLE.findall(DOC.read_text()))
    if name not in examples:
        raise KeyError(f"{DOC} has no example {name!r} (has: {', '.join(examples)})")
    return examples[name]
