"""The rules that send 169.254.170.2:PORT from one task network to a simulator's own listener.

Per forward: a DNAT in ``nat PREROUTING`` (ahead of Docker's own jump) and, for hosts whose INPUT
policy drops traffic (ufw and the like), an ACCEPT for the rewritten packets in ``filter INPUT``.
Each rule carries the comment ``ecs-sim:<network name>`` so it can be found again, by its owner at
stop and by the reaper after a crash.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import EnvironmentProblem

COMMENT_PREFIX = "ecs-sim:"
_CHAINS = (("nat", "PREROUTING"), ("filter", "INPUT"))


@dataclass(frozen=True)
class Rule:
    table: str
    chain: str
    network_name: str
    spec: tuple[str, ...]  # the rule's match and target, comment included, as `iptables -S` shows it


def forward_rules(
    network_name: str,
    subnet: str,
    destination: str,
    port: int,
    to_ip: str,
    to_port: int,
    protocol: str = "tcp",
) -> list[Rule]:
    """Rules sending ``subnet``'s ``protocol`` traffic for ``destination:port`` to ``to_ip:to_port``."""
    comment = ("-m", "comment", "--comment", COMMENT_PREFIX + network_name)
    match = ("-p", protocol, "-m", protocol)
    return [
        Rule("nat", "PREROUTING", network_name, (
            "-s", subnet, "-d", f"{destination}/32", *match, "--dport", str(port), *comment,
            "-j", "DNAT", "--to-destination", f"{to_ip}:{to_port}",
        )),
        Rule("filter", "INPUT", network_name, (
            "-s", subnet, "-d", f"{to_ip}/32", *match, "--dport", str(to_port), *comment, "-j", "ACCEPT",
        )),
    ]  # fmt: skip


def _iptables(table: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("iptables")
    if binary is None:
        raise EnvironmentProblem("iptables is not installed; install it with scripts/setup-docker.sh")
    # -w: wait for the xtables lock instead of failing when Docker or another simulator holds it.
    return subprocess.run([binary, "-w", "-t", table, *args], capture_output=True, text=True, check=False)


def _check(result: subprocess.CompletedProcess[str], doing: str) -> None:
    if result.returncode != 0:
        raise EnvironmentProblem(f"iptables failed while {doing}: {result.stderr.strip()} (this needs root)")


def add(rule: Rule) -> None:
    _check(
        _iptables(rule.table, ["-I", rule.chain, "1", *rule.spec]),
        f"adding a forward for {rule.network_name}",
    )


def delete(rule: Rule) -> bool:
    """Delete one rule; False when someone else (its owner, another simulator's reaper) was first."""
    result = _iptables(rule.table, ["-D", rule.chain, *rule.spec])
    if result.returncode == 0:
        return True
    if _iptables(rule.table, ["-C", rule.chain, *rule.spec]).returncode == 0:
        _check(result, f"removing a forward of {rule.network_name}")
    return False


def list_owned() -> list[Rule]:
    """Every ecs-sim rule on the host."""
    rules = []
    for table, chain in _CHAINS:
        result = _iptables(table, ["-S", chain])
        _check(result, f"listing {table} {chain}")
        for line in result.stdout.splitlines():
            words = shlex.split(line)
            if words[:2] != ["-A", chain] or "--comment" not in words:
                continue
            comment = words[words.index("--comment") + 1]
            if comment.startswith(COMMENT_PREFIX):
                rules.append(Rule(table, chain, comment.removeprefix(COMMENT_PREFIX), tuple(words[2:])))
    return rules
