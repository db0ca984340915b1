"""Parsing and validating IAM policy documents (stub; being filled in)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .model import PolicyKind


class MalformedPolicyDocument(InputError):
    """A policy document IAM would reject with ``MalformedPolicyDocument``."""


@dataclass(frozen=True, eq=False)
class Policy:
    name: str
    kind: PolicyKind
    document: Mapping[str, Any]
    statements: tuple[Any, ...] = ()
