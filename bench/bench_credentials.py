"""Credentials endpoint throughput vs a bare static ``http.server`` responder, side by side.

Each server runs in its own process on loopback (a ``ThreadingHTTPServer`` both), so the client's
threads do not compete with it for the GIL; 4 client threads send 2,000 requests each, once over
keep-alive connections and once with a new connection per request (as an SDK refreshing credentials
does), in rounds that alternate between the two servers. Prints one JSON document.

Usage: python bench/bench_credentials.py [--threads 4] [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulator.endpoints import EndpointServer, TaskCredentials

CREDENTIALS = TaskCredentials(
    role_arn="arn:aws:iam::111122223333:role/app-task-role",
    access_key_id="ASIAQEXAMPLEEXAMPLE7",
    secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    token="IQoJb3JpZ2luX2VjEXAMPLETOKEN" * 20,
    expiration=datetime.now(UTC) + timedelta(hours=6),
)
STATIC_BODY = CREDENTIALS.body()  # the same bytes, so only the server differs


class _StaticHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(STATIC_BODY)))
        self.end_headers()
        self.wfile.write(STATIC_BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _StaticServer(ThreadingHTTPServer):
    daemon_threads = True


def _serve(kind: str, ready: Any, stop: Any) -> None:
    if kind == "endpoint":
        server = EndpointServer()
        port = server.start("127.0.0.1")
        path = f"/v2/credentials/{server.register_credentials(CREDENTIALS)}"
        ready.put((port, path))
        stop.wait()
        server.stop()
    else:
        static = _StaticServer(("127.0.0.1", 0), _StaticHandler)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        ready.put((static.server_address[1], "/v2/credentials/static"))
        stop.wait()
        static.shutdown()


def _client(port: int, path: str, count: int, keep_alive: bool, latencies: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(count):
        if not keep_alive:
            connection.close()
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or len(body) != len(STATIC_BODY):
            raise RuntimeError(f"unexpected answer {response.status} {body[:80]!r}")
    connection.close()


def _round(port: int, path: str, threads: int, requests: int, keep_alive: bool) -> tuple[list[float], float]:
    """``threads`` clients at once; their latencies and the wall time."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    workers = [
        threading.Thread(target=_client, args=(port, path, requests, keep_alive, latencies[i]))
        for i in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    every = [latency for per_thread in latencies for latency in per_thread]
    if len(every) != threads * requests:
        raise RuntimeError("a client thread failed")
    return every, elapsed


def _summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    latencies.sort()
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000, help="per thread, server and mode")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds, so load drift hits both alike"
    )
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    targets: dict[str, tuple[int, str]] = {}
    processes = []
    for kind in ("static", "endpoint"):
        ready = context.Queue()
        process = context.Process(target=_serve, args=(kind, ready, stop), daemon=True)
        process.start()
        processes.append(process)
        targets[kind] = ready.get(timeout=30)
    results: dict[str, dict[str, Any]] = {}
    try:
        for mode in ("keep_alive", "new_connection"):
            keep_alive = mode == "keep_alive"
            latencies: dict[str, list[float]] = {kind: [] for kind in targets}
            elapsed: dict[str, float] = dict.fromkeys(targets, 0.0)
            for port, path in targets.values():
                _client(port, path, 200, keep_alive, [])  # warm-up
            for number in range(args.rounds):
                order = list(targets) if number % 2 == 0 else list(reversed(targets))
                for kind in order:
                    measured, seconds = _round(
                        *targets[kind], args.threads, args.requests // args.rounds, keep_alive
                    )
                    latencies[kind].extend(measured)
                    elapsed[kind] += seconds
            results[mode] = {kind: _summary(latencies[kind], elapsed[kind]) for kind in targets}
            results[mode]["ratio_requests_per_s"] = round(
                results[mode]["endpoint"]["requests_per_s"] / results[mode]["static"]["requests_per_s"], 3
            )
    finally:
        stop.set()
        for process in processes:
            process.join(10)
    document = {
        "benchmark": "credentials endpoint vs bare static http.server responder (loopback)",
        "threads": args.threads,
        "requests_per_thread": args.requests,
        "rounds": args.rounds,
        "body_bytes": len(STATIC_BODY),
        **results,
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
