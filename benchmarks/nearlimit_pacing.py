"""How the client's slow-down on ``X-RateLimit-NearLimit`` paces a bulk read.

    .venv/bin/python benchmarks/nearlimit_pacing.py                 # cooldowns 30, 2, 1 s
    .venv/bin/python benchmarks/nearlimit_pacing.py --cooldown 1 --requests 200

A sandbox with a 10 requests/s bucket per endpoint (burst 10) and 50-150 ms added latency,
in process; 4 threads send ``--requests`` ``issue/bulkfetch`` requests through one client
whose ``RateLimitConfig.near_limit_cooldown`` is each ``--cooldown`` in turn. Prints the
wall time against the floor (requests / 10 per second) and the 429s.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from jirakit import BasicAuth, Jira, RateLimitConfig
from jirakit.sandbox import Sandbox
from jirakit.testing.asgi import SyncASGITransport


def run(cooldown: float, requests: int) -> None:
    sandbox = Sandbox(seed=1, issues=2000, rate_limit=10, latency="50-150")
    ids = sorted(r.id for r in sandbox.store.issues.values())
    chunks = [ids[(i * 100) % len(ids) :][:100] for i in range(requests)]
    transport = SyncASGITransport(sandbox.app)
    with Jira(
        "http://sandbox.local",
        auth=BasicAuth("admin@example.com", "sandbox-token"),
        transport=transport,
        rate_limit=RateLimitConfig(near_limit_cooldown=cooldown),
    ) as jira:
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda c: jira.issues.bulk_fetch(c, fields=["id"]), chunks))
        seconds = time.perf_counter() - started
        print(
            f"cooldown {cooldown:g} s: {requests} bulkfetches in {seconds:.2f} s "
            f"(floor {requests / 10:.1f} s, {seconds / (requests / 10):.2f}x); "
            f"429s: {jira.stats.by_status.get(429, 0)}"
        )
    transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cooldown", type=float, action="append")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    for cooldown in args.cooldown or [30.0, 2.0, 1.0]:
        run(cooldown, args.requests)


if __name__ == "__main__":
    main()
