"""Latency of an AWS call through the authorizing gateway vs the same call straight to moto.

As in a task, the servers (embedded moto and the gateway in front of it) run in one process and the
client in another, so the client's boto3 does not compete with them for the GIL. The gateway reaches
moto as the simulator's does (``EmbeddedMoto.transport()``: in-process); "direct" is a boto3 client
calling moto's HTTP server, as a user's would (``--over-http`` sends the gateway there too). Each run makes
``--calls`` calls of ``ssm:GetParameter`` and ``s3:GetObject`` directly and through the gateway,
alternating call by call; the caller is an assumed-role session whose identity policy allows exactly these calls
(every gateway call is verified, parsed, mapped and decided by the IAM engine). Prints one JSON
document: per operation the median over ``--runs`` runs of p50 and p99 (milliseconds), the ratio
gateway p50 / direct p50, and the CPU time the server process spends per call either way (the
gateway's own cost, which other load on the machine does not distort).

Usage: python bench/bench_gateway.py [--runs 7] [--calls 300] [--over-http]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"  # moto's account for keys it does not know
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-task-role/bench"
KEY, SECRET, TOKEN = "ASIABENCHEXAMPLE0001", "bench-secret", "bench-token"
PARAMETER, BUCKET, OBJECT_KEY = "/app/db-host", "bench-config", "prod.env"


def _serve(conn: Connection, over_http: bool) -> None:
    """Child process: moto + gateway until the parent closes the pipe."""
    from simulator.backend import EmbeddedMoto
    from simulator.gateway import Gateway
    from simulator.gateway.upstream import Upstream
    from simulator.iam import PolicyKind, PolicySet, parse_policy, principal_from_arn
    from simulator.policy_source import ResourceInfo
    from simulator.sessions import Session, SessionRegistry

    principal = principal_from_arn(ROLE_ARN)
    identity = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Params",
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                    "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/*",
                },
                {
                    "Sid": "EnvFiles",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetBucketLocation"],
                    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                },
                {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"},
            ],
        },
        name="app-task-policy",
        kind=PolicyKind.IDENTITY,
    )

    class Policies:
        def principal_policies(self, _principal: Any) -> PolicySet:
            return PolicySet(identity=(identity,))

        def resource_info(self, arn: str) -> ResourceInfo:
            return ResourceInfo(arn, exists=True)

        def invalidate(self) -> None:
            pass

    sessions = SessionRegistry()
    sessions.register(Session(KEY, SECRET, TOKEN, None, principal))
    with EmbeddedMoto(account=ACCOUNT, region=REGION, load_managed_policies=False) as moto:
        upstream = Upstream(moto.endpoint_url) if over_http else moto.transport()
        with Gateway(upstream, sessions, Policies(), region=REGION) as gateway:
            conn.send((moto.endpoint_url, gateway.url))
            while conn.recv() == "cpu":  # until the parent says stop
                conn.send(time.process_time())


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN,
        config=Config(retries={"max_attempts": 1}),
    )


def _latencies(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _server_cpu_ms(conn: Connection, call: Callable[[], Any], n: int) -> float:
    """CPU time the server process (moto + gateway) spends per call: insensitive to other load."""
    conn.send("cpu")
    before = conn.recv()
    _latencies(call, n)
    conn.send("cpu")
    return (conn.recv() - before) * 1000 / n


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--over-http", action="store_true", help="the gateway calls moto's HTTP server")
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.over_http), daemon=True)
    server.start()
    child.close()  # so a server that dies shows as EOF here instead of a hang
    if not parent.poll(120):
        raise SystemExit("bench: the server process did not start within 120 s")
    moto_url, gateway_url = parent.recv()
    try:
        seed_ssm, seed_s3 = _client("ssm", moto_url), _client("s3", moto_url)
        seed_ssm.put_parameter(Name=PARAMETER, Value="db.internal", Type="String", Overwrite=True)
        seed_s3.create_bucket(Bucket=BUCKET)
        seed_s3.put_object(Bucket=BUCKET, Key=OBJECT_KEY, Body=b"FEATURE_X=1\n" * 20)
        calls: dict[str, dict[str, Callable[[], Any]]] = {}
        for target, url in (("direct", moto_url), ("gateway", gateway_url)):
            ssm, s3 = _client("ssm", url), _client("s3", url)
            calls.setdefault("ssm:GetParameter", {})[target] = lambda c=ssm: c.get_parameter(Name=PARAMETER)
            calls.setdefault("s3:GetObject", {})[target] = lambda c=s3: c.get_object(
                Bucket=BUCKET, Key=OBJECT_KEY
            )["Body"].read()
        results: dict[str, Any] = {}
        for operation, targets in calls.items():
            for call in targets.values():
                _latencies(call, 50)  # warm up connections, caches and botocore
            per_run: dict[str, list[tuple[float, float]]] = {"direct": [], "gateway": []}
            for _ in range(args.runs):
                # call by call in turn, so load from other processes weighs on both sides alike
                values: dict[str, list[float]] = {target: [] for target in targets}
                for _ in range(args.calls):
                    for target, call in targets.items():
                        values[target] += _latencies(call, 1)
                for target, run in values.items():
                    per_run[target].append((_p(run, 0.5), _p(run, 0.99)))
            summary = {
                target: {
                    "p50_ms": round(statistics.median(p50 for p50, _ in runs), 3),
                    "p99_ms": round(statistics.median(p99 for _, p99 in runs), 3),
                }
                for target, runs in per_run.items()
            }
            summary["ratio_p50"] = round(summary["gateway"]["p50_ms"] / summary["direct"]["p50_ms"], 3)
            for target, call in targets.items():
                summary[target]["server_cpu_ms_per_call"] = round(_server_cpu_ms(parent, call, args.calls), 3)
            results[operation] = summary
    finally:
        parent.send("stop")
        server.join(timeout=10)
    gateway_to_moto = "http" if args.over_http else "in-process"
    document = {"runs": args.runs, "calls_per_run": args.calls, "gateway_to_moto": gateway_to_moto}
    print(json.dumps({**document, "results": results}, indent=2))


if __name__ == "__main__":
    main()
