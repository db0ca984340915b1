"""The authorizing gateway: every AWS call of a simulated task passes SigV4 and IAM checks here."""

from .authorizer import DecisionRecord
from .server import Gateway

__all__ = ["DecisionRecord", "Gateway"]
