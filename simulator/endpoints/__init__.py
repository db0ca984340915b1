"""The credentials, task metadata and agent API endpoint that task containers reach at 169.254.170.2.

Wiring, as a simulator does it (see ``simulator.docker`` for the network)::

    network = TaskNetwork.create(client, owner_id)
    server = EndpointServer()
    network.forward(CREDENTIALS_PORT, server.start(network.gateway_ip))
    credentials_id = server.register_credentials(TaskCredentials.from_session(task_role_session))
    endpoint_id = server.register_container(view_provider, docker_stats(client), AgentTask(task_arn, ecs))
    # container env: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/<credentials_id>,
    #                ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/<endpoint_id> (and /v3/ as ..._URI),
    #                ECS_AGENT_URI=http://169.254.170.2/api/<endpoint_id> (task scale-in protection)
    ...
    server.unregister_container(endpoint_id); server.unregister_credentials(credentials_id)
    server.stop(); network.remove()
"""

from .agent_api import AgentTask
from .credentials import TaskCredentials
from .docker_inspect import from_docker_inspect
from .metadata import (
    ContainerMetadata,
    ContainerView,
    HealthInfo,
    NetworkInfo,
    PortMapping,
    StatsProvider,
    TaskMetadata,
    ViewProvider,
    VolumeInfo,
)
from .server import EndpointServer
from .stats import docker_stats

__all__ = [
    "AgentTask",
    "ContainerMetadata",
    "ContainerView",
    "EndpointServer",
    "HealthInfo",
    "NetworkInfo",
    "PortMapping",
    "StatsProvider",
    "TaskCredentials",
    "TaskMetadata",
    "ViewProvider",
    "VolumeInfo",
    "docker_stats",
    "from_docker_inspect",
]
