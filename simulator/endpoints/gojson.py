"""JSON and timestamps written the way the ECS agent's Go code writes them, byte for byte.

Go's ``encoding/json`` writes no spaces, leaves non-ASCII text as UTF-8 but escapes ``<``, ``>``,
``&``, U+2028 and U+2029, writes whole floats without a fraction, and sorts map keys (struct
fields keep their declaration order, which is why callers build dicts in the agent's field order).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dumps(value: Any) -> bytes:
    """``json.Marshal(value)``; the escaped characters only ever occur inside JSON strings."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_GO_ESCAPES).encode()


def go_map(mapping: dict[str, Any] | Any) -> dict[str, Any]:
    """A Go ``map[string]T``: encoded with sorted keys."""
    return dict(sorted(mapping.items()))


def go_float(value: float) -> int | float:
    """A Go float64 as ``strconv.FormatFloat(f, 'f', -1, 64)`` writes it: ``2``, not ``2.0``."""
    return int(value) if float(value).is_integer() else value


def rfc3339nano(moment: datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fraction with trailing zeros dropped, none when whole.

    A naive datetime is taken to be UTC already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, as ECS sends credential expirations: ``2026-06-30T18:00:00Z``."""
    return rfc3339nano(moment.replace(microsecond=0))
