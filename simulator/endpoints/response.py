"""What every endpoint handler answers with, independent of any HTTP server."""

from __future__ import annotations

from typing import NamedTuple

JSON = "application/json"


class Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = JSON  # "": no Content-Type header (an empty answer)
