"""Task definitions: loaded and checked as RegisterTaskDefinition would, plus RunTask overrides."""

from .loader import load_taskdef
from .model import ContainerDefinition, TaskDefinition
from .overrides import apply_overrides, resolve_role_arn

__all__ = ["ContainerDefinition", "TaskDefinition", "apply_overrides", "load_taskdef", "resolve_role_arn"]
