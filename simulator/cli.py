"""`ecs-sim` command line: run, check, simulate.

Progress and container logs go to stderr, results to stdout; with ``--json`` stdout holds only the JSON
document. Colours only on a terminal (and never with NO_COLOR). Any ``EcsSimError`` becomes one red
line and its exit code; ``--debug`` keeps tracebacks.
"""

from __future__ import annotations

import atexit
import gc
import json
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from .errors import EXIT_USAGE, EcsSimError, InputError

EXIT_INTERRUPTED = 130
WORLD_ENV = "ECS_SIM_WORLD"


def _consoles() -> tuple[Console, Console]:
    # Rich honours NO_COLOR and turns colour off when the stream is not a terminal.
    return Console(emoji=False), Console(stderr=True, emoji=False)


def _fail(err: EcsSimError, debug: bool) -> NoReturn:
    if debug:
        raise err
    _, errors = _consoles()
    errors.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
    sys.exit(err.exit_code)


def _print_document(document: Any) -> None:
    """--json: the document alone on stdout, unwrapped and uncoloured, whatever the terminal."""
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def _sigterm_as_interrupt() -> None:
    # SIGTERM stops a run the same way Ctrl-C does: task stopped, everything removed.
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def resolve_task_inputs(taskdef: str, world: str | None) -> tuple[Path, Path | None]:
    """TASKDEF may be a sample task folder holding taskdef.json (and world.yaml)."""
    path = Path(taskdef)
    if path.is_dir():
        candidate = path / "taskdef.json"
        if not candidate.is_file():
            raise InputError(f"folder {path} has no taskdef.json", where=str(path))
        if world is None:
            for name in ("world.yaml", "world.yml", "world.json"):
                if (path / name).is_file():
                    world = str(path / name)
                    break
        path = candidate
    elif not path.is_file():
        raise InputError("no such file", where=str(path))
    if world is not None and not Path(world).is_file():
        raise InputError("no such world file", where=world)
    return path, Path(world) if world else None


def _parse_override(values: tuple[str, ...]) -> dict[str, Any]:
    """--override takes RunTask `overrides` JSON, inline or @file; several are merged."""
    merged: dict[str, Any] = {}
    for value in values:
        text = Path(value[1:]).read_text() if value.startswith("@") else value
        try:
            document = json.loads(text)
        except ValueError as err:
            raise InputError(f"--override is not JSON: {err}", where=value[:60]) from err
        if not isinstance(document, dict):
            raise InputError("--override must be a JSON object (RunTask overrides)", where=value[:60])
        merged.update(document)
    return merged


class _Group(click.Group):
    """Usage errors exit 64 (EX_USAGE) as SPEC.md says, not click's 2 (which means "failed to start")."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        # Exit runs after every task is stopped and everything is removed (atexit comes after the
        # threads are joined): the interpreter's collections while it unloads the modules need not search
        # the ~175k objects a run leaves for cycles, which took 0.6 s of a 3.5 s `ecs-sim run`.
        atexit.register(gc.freeze)
        try:
            return super().main(*args, **kwargs)
        except click.UsageError as error:
            error.show()
            sys.exit(EXIT_USAGE)
        except click.ClickException as error:
            error.show()
            sys.exit(EXIT_USAGE)
        except (KeyboardInterrupt, click.Abort):
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecs-sim")
def main() -> None:
    """Run Amazon ECS task definitions locally, with the task execution role and the task role enforced."""


def _backend_options(command: Any) -> Any:
    """--backend and --endpoint-url, shared by the commands that start a backend."""
    command = click.option(
        "--endpoint-url", envvar="ECS_SIM_BACKEND_URL", help="Backend endpoint URL (localstack/url)."
    )(command)
    return click.option(
        "--backend",
        type=click.Choice(["moto", "localstack", "url"]),
        envvar="ECS_SIM_BACKEND",
        help="AWS backend (default: embedded moto).",
    )(command)


_aws_hostnames_option = click.option(
    "--aws-hostnames",
    is_flag=True,
    envvar="ECS_SIM_AWS_HOSTNAMES",
    help="Containers reach the simulator at the real AWS host names (DNS + TLS with a generated CA) "
    "and get no AWS_ENDPOINT_URL: for SDKs and code that ignore it.",
)

_launch_type_option = click.option(
    "--launch-type",
    type=click.Choice(["FARGATE", "EC2"], case_sensitive=False),
    default="FARGATE",
    envvar="ECS_SIM_LAUNCH_TYPE",
    show_default=True,
    help="Whose failure wording to use (Fargate platform or EC2 agent).",
)


@main.command()
@click.argument("taskdef")
@click.option(
    "--world", envvar=WORLD_ENV, help="World file (YAML/JSON). Default: world.yaml beside a sample task."
)
@click.option("--override", "overrides", multiple=True, help="RunTask overrides JSON (or @file).")
@click.option(
    "--service",
    metavar="NAME",
    help="Run the task as service NAME's scheduler starts it, not as RunTask does: group service:NAME, "
    "startedBy, ServiceName in the task metadata, scale-in protection allowed (a standalone task gets "
    "TASK_NOT_VALID), and an UNHEALTHY essential container stops it.",
)
@_launch_type_option
@_backend_options
@_aws_hostnames_option
@click.option(
    "--policies",
    is_flag=True,
    help="Also print, per role, the least-privilege policy for what the run used (always in --json).",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the result document on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or container logs.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def run(
    taskdef: str,
    world: str | None,
    overrides: tuple[str, ...],
    service: str | None,
    launch_type: str,
    backend: str | None,
    endpoint_url: str | None,
    aws_hostnames: bool,
    policies: bool,
    as_json: bool,
    quiet: bool,
    debug: bool,
) -> None:
    """Run TASKDEF (a task definition JSON file, or a sample task folder) end to end."""
    from .api import Simulator
    from .backend import make_backend
    from .report import ProgressPrinter, print_policies, print_result
    from .taskdef import apply_overrides, load_taskdef
    from .world import load_world, world_from_dict

    out, err = _consoles()
    _sigterm_as_interrupt()
    try:
        taskdef_path, world_path = resolve_task_inputs(taskdef, world)
        # Every input is checked before anything starts: bad input costs nothing and leaves nothing behind.
        definition = apply_overrides(load_taskdef(taskdef_path), _parse_override(overrides))
        the_world = load_world(world_path) if world_path else world_from_dict({}, source="<default world>")
        the_backend = make_backend(backend, endpoint_url, region=the_world.region, account=the_world.account)
        progress = ProgressPrinter(err, quiet=quiet)
        with Simulator(
            the_world, backend=the_backend, launch_type=launch_type, aws_hostnames=aws_hostnames
        ) as sim:
            progress.started(sim)
            run_ = sim.start_task(
                definition, log_sink=progress.log_line, on_event=progress.event, service=service
            )
            try:
                result = run_.wait()
            except KeyboardInterrupt:
                err.print("[yellow]interrupted: stopping the task (UserInitiated)[/]")
                result = run_.result
                result.interrupted = True
    except EcsSimError as error:
        _fail(error, debug)
    if as_json:
        _print_document(result.to_json())
    else:
        print_result(out, result)
        if policies:
            print_policies(out, result.least_privilege_policies(), "what this run used")
    sys.exit(EXIT_INTERRUPTED if result.interrupted else result.exit_code)


def _simulator_without_docker(world: str | None, launch_type: str = "FARGATE") -> Any:
    from .api import Simulator
    from .world import load_world, world_from_dict

    the_world = load_world(world) if world else world_from_dict({}, source="<default world>")
    return Simulator(the_world, launch_type=launch_type, docker=False)


@main.command()
@click.argument("taskdef")
@click.option("--world", envvar=WORLD_ENV, help="World file. Default: world.yaml beside a sample task.")
@click.option(
    "--task-role-actions",
    "runtime_actions",
    multiple=True,
    help="ACTION=RESOURCE_ARN the application calls at runtime (or @file with one per line).",
)
@_launch_type_option
@click.option("--json", "as_json", is_flag=True, help="Print only the report document on stdout.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def check(
    taskdef: str,
    world: str | None,
    runtime_actions: tuple[str, ...],
    launch_type: str,
    as_json: bool,
    debug: bool,
) -> None:
    """List every permission task start needs for TASKDEF, per role, and whether the world grants it.
    No containers run. Exit 0 when task start would succeed, 2 when it would fail."""
    from .check import check_task, parse_runtime_actions
    from .report import print_check
    from .taskdef import load_taskdef

    out, _ = _consoles()
    try:
        taskdef_path, world_path = resolve_task_inputs(taskdef, world)
        lines: list[str] = []
        for value in runtime_actions:
            lines += Path(value[1:]).read_text().split() if value.startswith("@") else [value]
        with _simulator_without_docker(str(world_path) if world_path else None, launch_type) as sim:
            report = check_task(sim, load_taskdef(taskdef_path), parse_runtime_actions(lines))
    except EcsSimError as error:
        _fail(error, debug)
    if as_json:
        _print_document(report.to_json())
    else:
        print_check(out, report)
    sys.exit(report.exit_code)


@main.command()
@click.option("--world", envvar=WORLD_ENV, help="World file (YAML/JSON).")
@click.option("--role", required=True, help="Role name or ARN whose session makes the call.")
@click.option("--action", required=True, help="IAM action, e.g. secretsmanager:GetSecretValue.")
@click.option("--resource", required=True, help="Resource ARN (or *).")
@click.option("--context", "context_pairs", multiple=True, help="Context key=value (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def explain(
    world: str | None,
    role: str,
    action: str,
    resource: str,
    context_pairs: tuple[str, ...],
    as_json: bool,
    debug: bool,
) -> None:
    """Show one decision of the world's policies with its full evaluation trace."""
    from .task_runner import role_arn_for

    out, _ = _consoles()
    try:
        context: dict[str, Any] = {}
        for pair in context_pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise InputError(f"expected key=value, got {pair!r}", where="--context")
            context.setdefault(key, []).append(value)
        with _simulator_without_docker(world) as sim:
            role_arn = role_arn_for(role, sim.world.account)
            principal = sim.role_principal(role_arn, "ecs-sim-explain")
            if role.rsplit("/", 1)[-1] not in sim.world.roles:
                raise InputError(f"no role {role!r} in the world", where="--role")
            flat = {k: v[0] if len(v) == 1 else v for k, v in context.items()}
            decision = sim.authorize(principal, action, resource, flat)
    except EcsSimError as error:
        _fail(error, debug)
    document = {
        "principal": principal.arn,
        "action": action,
        "resource": resource,
        "decision": decision.effect,
        "blockedBy": decision.blocked_by.value if decision.blocked_by else None,
        "statements": [s.label() for s in decision.statements],
        "explanation": decision.explanation,
        "trace": list(decision.trace),
    }
    if as_json:
        _print_document(document)
    else:
        out.print(f"[bold]{decision.effect}[/]: {escape(decision.explanation)}", highlight=False)
        for line in decision.trace:
            out.print(f"  {escape(line)}", highlight=False)
    sys.exit(0 if decision.allowed else 1)


@main.command()
@click.argument("request", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def simulate(request: str, as_json: bool, debug: bool) -> None:
    """Evaluate REQUEST.json (one IAM request or an array of them) offline, like simulate-custom-policy."""
    from .iam.simulate import simulate as run_simulation

    out, _ = _consoles()
    try:
        path = Path(request)
        if not path.is_file():
            raise InputError("no such file", where=request)
        try:
            document = json.loads(path.read_text())
        except ValueError as error:
            raise InputError(f"not valid JSON: {error}", where=request) from error
        results = run_simulation(document, source=request)
    except EcsSimError as error:
        _fail(error, debug)
    if as_json:
        _print_document([r.to_json() for r in results])
    else:
        for result in results:
            out.print(escape(result.render_text()), highlight=False)
    sys.exit(0 if all(r.to_json()["decision"] == "Allow" for r in results) else 1)


@main.command(context_settings={"allow_interspersed_args": False})
@click.option("--world", envvar=WORLD_ENV, required=True, help="World file (YAML/JSON).")
@click.option("--task-role", required=True, help="Role (name or ARN) whose credentials containers get.")
@click.option(
    "--execution-role", help="The task's execution role: checked like RunTask does, and named in diagnoses."
)
@_backend_options
@click.option(
    "--network-name",
    envvar="ECS_SIM_NETWORK",
    default="ecs-sim-serve",
    show_default=True,
    help="Docker network containers join (compose: `external: true`).",
)
@click.option("--port", type=int, default=0, help="Loopback port for host processes and /health (0: any).")
@_aws_hostnames_option
@click.option(
    "--policies",
    is_flag=True,
    help="At exit, print the least-privilege policy for what the containers asked of the task role.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    help="Write the container variables here once ready (removed at shutdown).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def serve(
    world: str,
    task_role: str,
    execution_role: str | None,
    backend: str | None,
    endpoint_url: str | None,
    network_name: str,
    port: int,
    aws_hostnames: bool,
    policies: bool,
    env_file: str | None,
    debug: bool,
    command: tuple[str, ...],
) -> None:
    """Serve task-role credentials (169.254.170.2) and the authorizing gateway to containers on a Docker
    network until Ctrl-C/SIGTERM, or, with `-- COMMAND ...`, while COMMAND runs (exit code: COMMAND's)."""
    from .serve import run_service

    out, err = _consoles()
    _sigterm_as_interrupt()
    try:
        if not Path(world).is_file():
            raise InputError("no such world file", where=world)
        code = run_service(
            out,
            err,
            world=Path(world),
            task_role=task_role,
            execution_role=execution_role,
            backend=backend,
            endpoint_url=endpoint_url,
            network_name=network_name,
            port=port,
            env_file=Path(env_file) if env_file else None,
            command=list(command),
            aws_hostnames=aws_hostnames,
            policies=policies,
        )
    except EcsSimError as error:
        _fail(error, debug)
    sys.exit(code)


@main.command()
@click.argument("taskdef")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the compose file here (default: stdout)."
)
@_aws_hostnames_option
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def compose(taskdef: str, output: str | None, aws_hostnames: bool, debug: bool) -> None:
    """Derive a docker compose project from TASKDEF whose services get the task role from `ecs-sim serve`.
    What compose cannot express (secrets, environment files, log routing) is listed on stderr."""
    from .compose import compose_project, run_hint
    from .taskdef import load_taskdef

    _, err = _consoles()
    try:
        taskdef_path, _world = resolve_task_inputs(taskdef, None)
        definition = load_taskdef(taskdef_path)
        project = compose_project(definition, aws_hostnames=aws_hostnames)
    except EcsSimError as error:
        _fail(error, debug)
    text = project.to_yaml(run_hint(definition, output or "docker-compose.yml", aws_hostnames=aws_hostnames))
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    for note in project.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
