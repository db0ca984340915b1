"""Phase 1 cost per resource: time a task start spends per SSM secret, Secrets Manager secret,
S3 environment file and awslogs container.

One warm ``Simulator`` on a world holding every resource; tasks that differ only in how many of one
kind they use run in interleaved rounds. Per kind the figure is (median of the task with N of that
kind - median of the baseline task) / N, for the phase 1 span (from the first execution-role step to
the last, RunTask role check included) and for the whole task (an awslogs container is also one
more container to run). Prints one JSON document.

Usage: python bench/bench_phase1.py [--rounds 5] [--count 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from typing import Any

from workload import taskdef, world

from simulator.api import Simulator


def _span(result: Any) -> float:
    entries = [e for e in result.to_json()["timeline"] if e["phase"] == "execution"]
    first = datetime.fromisoformat(entries[0]["startedAt"])
    last = datetime.fromisoformat(entries[-1]["stoppedAt"])
    return (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=8, help="resources of one kind in a measured task")
    args = parser.parse_args()
    n = args.count
    variants: dict[str, dict[str, Any]] = {
        "baseline": taskdef(),
        "ssm_secret": taskdef(parameters=n),
        "asm_secret": taskdef(secrets=n),
        "env_file": taskdef(env_files=n),
        "awslogs_container": taskdef(awslogs_containers=n),
    }
    phase1: dict[str, list[float]] = {kind: [] for kind in variants}
    total: dict[str, list[float]] = {kind: [] for kind in variants}
    with Simulator(world(parameters=n, secrets=n, env_files=n)) as sim:
        for definition in variants.values():  # warm-up, and a check that each variant succeeds
            result = sim.run_task(definition)
            if result.exit_code != 0:
                raise RuntimeError(f"task failed: {json.dumps(result.to_json())[:2000]}")
        for number in range(args.rounds):
            kinds = list(variants) if number % 2 == 0 else list(reversed(variants))
            for kind in kinds:
                started = time.perf_counter()
                result = sim.run_task(variants[kind])
                total[kind].append(time.perf_counter() - started)
                phase1[kind].append(_span(result))
    base1, base_total = statistics.median(phase1["baseline"]), statistics.median(total["baseline"])
    per_resource = {
        kind: {
            "phase1_ms_per_resource": round((statistics.median(phase1[kind]) - base1) * 1000 / n, 1),
            "task_ms_per_resource": round((statistics.median(total[kind]) - base_total) * 1000 / n, 1),
        }
        for kind in variants
        if kind != "baseline"
    }
    document = {
        "benchmark": "phase 1 cost per resource (warm simulator, medians)",
        "rounds": args.rounds,
        "resources_per_task": n,
        "baseline_ms": {"phase1": round(base1 * 1000, 1), "task": round(base_total * 1000, 1)},
        "per_resource": per_resource,
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
