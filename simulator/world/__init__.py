"""The world a task runs in: loaded from a world file, seeded into the AWS backend, read back for IAM."""

from .loader import load_world, world_from_dict
from .model import World
from .policy_store import BackendPolicyStore
from .seed import SeededWorld, seed

__all__ = ["BackendPolicyStore", "SeededWorld", "World", "load_world", "seed", "world_from_dict"]
