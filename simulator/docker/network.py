"""One Docker bridge network per simulator, on which 169.254.170.2 reaches that simulator's servers.

Every SDK expects the credentials endpoint at exactly ``http://169.254.170.2`` (port 80), yet several
simulators share one host and Docker refuses overlapping subnets. So each simulator gets its own /24
out of 169.254.170.0/24 … 169.254.250.0/24, listens on that network's gateway IP, and a DNAT rule by
source subnet sends the task's traffic for 169.254.170.2:PORT there — the way the ECS agent sends
169.254.170.2:80 to its own 127.0.0.1:51679. The first subnet uses gateway 169.254.170.2 as on ECS.
"""

from __future__ import annotations

import contextlib
import ipaddress
from types import TracebackType

import docker
from docker.errors import APIError, NotFound
from docker.types import IPAMConfig, IPAMPool

from ..errors import EnvironmentProblem
from . import iptables
from .labels import owner_labels

ENDPOINT_IP = "169.254.170.2"
CREDENTIALS_PORT = 80  # the ECS agent's PortForTasks
GATEWAY_PORT = 4566  # where task containers find the AWS gateway: AWS_ENDPOINT_URL=http://169.254.170.2:4566
HTTPS_PORT = 443  # the gateway again, as the AWS host names (simulator.aws_hostnames)
DNS_PORT = 53

_THIRD_OCTETS = range(170, 251)
NETWORK_PREFIX = "ecs-sim-"


def candidate_subnets() -> list[tuple[str, str]]:
    """(subnet, gateway IP) pairs in the order they are tried."""
    return [
        (f"169.254.{octet}.0/24", ENDPOINT_IP if octet == 170 else f"169.254.{octet}.1")
        for octet in _THIRD_OCTETS
    ]


def specific_routes(route_table: str) -> list[ipaddress.IPv4Network]:
    """Routes of ``/proc/net/route`` at least as specific as a /24 (a broader link-local route, such as
    169.254.0.0/16 on eth0, loses to a network's own /24 and is no conflict)."""
    routes = []
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        # Destination and Mask are little-endian hex.
        destination = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
        prefix = bin(int(fields[7], 16)).count("1")
        if prefix >= 24:
            routes.append(ipaddress.IPv4Network(f"{destination}/{prefix}", strict=False))
    return routes


def _subnets_in_use(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
    """Subnets of every Docker network and of the host's specific routes."""
    with open("/proc/net/route", encoding="ascii") as route_table:
        used = specific_routes(route_table.read())
    for network in client.api.networks():
        for pool in (network.get("IPAM") or {}).get("Config") or []:
            subnet = ipaddress.ip_network(pool.get("Subnet", "::/128"), strict=False)
            if isinstance(subnet, ipaddress.IPv4Network):
                used.append(subnet)
    return used


def remove_network(client: docker.DockerClient, network_id: str) -> None:
    """Force-disconnect whatever is still attached (Docker refuses otherwise), then remove; gone is fine."""
    try:
        network = client.networks.get(network_id)
    except NotFound:
        return
    for container in network.attrs.get("Containers") or {}:
        # NotFound, or "not connected" when a concurrent reaper got there first: removal decides.
        with contextlib.suppress(APIError):
            network.disconnect(container, force=True)
    with contextlib.suppress(NotFound):
        network.remove()


class TaskNetwork:
    """A simulator's task network; create with :meth:`create`, add forwards, :meth:`remove` at stop."""

    def __init__(self, client: docker.DockerClient, network_id: str, name: str, subnet: str, gateway_ip: str):
        self._client = client
        self.id = network_id
        self.name = name
        self.subnet = subnet
        self.gateway_ip = gateway_ip
        self._rules: list[iptables.Rule] = []

    @classmethod
    def create(cls, client: docker.DockerClient, owner_id: str) -> TaskNetwork:
        """Create the network on the first free subnet (a concurrent simulator may win a race: next)."""
        name = NETWORK_PREFIX + owner_id
        used = _subnets_in_use(client)
        for subnet, gateway in candidate_subnets():
            if any(ipaddress.ip_network(subnet).overlaps(other) for other in used):
                continue
            try:
                network = client.networks.create(
                    name,
                    driver="bridge",
                    ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)]),
                    labels=owner_labels(owner_id),
                    check_duplicate=True,
                )
            except APIError as err:
                if "overlap" in str(err.explanation or err).lower():
                    continue
                raise EnvironmentProblem(
                    f"Docker could not create network {name}: {err.explanation}"
                ) from err
            return cls(client, network.id, name, subnet, gateway)
        raise EnvironmentProblem(
            "no free task network subnet between 169.254.170.0/24 and 169.254.250.0/24 "
            "(too many simulators running, or leftovers: "
            "`docker network ls --filter label=io.ecs-sim.managed`)"
        )

    def forward(self, port_on_endpoint_ip: int, local_port: int, protocol: str = "tcp") -> None:
        """Send this network's 169.254.170.2:``port_on_endpoint_ip`` traffic to gateway_ip:``local_port``."""
        rules = iptables.forward_rules(
            self.name, self.subnet, ENDPOINT_IP, port_on_endpoint_ip, self.gateway_ip, local_port, protocol
        )
        self._rules.extend(rules)  # before adding: those added before a failure must go at removal too
        iptables.add(rules)

    def remove(self) -> None:
        """Remove the forwards, disconnect what is still attached, remove the network. Idempotent."""
        iptables.delete(self._rules)
        self._rules = []
        remove_network(self._client, self.id)

    def __enter__(self) -> TaskNetwork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"TaskNetwork({self.name!r}, subnet={self.subnet!r}, gateway_ip={self.gateway_ip!r})"
