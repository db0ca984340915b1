"""Run every benchmark in bench/ one after another and print one combined JSON document.

Each benchmark is its own process (as a user would run it) and prints one JSON document; this adds a
``summary`` of the headline figures against their targets, the machine, and each benchmark's wall
time. ``--quick`` uses fewer rounds (a smoke run, not figures to publish).

Usage: python bench/run_all.py [--quick] [--only task_start,scale,...] > bench-results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (script, full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "task_start": ("bench_task_start.py", [], ["--rounds", "3", "--cli-runs", "1", "--profile-top", "5"]),
    "phase1": ("bench_phase1.py", [], ["--rounds", "2", "--count", "4"]),
    "scale": ("bench_scale.py", [], ["--rounds", "1"]),
    "gateway": ("bench_gateway.py", [], ["--runs", "3", "--calls", "100"]),
    "aws_hostnames": ("bench_aws_hostnames.py", [], ["--runs", "2", "--calls", "100"]),
    "iam": ("bench_iam.py", [], []),
    "credentials": ("bench_credentials.py", [], ["--requests", "500", "--rounds", "2"]),
    "not_root": ("bench_not_root.py", [], ["--rounds", "2", "--listings", "5"]),
}
TIMEOUT_SECONDS = 1200


def _run(script: str, arguments: list[str]) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / script), *arguments],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        cwd=HERE.parent,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}", "stderr": done.stderr[-3000:]}, elapsed
    return json.loads(done.stdout), elapsed


def _get(document: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _summary(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline figures, each with its target (None where the benchmark did not run)."""
    gateway = _get(results, "gateway", "results") or {}
    return {
        "task_start_ratio_vs_docker_run": {
            "value": _get(results, "task_start", "ratio_vs_docker_cli"),
            "target": "<= 1.15",
        },
        "task_start_simulator_ms": _get(results, "task_start", "median_ms", "simulator"),
        "task_start_docker_run_ms": _get(results, "task_start", "median_ms", "docker_cli"),
        "cold_cli_ms": _get(results, "task_start", "cold_cli_ms"),
        "phase1_ms_per_resource": {
            kind: figures.get("phase1_ms_per_resource")
            for kind, figures in (_get(results, "phase1", "per_resource") or {}).items()
        },
        "gateway_p50_ratio": {
            "value": {operation: figures.get("ratio_p50") for operation, figures in gateway.items()},
            "target": "<= 1.15",
        },
        "aws_hostname_tls_vs_endpoint_url_p50_ratio": _get(results, "aws_hostnames", "ratio_p50_tls_vs_http"),
        "iam_decisions_per_s": {"value": _get(results, "iam", "decisions_per_second"), "target": ">= 50000"},
        "credentials_requests_per_s_ratio": {
            "value": _get(results, "credentials", "new_connection", "ratio_requests_per_s"),
            "keep_alive": _get(results, "credentials", "keep_alive", "ratio_requests_per_s"),
            "target": ">= 0.8",
        },
        "credentials_p99_ms": _get(results, "credentials", "new_connection", "endpoint", "p99_ms"),
        "docker_group_member_extra_ms": _get(results, "not_root", "extra_ms"),
        "scale_wall_ratio": {
            "value": _get(results, "scale", "wall_ratio"),
            "docker_floor": _get(results, "scale", "docker_floor", "wall_ratio"),
            "target": "<= 4",
        },
        "scale_failures": _get(results, "scale", "failures"),
        "scale_rss_per_task_kib": _get(results, "scale", "rss_per_task_kib"),
        "scale_rss_per_running_task_kib": _get(results, "scale", "rss_per_running_task_kib"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a smoke run")
    parser.add_argument("--only", help="comma-separated names: " + ",".join(BENCHMARKS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    results: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    for name in names:
        script, full, quick = BENCHMARKS[name]
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results[name], seconds[name] = _run(script, quick if args.quick else full)
    document = {
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "quick": args.quick,
        "summary": _summary(results),
        "seconds": {name: round(value, 1) for name, value in seconds.items()},
        "results": results,
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
