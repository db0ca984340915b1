"""Scale: 20 tasks started at once on one ``Simulator`` vs one task alone.

``start_task`` x N (each returns at once, the task runs on its own thread), then ``wait`` on all;
compared with one task's wall time, alternately, medians over ``--rounds``, after a first burst of N
that makes the network namespaces later tasks borrow (its wall time is reported as ``first_burst_ms``). Also the failures (any
task whose exit code is not 0) and the simulator's memory per task: the peak resident set size while
N tasks run minus the RSS before, divided by N (sampled every 10 ms from /proc), and the RSS per task
while N ``sleep`` tasks all run at once (stopped by a user stop afterwards). For reference, the Docker
floor of the same: N concurrent ``docker run --rm`` vs one. Prints one JSON document.

Usage: python bench/bench_scale.py [--tasks 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from workload import IMAGE, rss_kib, taskdef, world

from simulator.api import Simulator


class _PeakRss:
    """Samples this process's RSS on a thread until stopped; ``peak`` is the largest seen."""

    def __init__(self) -> None:
        self.peak = rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_kib())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _tasks(sim: Simulator, count: int) -> tuple[float, int]:
    """Wall time of ``count`` concurrent tasks and how many failed."""
    definition = taskdef()
    started = time.perf_counter()
    runs = [sim.start_task(definition) for _ in range(count)]
    results = [run.wait(timeout=300) for run in runs]
    return time.perf_counter() - started, sum(1 for r in results if r.exit_code != 0)


def _rss_per_running_task(sim: Simulator, count: int) -> float:
    """KiB of simulator RSS per task while ``count`` tasks are all RUNNING at once (``sleep``)."""
    gc.collect()
    before = rss_kib()
    runs = [sim.start_task(taskdef(command=("sleep", "30"))) for _ in range(count)]
    deadline = time.monotonic() + 120
    while any(run.task.last_status.value != "RUNNING" for run in runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    during = rss_kib()
    for run in runs:
        run.stop()
    for run in runs:
        run.wait(timeout=120)
    return (during - before) / count


def _docker(count: int) -> float:
    def one(_: int) -> None:
        subprocess.run(["docker", "run", "--rm", IMAGE, "true"], check=True, capture_output=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-docker-floor", action="store_true")
    args = parser.parse_args()

    one: list[float] = []
    many: list[float] = []
    per_task_kib: list[float] = []
    with Simulator(world()) as sim:
        # Warm-up: a first burst makes the network namespaces the tasks hand back to later tasks.
        cold_burst, failures = _tasks(sim, args.tasks)
        for number in range(args.rounds):
            for kind in ("one", "many") if number % 2 == 0 else ("many", "one"):
                if kind == "one":
                    seconds, failed = _tasks(sim, 1)
                    one.append(seconds)
                else:
                    before = rss_kib()
                    sampler = _PeakRss()
                    seconds, failed = _tasks(sim, args.tasks)
                    per_task_kib.append((sampler.stop() - before) / args.tasks)
                    many.append(seconds)
                failures += failed
        rss_running = _rss_per_running_task(sim, args.tasks)
        rss_after_kib = rss_kib()
    document = {
        "benchmark": f"{args.tasks} concurrent tasks vs 1 task (one warm Simulator)",
        "rounds": args.rounds,
        "one_task_ms": round(statistics.median(one) * 1000, 1),
        "concurrent_ms": round(statistics.median(many) * 1000, 1),
        "wall_ratio": round(statistics.median(many) / statistics.median(one), 2),
        "target_ratio": 4,
        "first_burst_ms": round(cold_burst * 1000, 1),
        "failures": failures,
        "rss_per_task_kib": round(statistics.median(per_task_kib)),
        "rss_per_running_task_kib": round(rss_running),
        "rss_at_end_kib": rss_after_kib,
    }
    if not args.no_docker_floor:
        docker_one = statistics.median(_docker(1) for _ in range(args.rounds))
        docker_many = statistics.median(_docker(args.tasks) for _ in range(args.rounds))
        document["docker_floor"] = {
            "one_ms": round(docker_one * 1000, 1),
            "concurrent_ms": round(docker_many * 1000, 1),
            "wall_ratio": round(docker_many / docker_one, 2),
        }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
