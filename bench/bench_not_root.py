"""A simulator run by root vs by a docker group member (the host helper container makes its NAT rules
and hands it its task cgroup folder), side by side.

Each round starts two fresh processes, one as root and one as ``nobody`` in the docker group (setpriv,
keeping only CAP_DAC_READ_SEARCH to read Python and this checkout), alternating which goes first. Each
times ``Simulator`` start, two one-container tasks (busybox ``true``, task cpu/memory, so a task cgroup;
the first task of the docker group member's waits for the hand-over), the stop, and ``--listings`` NAT
rule listings (one batch each). Prints one JSON document with the medians per user and their ratios.

Usage: python bench/bench_not_root.py [--rounds 5] [--listings 20]
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent(
    """
    import json, statistics, sys, time
    from simulator import Simulator
    from simulator.docker import iptables
    definition = {
        "family": "bench-not-root", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "ecs-sim/busybox:latest", "command": ["true"]}],
    }
    times = {}
    started = time.perf_counter()
    with Simulator() as sim:
        times["start_ms"] = time.perf_counter() - started
        for name in ("first_task_ms", "second_task_ms"):
            begin = time.perf_counter()
            assert sim.run_task(definition).task.containers[0].exit_code == 0
            times[name] = time.perf_counter() - begin
        stopping = time.perf_counter()
    times["stop_ms"] = time.perf_counter() - stopping
    listings = []
    for _ in range(int(sys.argv[1])):
        begin = time.perf_counter()
        iptables.list_owned()
        listings.append(time.perf_counter() - begin)
    times["listing_ms"] = statistics.median(listings)
    print(json.dumps({name: seconds * 1000 for name, seconds in times.items()}))
    """
)
FIGURES = ("start_ms", "first_task_ms", "second_task_ms", "stop_ms", "listing_ms")


def _measure(prefix: list[str], listings: int, home: str) -> dict[str, float]:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", CHILD, str(listings)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HOME": home},
    )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--listings", type=int, default=20)
    args = parser.parse_args()
    docker_group = grp.getgrnam("docker").gr_gid
    users = {
        "root": [],
        "docker_group_member": [
            "setpriv", "--reuid=65534", "--regid=65534", f"--groups={docker_group}",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--",
        ],
    }  # fmt: skip
    samples: dict[str, list[dict[str, float]]] = {user: [] for user in users}
    with tempfile.TemporaryDirectory() as home:
        os.chmod(home, 0o777)
        for round_number in range(args.rounds):
            for user in list(users) if round_number % 2 == 0 else list(reversed(users)):
                samples[user].append(_measure(users[user], args.listings, home))
    medians = {
        user: {figure: round(statistics.median(run[figure] for run in runs), 1) for figure in FIGURES}
        for user, runs in samples.items()
    }
    root, member = medians["root"], medians["docker_group_member"]
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "median": medians,
                "ratio": {figure: round(member[figure] / root[figure], 2) for figure in FIGURES},
                "extra_ms": {figure: round(member[figure] - root[figure], 1) for figure in FIGURES},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
