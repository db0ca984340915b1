"""The host's iptables, run here or by the host helper container: capability check, batching, results."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from simulator.docker import iptables
from simulator.docker.host_helper import CAP_NET_ADMIN, has_capability
from simulator.docker.iptables import split_outputs
from simulator.errors import EnvironmentProblem

MARK = "@@ecs-sim-exit"


@pytest.mark.parametrize(
    ("effective", "expected"),
    [
        ("000001ffffffffff", True),
        ("0000000000001000", True),
        ("0000000000000000", False),
        ("00000000a80425fb", False),
    ],
)
def test_cap_net_admin_is_read_from_the_effective_set(tmp_path: Path, effective: str, expected: bool) -> None:
    status = tmp_path / "status"
    status.write_text(
        f"Name:\tpython3\nCapInh:\t0000000000000000\nCapEff:\t{effective}\nCapBnd:\t000001ffffffffff\n"
    )
    assert has_capability(CAP_NET_ADMIN, str(status)) is expected


def test_the_helper_output_is_cut_into_one_result_per_command() -> None:
    commands = [
        ["-w", "-t", "nat", "-S", "PREROUTING"],
        ["-w", "-t", "filter", "-D", "INPUT", "-j", "ACCEPT"],
    ]
    stdout = f"-P PREROUTING ACCEPT\n-A PREROUTING -j DOCKER\n{MARK} 0\n\n{MARK} 1\n"
    stderr = f"\n{MARK}\niptables: Bad rule (does a matching rule exist in that chain?).\n{MARK}\n"
    listing, deletion = split_outputs(commands, stdout, stderr)
    assert listing.returncode == 0 and listing.stdout.splitlines() == [
        "-P PREROUTING ACCEPT",
        "-A PREROUTING -j DOCKER",
    ]
    assert listing.args == ["iptables", *commands[0]] and listing.stderr == ""
    assert deletion.returncode == 1 and deletion.stdout == ""
    assert deletion.stderr == "iptables: Bad rule (does a matching rule exist in that chain?)."


def test_a_helper_whose_shell_did_not_run_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem, match="chroot: can't execute '/bin/sh'"):
        split_outputs([["-S"]], "", "chroot: can't execute '/bin/sh': No such file or directory\n")


class RecordingRunner:
    """Stands in for the host's iptables: answers each batch from ``answer``, records the batches."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.batches: list[list[list[str]]] = []

    def __call__(self, argvs: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
        self.batches.append([list(args) for args in argvs])
        return [subprocess.CompletedProcess(args, *self.answer(list(args))) for args in argvs]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch):
    def install(answer) -> RecordingRunner:
        recording = RecordingRunner(answer)
        monkeypatch.setattr(iptables, "has_capability", lambda bit: True)
        monkeypatch.setattr(iptables, "_run_here", recording)
        return recording

    return install


RULES = iptables.forward_rules("ecs-sim-abc", "169.254.171.0/24", "169.254.170.2", 80, "169.254.171.1", 40000)


def test_a_forward_is_added_in_one_batch(runner) -> None:
    recording = runner(lambda args: (0, "", ""))
    iptables.add(RULES)
    [batch] = recording.batches
    assert [args[:5] for args in batch] == [
        ["-w", "-t", "nat", "-I", "PREROUTING"],
        ["-w", "-t", "filter", "-I", "INPUT"],
    ]


def test_adding_names_the_network_and_iptables_reason(runner) -> None:
    runner(lambda args: (4, "", "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id"))
    with pytest.raises(
        EnvironmentProblem, match=re.escape("adding a forward for ecs-sim-abc: iptables v1.8.9")
    ):
        iptables.add(RULES)


def test_deleting_reports_only_the_rules_it_removed(runner) -> None:
    # The nat rule was removed by someone else first: -D fails, and -C finds it gone.
    recording = runner(
        lambda args: (1, "", "Bad rule") if args[2] == "nat" and args[3] in ("-D", "-C") else (0, "", "")
    )
    assert iptables.delete(RULES) == [RULES[1]]
    deletions, checks = recording.batches
    assert [args[3] for args in deletions] == ["-D", "-D"] and [args[3] for args in checks] == ["-C"]


def test_a_rule_that_cannot_be_deleted_but_is_still_there_is_an_error(runner) -> None:
    runner(lambda args: (1, "", "Permission denied") if args[3] == "-D" else (0, "", ""))
    with pytest.raises(EnvironmentProblem, match="removing a forward of ecs-sim-abc: Permission denied"):
        iptables.delete(RULES)


def test_listing_reads_both_chains_in_one_batch(runner) -> None:
    lines = {
        "nat": '-P PREROUTING ACCEPT\n-A PREROUTING -s 169.254.171.0/24 -m comment --comment "ecs-sim:ecs-sim-abc" -j DNAT',
        "filter": '-P INPUT ACCEPT\n-A INPUT -m comment --comment "not ours" -j ACCEPT',
    }
    recording = runner(lambda args: (0, lines[args[2]], ""))
    [rule] = iptables.list_owned()
    assert (rule.table, rule.chain, rule.network_name) == ("nat", "PREROUTING", "ecs-sim-abc")
    assert len(recording.batches) == 1


class ShellHelper:
    """Runs the helper's script with this machine's sh, ``iptables`` being a shell function that
    echoes how many arguments it got and them, and fails for the chain FAIL."""

    def __init__(self) -> None:
        self.scripts: list[str] = []

    def run(self, script: str) -> tuple[int, str, str]:
        self.scripts.append(script)
        fake = 'iptables() { case "$*" in *FAIL*) echo "no chain FAIL" >&2; return 2;; esac; echo "ran $# $*"; }\n'
        done = subprocess.run(["sh", "-c", fake + script], capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


def test_without_cap_net_admin_a_batch_is_one_helper_script(monkeypatch: pytest.MonkeyPatch) -> None:
    helper = ShellHelper()
    monkeypatch.setattr(iptables, "has_capability", lambda bit: False)
    monkeypatch.setattr(iptables, "shared_helper", lambda: helper)
    listing, failing, quoted = iptables._iptables(
        ("nat", ["-S", "PREROUTING"]),
        ("filter", ["-S", "FAIL"]),
        ("nat", ["-m", "comment", "--comment", "a b'c"]),
    )
    assert len(helper.scripts) == 1
    assert (listing.returncode, listing.stdout, listing.stderr) == (0, "ran 5 -w -t nat -S PREROUTING\n", "")
    assert (failing.returncode, failing.stdout, failing.stderr) == (2, "", "no chain FAIL\n")
    assert quoted.stdout == "ran 7 -w -t nat -m comment --comment a b'c\n"  # the comment one argument


def test_with_cap_net_admin_iptables_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iptables, "has_capability", lambda bit: True)
    monkeypatch.setattr(iptables.shutil, "which", lambda name: None)
    monkeypatch.setattr(iptables, "shared_helper", lambda: pytest.fail("the helper was asked"))
    with pytest.raises(EnvironmentProblem, match="iptables is not installed"):
        iptables.list_owned()
