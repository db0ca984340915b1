"""Task start: a one-container task through the Python API (warm ``Simulator``) vs ``docker run --rm``.

The task is busybox ``true`` with an execution role and a task role, so both phases run with every
check (RunTask trust, image, task-role session, credentials endpoint registration). It borrows the
network namespace a finished task handed back, as every awsvpc task does; the same task publishing a
TCP port (forwarded from loopback), and publishing a UDP port (a namespace made for it, the cost every
task had before namespaces were kept) are measured too. Rounds alternate the kinds so load drift on the machine hits all alike; figures are
medians. The Docker floor is the
docker CLI (``docker run --rm IMAGE true`` via subprocess with an argument list) and, for reference,
the SDK's low-level create/start/wait/remove, and the CLI with the options the simulator gives the
container (a namespace held by a sleeping container on the task network, the Fargate task size as cpu
and memory limits): what Docker itself costs for the container as a task runs it. Also: the cold CLI (``ecs-sim run``, a new process that
starts moto, the gateway and the task network), the median duration of every timeline step, and a
cProfile of one task's thread (the worst functions by cumulative time).

Usage: python bench/bench_task_start.py [--rounds 9] [--cli-runs 3] [--profile-top 15]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import yaml
from workload import IMAGE, median_ms, taskdef, world

from simulator.api import Simulator
from simulator.task_runner import TaskRun
from simulator.taskdef import load_taskdef


def _docker_cli(*options: str) -> float:
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", *options, IMAGE, "true"], check=True, capture_output=True)
    return time.perf_counter() - started


def _docker_sdk(api: docker.APIClient) -> float:
    started = time.perf_counter()
    container = api.create_container(IMAGE, ["true"])["Id"]
    api.start(container)
    api.wait(container)
    api.remove_container(container, v=True, force=True)
    return time.perf_counter() - started


def _seconds(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0


def _simulator(sim: Simulator, definition: dict[str, Any], steps: dict[str, list[float]]) -> float:
    started = time.perf_counter()
    result = sim.run_task(definition)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(f"task failed: {json.dumps(result.to_json())[:2000]}")
    timeline = result.to_json()["timeline"]
    for entry in timeline:
        steps.setdefault(entry["step"], []).append(
            _seconds(entry["stoppedAt"]) - _seconds(entry["startedAt"])
        )
    # Time outside every step: task thread start, planning, building specs, _finish (denials, revoke).
    inside = sum(_seconds(e["stoppedAt"]) - _seconds(e["startedAt"]) for e in timeline)
    steps.setdefault("(outside the timeline steps)", []).append(elapsed - inside)
    return elapsed


def _ecs_sim() -> str:
    found = shutil.which("ecs-sim")
    if found is None:
        raise SystemExit("ecs-sim is not on PATH: pip install -e .")
    return found


def _cold_cli(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="ecs-sim-bench-") as folder:
        (Path(folder) / "taskdef.json").write_text(json.dumps(taskdef()))
        (Path(folder) / "world.yaml").write_text(yaml.safe_dump(world()))
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [_ecs_sim(), "run", folder, "--quiet", "--json"],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - started)
    return times


def _profile(sim: Simulator, definition: dict[str, Any], top: int) -> dict[str, list[dict[str, Any]]]:
    """cProfile of one task's body, run on this thread (the profiler sees only its own thread; the
    container waiter and log threads are not in it, their time shows as the coordinator's waiting).
    Two views: the simulator's own functions by cumulative time (where the wall time goes), and every
    function by own time, blocking waits left out (where the CPU goes)."""
    run = TaskRun(sim, load_taskdef(definition))
    profiler = cProfile.Profile()
    profiler.runcall(run._run)
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = Path(filename)
        package = "simulator" if "simulator" in where.parts else (where.parent.name or "~")
        rows.append(
            {
                "function": f"{package}/{where.name}:{line}({function})",
                "calls": calls,
                "own_ms": round(own * 1000, 1),
                "cumulative_ms": round(cumulative * 1000, 1),
            }
        )
    waits = ("acquire", "recv_into", "select", "poll", "sleep")
    return {
        "simulator_by_cumulative": sorted(
            (r for r in rows if r["function"].startswith("simulator/")),
            key=lambda r: r["cumulative_ms"],
            reverse=True,
        )[:top],
        "all_by_own_time": sorted(
            (r for r in rows if not any(w in r["function"] for w in waits)),
            key=lambda r: r["own_ms"],
            reverse=True,
        )[:top],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--profile-top", type=int, default=15)
    args = parser.parse_args()

    definition = taskdef()
    # Every awsvpc task borrows a network namespace a finished task handed back (docker/sandboxes.py),
    # its TCP ports forwarded from loopback; one that publishes a UDP port gets one made for it.
    publishing = taskdef()
    publishing["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80}]
    own_namespace = taskdef()
    own_namespace["containerDefinitions"][0]["portMappings"] = [{"containerPort": 53, "protocol": "udp"}]
    api = docker.from_env().api
    times: dict[str, list[float]] = {
        "simulator": [],
        "simulator_published_port": [],
        "simulator_own_namespace": [],
        "docker_cli": [],
        "docker_sdk": [],
        "docker_cli_same_options": [],
    }
    steps: dict[str, list[float]] = {}
    started = time.perf_counter()
    with Simulator(world()) as sim:
        simulator_start = time.perf_counter() - started
        _simulator(sim, definition, {})  # warm-up: botocore models, first connections
        _docker_cli()
        assert sim.network is not None
        # The container as the simulator runs it: in a namespace held by a sleeping container on the
        # task network, with the Fargate task size as its limits (cpu 256 = 0.25 vCPU, memory 512 MiB).
        holder = api.create_container(
            IMAGE, ["sleep", "3600"], host_config=api.create_host_config(network_mode=sim.network.name)
        )["Id"]
        api.start(holder)
        same_options = (
            *("--network", f"container:{holder}"),
            *("--cpus", str(int(definition["cpu"]) / 1024), "--memory", f"{definition['memory']}m"),
        )
        measure = {
            "simulator": lambda: _simulator(sim, definition, steps),
            "simulator_published_port": lambda: _simulator(sim, publishing, {}),
            "simulator_own_namespace": lambda: _simulator(sim, own_namespace, {}),
            "docker_cli": _docker_cli,
            "docker_sdk": lambda: _docker_sdk(api),
            "docker_cli_same_options": lambda: _docker_cli(*same_options),
        }
        for number in range(args.rounds):
            order = list(measure)
            for kind in order if number % 2 == 0 else reversed(order):
                times[kind].append(measure[kind]())
        profile = _profile(sim, definition, args.profile_top) if args.profile_top else []
        api.remove_container(holder, force=True)
    cold = _cold_cli(args.cli_runs) if args.cli_runs else []
    medians = {kind: median_ms(values) for kind, values in times.items()}
    document = {
        "benchmark": "one-container task (busybox true, both roles) vs docker run --rm",
        "rounds": args.rounds,
        "median_ms": medians,
        "ratio_vs_docker_cli": round(medians["simulator"] / medians["docker_cli"], 3),
        "ratio_vs_docker_sdk": round(medians["simulator"] / medians["docker_sdk"], 3),
        "ratio_vs_docker_cli_same_options": round(
            medians["simulator"] / medians["docker_cli_same_options"], 3
        ),
        "ratio_published_port_vs_docker_cli": round(
            medians["simulator_published_port"] / medians["docker_cli"], 3
        ),
        "ratio_own_namespace_vs_docker_cli": round(
            medians["simulator_own_namespace"] / medians["docker_cli"], 3
        ),
        "target_ratio": 1.15,
        "simulator_start_ms": round(simulator_start * 1000, 1),
        "cold_cli_ms": median_ms(cold) if cold else None,
        "cold_cli_runs": len(cold),
        "steps_median_ms": {step: median_ms(values) for step, values in steps.items()},
        "profile": profile,
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
