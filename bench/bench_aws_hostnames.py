"""The gateway at a real AWS host name (TLS, ``--aws-hostnames``) vs at ``AWS_ENDPOINT_URL`` (plain HTTP),
side by side from one task container.

One simulator with ``aws_hostnames=True`` runs one task whose container (ecs-sim/python, current boto3)
makes ``--calls`` ``ssm:GetParameter`` calls with two clients in turn, call by call: one at
``http://169.254.170.2:4566`` (what the container gets by default), one with no endpoint configured, so
at ``https://ssm.us-east-1.amazonaws.com`` through the simulator's name server and TLS listener. Both
clients are warmed first (DNS, TLS handshake, connection pool). Also timed: making the CA, the bundle
and the first certificate, in this process. Prints one JSON document with p50/p99 per path per run
(the median over ``--runs``) and the ratio of p50s.

Usage: python bench/bench_aws_hostnames.py [--runs 5] [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from simulator import Simulator
from simulator.aws_hostnames.hostnames import AwsHostnames

ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
}
WORLD = {
    "region": "us-east-1",
    "roles": {"app": {"trust": "ecs-tasks", "inline": {"read": ROLE_POLICY}}},
    "ssm_parameters": {"/bench/value": {"value": "x"}},
}
CONTAINER_CODE = """
import json, sys, time, boto3
runs, calls = int(sys.argv[1]), int(sys.argv[2])
clients = {
    "endpoint_url_http": boto3.client("ssm", endpoint_url="http://169.254.170.2:4566"),
    "aws_hostname_tls": boto3.client("ssm"),
}
for client in clients.values():
    for _ in range(30):
        client.get_parameter(Name="/bench/value")
out = {name: [] for name in clients}
for _ in range(runs):
    times = {name: [] for name in clients}
    for _ in range(calls):
        for name, client in clients.items():
            started = time.perf_counter()
            client.get_parameter(Name="/bench/value")
            times[name].append((time.perf_counter() - started) * 1000)
    for name, values in times.items():
        values.sort()
        out[name].append((values[len(values) // 2], values[min(len(values) - 1, int(0.99 * len(values)))]))
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    started = time.perf_counter()
    made = AwsHostnames("169.254.170.2")  # the CA, the bundle and the certificate for no SNI
    setup_ms = (time.perf_counter() - started) * 1000
    made.close()

    taskdef = {
        "family": "bench-aws-hostnames",
        "networkMode": "awsvpc",
        "cpu": "1024",
        "memory": "512",
        "taskRoleArn": "app",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "ecs-sim/python:latest",
                "command": ["python3", "-c", CONTAINER_CODE, str(args.runs), str(args.calls)],
            }
        ],
    }
    lines: list[str] = []
    with Simulator(WORLD, aws_hostnames=True) as sim:
        result = sim.run_task(taskdef, log_sink=lambda _, line: lines.append(line))
    if result.exit_code != 0:
        raise SystemExit("bench: the task failed:\n" + "\n".join(lines[-20:]))
    per_run = json.loads(lines[-1])
    results = {
        name: {
            "p50_ms": round(statistics.median(p50 for p50, _ in runs), 3),
            "p99_ms": round(statistics.median(p99 for _, p99 in runs), 3),
        }
        for name, runs in per_run.items()
    }
    ratio = results["aws_hostname_tls"]["p50_ms"] / results["endpoint_url_http"]["p50_ms"]
    document = {
        "runs": args.runs,
        "calls_per_run": args.calls,
        "operation": "ssm:GetParameter",
        "results": results,
        "ratio_p50_tls_vs_http": round(ratio, 3),
        "ca_and_first_certificate_ms": round(setup_ms, 2),
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
