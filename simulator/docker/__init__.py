"""Docker plumbing shared by the simulator: the engine client, ownership labels, task networks, reaping."""

from .client import docker_client
from .labels import new_owner_id, owner_labels
from .network import CREDENTIALS_PORT, ENDPOINT_IP, GATEWAY_PORT, TaskNetwork
from .reaper import Reaped, exclusive_sweeps, reap_leftovers

__all__ = [
    "CREDENTIALS_PORT",
    "ENDPOINT_IP",
    "GATEWAY_PORT",
    "Reaped",
    "TaskNetwork",
    "docker_client",
    "exclusive_sweeps",
    "new_owner_id",
    "owner_labels",
    "reap_leftovers",
]
