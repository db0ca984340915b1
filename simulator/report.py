"""What a person sees: the phases as they happen, container logs, the describe-tasks summary and the
diagnosis of every denial."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from .check import CheckReport
from .diagnosis import PHASE_EXECUTION, Denial
from .ecs.task_record import TaskRecord
from .result import TaskResult

_STATUS_STYLE = {"ok": "green", "failed": "bold red", "started": "cyan"}
_PHASE_TITLE = {PHASE_EXECUTION: "task start (execution role)", "runtime": "runtime (task role)"}


class ProgressPrinter:
    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self._console = console
        self._quiet = quiet
        self._container_status: dict[str, str] = {}

    def started(self, sim: Any) -> None:
        if not self._quiet:
            self._console.print(
                f"[dim]ecs-sim: backend {escape(repr(sim.backend))}, task network {sim.network.name} "
                f"({sim.network.subnet}), credentials endpoint 169.254.170.2[/]",
                highlight=False,
            )

    def event(self, kind: str, payload: Any) -> None:
        if self._quiet:
            return
        if kind == "step":
            unit, status, role_arn = payload
            if status == "started":
                return
            where = f" \\[{escape(unit.container)}]" if unit.container else ""
            calls = ", ".join(f"{c.service}:{c.operation}" for c in unit.calls())
            who = f" as {escape(role_arn.rsplit('/', 1)[-1])}" if calls and role_arn else ""
            style = _STATUS_STYLE.get(status, "white")
            self._console.print(
                f"  [bold]1 task start[/] {unit.kind}{where}: {escape(calls or 'local')}{who} [{style}]{status}[/]",
                highlight=False,
            )
        elif kind == "status":
            self._console.print(f"  task [bold]{payload}[/]", highlight=False)
        elif kind == "containers":
            task: TaskRecord = payload
            for container in task.containers:
                state = container.last_status.value + (
                    f" exit {container.exit_code}" if container.exit_code is not None else ""
                )
                if self._container_status.get(container.name) != state:
                    self._container_status[container.name] = state
                    self._console.print(
                        f"  [bold]2 runtime[/] {escape(container.name)}: {state}", highlight=False
                    )

    def log_line(self, container: str, line: str) -> None:
        if not self._quiet:
            self._console.print(f"[magenta]{escape(container)}[/] | {escape(line)}", highlight=False)


def print_result(console: Console, result: TaskResult) -> None:
    task = result.task.to_json()
    table = Table(title=f"task {result.task.task_id}", show_header=True, header_style="bold")
    for column in ("container", "lastStatus", "exitCode", "health", "reason"):
        table.add_column(column)
    for container in task["containers"]:
        table.add_row(
            container["name"],
            container["lastStatus"],
            str(container.get("exitCode", "")),
            container.get("healthStatus", ""),
            escape(container.get("reason", "")),
        )
    console.print(table)
    console.print(f"lastStatus: {task['lastStatus']}  stopCode: {task.get('stopCode', '-')}", highlight=False)
    if task.get("stoppedReason"):
        console.print(f"stoppedReason: {escape(task['stoppedReason'])}", highlight=False)
    for denial in result.denials:
        print_denial(console, denial)


def print_policies(console: Console, policies: Mapping[str, Mapping[str, Any]], what: str) -> None:
    """Per role ARN, its least-privilege policy (``run --policies``, ``serve --policies``); ``what``: whose
    use it covers."""
    for role_arn, policy in policies.items():
        console.print(f"[bold cyan]least privilege for {escape(role_arn)}[/] ({what}):")
        # unwrapped, so that it pastes as JSON
        console.print(escape(json.dumps(policy, indent=2)), soft_wrap=True, highlight=False)


def print_denial(console: Console, denial: Denial) -> None:
    blocked = f" ({denial.decision.blocked_by.value} policy)" if denial.decision.blocked_by else ""
    body = [
        f"[bold]{escape(denial.action)}[/] on {escape(denial.resource)}",
        f"phase: {_PHASE_TITLE.get(denial.phase, denial.phase)}, role: {escape(denial.role_arn)}",
        f"decision: {denial.decision.effect}{blocked}",
        "",
        escape(denial.diagnosis),
    ]
    if denial.fix:
        body += ["", "smallest fix:", escape(json.dumps(denial.fix, indent=2))]
    console.print(Panel("\n".join(body), title="AccessDenied: which role needs what", border_style="red"))


def print_check(console: Console, report: CheckReport) -> None:
    """A table per role: each permission task start (and the app, if given) needs, allowed or denied."""
    if report.run_task_error:
        console.print(f"[bold red]RunTask would fail:[/] {escape(report.run_task_error)}", highlight=False)
    if report.start_failure:
        console.print(f"[bold red]Task start would fail:[/] {escape(report.start_failure)}", highlight=False)
    by_role: dict[str, list[Any]] = {}
    for requirement in report.requirements:
        by_role.setdefault(requirement.role_arn, []).append(requirement)
    for role_arn, requirements in by_role.items():
        table = Table(title=f"{escape(role_arn)}", header_style="bold")
        for column in ("phase", "step", "action", "resource", "allowed"):
            table.add_column(column)
        for r in requirements:
            verdict = "[green]yes[/]" if r.allowed else "[bold red]DENIED[/]"
            step = r.step + (f" ({r.container})" if r.container else "")
            table.add_row(
                _PHASE_TITLE.get(r.phase, r.phase),
                escape(step),
                escape(r.action),
                escape(r.resource),
                verdict,
            )
        console.print(table)
    for denial in report.denials:
        print_denial(console, denial)
    console.print(
        "task start would " + ("[bold red]FAIL[/]" if report.phase_one_fails else "[green]succeed[/]")
    )
