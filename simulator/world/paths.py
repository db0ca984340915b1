"""How a place inside a world file is named in messages: ``roles.app-role.inline.read``, ``scps[0]``."""

from __future__ import annotations

import json
import re
from typing import Any


def join_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    # keys with dots or spaces (``prod.env``) are quoted so the path stays unambiguous
    part = key if re.fullmatch(r"[^.\s\[\]\"]+", key) else json.dumps(key)
    return f"{path}.{part}" if path else part
