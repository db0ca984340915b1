"""The NAT rules that send 169.254.170.2:PORT from one task network to a simulator's own listener.

Each rule carries the comment ``ecs-sim:<network name>`` so it can be found again, by its owner at
stop and by the reaper after a crash. Rules go into ``nat PREROUTING`` ahead of Docker's own jump.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import EnvironmentProblem

COMMENT_PREFIX = "ecs-sim:"
_CHAIN = "PREROUTING"


@dataclass(frozen=True)
class DnatRule:
    """``source_subnet`` → ``destination_ip:destination_port`` is rewritten to ``to_ip:to_port``."""

    network_name: str
    source_subnet: str
    destination_ip: str
    destination_port: int
    to_ip: str
    to_port: int

    def spec(self) -> list[str]:
        return [
            "-s", self.source_subnet,
            "-d", f"{self.destination_ip}/32",
            "-p", "tcp", "--dport", str(self.destination_port),
            "-m", "comment", "--comment", COMMENT_PREFIX + self.network_name,
            "-j", "DNAT", "--to-destination", f"{self.to_ip}:{self.to_port}",
        ]  # fmt: skip


def _iptables(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("iptables")
    if binary is None:
        raise EnvironmentProblem("iptables is not installed; install it with scripts/setup-docker.sh")
    # -w: wait for the xtables lock instead of failing when Docker or another simulator holds it.
    return subprocess.run([binary, "-w", "-t", "nat", *args], capture_output=True, text=True, check=False)


def _check(result: subprocess.CompletedProcess[str], doing: str) -> None:
    if result.returncode != 0:
        raise EnvironmentProblem(f"iptables failed while {doing}: {result.stderr.strip()} (this needs root)")


def add(rule: DnatRule) -> None:
    _check(_iptables(["-I", _CHAIN, "1", *rule.spec()]), f"adding a forward for {rule.network_name}")


def delete(spec: Sequence[str]) -> None:
    """Delete one rule; a rule someone else (the reaper of another simulator) removed first is fine."""
    result = _iptables(["-D", _CHAIN, *spec])
    if result.returncode != 0 and _iptables(["-C", _CHAIN, *spec]).returncode == 0:
        _check(result, "removing a forward")


def list_owned() -> list[tuple[str, list[str]]]:
    """Every ecs-sim rule as (network name, rule spec usable with :func:`delete`)."""
    result = _iptables(["-S", _CHAIN])
    _check(result, "listing forwards")
    rules = []
    for line in result.stdout.splitlines():
        words = shlex.split(line)
        if words[:2] != ["-A", _CHAIN] or "--comment" not in words:
            continue
        comment = words[words.index("--comment") + 1]
        if comment.startswith(COMMENT_PREFIX):
            rules.append((comment.removeprefix(COMMENT_PREFIX), words[2:]))
    return rules
