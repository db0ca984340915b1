"""A simulator with CAP_NET_ADMIN (iptables run here) vs without (a helper container runs them), side
by side.

Each round starts two fresh processes, one as is and one with CAP_NET_ADMIN dropped by ``setpriv`` (as
for a member of the docker group), alternating which goes first. Each times ``Simulator`` start and
stop (the start lists the host's rules for the reaper and adds the task network's forwards; the stop
removes them) and then ``--listings`` rule listings, one batch each. Prints one JSON document with the
medians per mode and their ratios.

Usage: python bench/bench_host_firewall.py [--rounds 5] [--listings 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

WITHOUT_NET_ADMIN = ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", "--"]
CHILD = textwrap.dedent(
    """
    import json, statistics, sys, time
    from simulator import Simulator
    from simulator.docker import iptables
    started = time.perf_counter()
    with Simulator() as sim:
        up = time.perf_counter()
    down = time.perf_counter()
    listings = []
    for _ in range(int(sys.argv[1])):
        begin = time.perf_counter()
        iptables.list_owned()
        listings.append((time.perf_counter() - begin) * 1000)
    print(json.dumps({
        "runner": type(iptables._runner).__name__,
        "start_ms": (up - started) * 1000,
        "stop_ms": (down - up) * 1000,
        "listing_ms": statistics.median(listings) if listings else None,
    }))
    """
)


def _measure(prefix: list[str], listings: int) -> dict[str, object]:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", CHILD, str(listings)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--listings", type=int, default=20)
    args = parser.parse_args()
    modes = {"cap_net_admin": [], "helper_container": WITHOUT_NET_ADMIN}
    samples: dict[str, list[dict[str, object]]] = {mode: [] for mode in modes}
    for round_number in range(args.rounds):
        order = list(modes) if round_number % 2 == 0 else list(reversed(modes))
        for mode in order:
            samples[mode].append(_measure(modes[mode], args.listings))
    medians = {
        mode: {
            "runner": runs[0]["runner"],
            **{
                key: round(statistics.median(run[key] for run in runs), 1)
                for key in ("start_ms", "stop_ms", "listing_ms")
            },
        }
        for mode, runs in samples.items()
    }
    direct, helper = medians["cap_net_admin"], medians["helper_container"]
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "median": medians,
                "ratio_start": round(helper["start_ms"] / direct["start_ms"], 2),
                "ratio_stop": round(helper["stop_ms"] / direct["stop_ms"], 2),
                "extra_start_ms": round(helper["start_ms"] - direct["start_ms"], 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
