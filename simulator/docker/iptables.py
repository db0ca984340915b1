"""The rules that send 169.254.170.2:PORT from one task network to a simulator's own listener.

Per forward: a DNAT in ``nat PREROUTING`` (ahead of Docker's own jump) and, for hosts whose INPUT
policy drops traffic (ufw and the like), an ACCEPT for the rewritten packets in ``filter INPUT``.
Each rule carries the comment ``ecs-sim:<network name>`` so it can be found again, by its owner at
stop and by the reaper after a crash. A process without CAP_NET_ADMIN has them made by a helper
container (``host_firewall``).
"""

from __future__ import annotations

import shlex
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import EnvironmentProblem
from .client import docker_client
from .host_firewall import DirectIptables, IptablesInHelper, IptablesRunner, can_change_host_firewall

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


_runner: IptablesRunner | None = None
_runner_lock = threading.Lock()


def _iptables(*commands: tuple[str, Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run ``iptables -t TABLE ARGS`` for each (TABLE, ARGS); as one batch when run by a helper."""
    global _runner
    if not commands:
        return []
    with _runner_lock:
        if _runner is None:
            _runner = DirectIptables() if can_change_host_firewall() else IptablesInHelper(docker_client())
    # -w: wait for the xtables lock instead of failing when Docker or another simulator holds it.
    return _runner.run([["-w", "-t", table, *args] for table, args in commands])


def _check(result: subprocess.CompletedProcess[str], doing: str) -> None:
    if result.returncode != 0:
        raise EnvironmentProblem(f"iptables failed while {doing}: {result.stderr.strip()}")


def add(rules: Sequence[Rule]) -> None:
    """Insert ``rules`` at the head of their chains."""
    results = _iptables(*((rule.table, ["-I", rule.chain, "1", *rule.spec]) for rule in rules))
    for rule, result in zip(rules, results, strict=True):
        _check(result, f"adding a forward for {rule.network_name}")


def delete(rules: Sequence[Rule]) -> list[Rule]:
    """Delete ``rules``; those someone else (their owner, another simulator's reaper) deleted first are
    not among the returned ones."""
    results = _iptables(*((rule.table, ["-D", rule.chain, *rule.spec]) for rule in rules))
    failed = [(rule, result) for rule, result in zip(rules, results, strict=True) if result.returncode]
    still_there = _iptables(*((rule.table, ["-C", rule.chain, *rule.spec]) for rule, _ in failed))
    for (rule, result), check in zip(failed, still_there, strict=True):
        if check.returncode == 0:
            _check(result, f"removing a forward of {rule.network_name}")
    return [rule for rule, result in zip(rules, results, strict=True) if result.returncode == 0]


def list_owned() -> list[Rule]:
    """Every ecs-sim rule on the host."""
    rules = []
    for (table, chain), result in zip(_CHAINS, _iptables(*((t, ["-S", c]) for t, c in _CHAINS)), strict=True):
        _check(result, f"listing {table} {chain}")
        for line in result.stdout.splitlines():
            words = shlex.split(line)
            if words[:2] != ["-A", chain] or "--comment" not in words:
                continue
            comment = words[words.index("--comment") + 1]
            if comment.startswith(COMMENT_PREFIX):
                rules.append(Rule(table, chain, comment.removeprefix(COMMENT_PREFIX), tuple(words[2:])))
    return rules
