"""The rules that send 169.254.170.2:PORT from one task network to a simulator's own listener.

Per forward: a DNAT in ``nat PREROUTING`` (ahead of Docker's own jump) and, for hosts whose INPUT
policy drops traffic (ufw and the like), an ACCEPT for the rewritten packets in ``filter INPUT``.
Each rule carries the comment ``ecs-sim:<network name>`` so it can be found again, by its owner at
stop and by the reaper after a crash. A process without CAP_NET_ADMIN has them made by the host
helper container (``host_helper``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import EnvironmentProblem
from .host_helper import CAP_NET_ADMIN, HostHelper, has_capability, shared_helper

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


_STATUS_MARK = "@@ecs-sim-exit"  # printed after each command by the helper's script


def _iptables(*commands: tuple[str, Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run ``iptables -t TABLE ARGS`` for each (TABLE, ARGS): here when this process may change the
    host's firewall, else as one batch in the host helper container."""
    if not commands:
        return []
    # -w: wait for the xtables lock instead of failing when Docker or another simulator holds it.
    argvs = [["-w", "-t", table, *args] for table, args in commands]
    if has_capability(CAP_NET_ADMIN):
        return _run_here(argvs)
    return _run_in_helper(shared_helper(), argvs)


def _run_here(argvs: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    binary = shutil.which("iptables")
    if binary is None:
        raise EnvironmentProblem("iptables is not installed; install it with scripts/setup-docker.sh")
    return [subprocess.run([binary, *args], capture_output=True, text=True, check=False) for args in argvs]


def _run_in_helper(
    helper: HostHelper, argvs: Sequence[Sequence[str]]
) -> list[subprocess.CompletedProcess[str]]:
    script = "".join(
        f"iptables {shlex.join(args)}; printf '\\n{_STATUS_MARK} %d\\n' $?; printf '\\n{_STATUS_MARK}\\n' >&2\n"
        for args in argvs
    )
    _, stdout, stderr = helper.run(script)
    return split_outputs(argvs, stdout, stderr)


def split_outputs(
    argvs: Sequence[Sequence[str]], stdout: str, stderr: str
) -> list[subprocess.CompletedProcess[str]]:
    """The helper script's combined output, cut back into one result per command."""
    outputs = re.split(rf"\n{_STATUS_MARK} (\d+)\n", stdout)
    errors = stderr.split(f"\n{_STATUS_MARK}\n")
    if len(outputs) < 2 * len(argvs) + 1 or len(errors) < len(argvs):
        raise EnvironmentProblem(f"the host helper container's iptables did not run: {stderr.strip()}")
    return [
        subprocess.CompletedProcess(["iptables", *args], int(outputs[2 * i + 1]), outputs[2 * i], errors[i])
        for i, args in enumerate(argvs)
    ]


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
