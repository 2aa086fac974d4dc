"""One app's points pool shared by tenants and processes: governed vs each client pacing itself.

    .venv/bin/python benchmarks/governor.py [--tenants 10] [--processes 3] [--points 3000]
                                            [--window 30] [--windows 3]

Sandbox sites (one per tenant, each on its own port) share ONE global points pool
(`jirakit.sandbox.PointsQuota`, Tier 1), hosted by this process. ``--processes`` client
processes each run a share of the tenants as threads, with OAuth grants from the sites:
half the tenants backfill (search pages of 50 issues, ~51 points each, back to back), half
make interactive calls (one issue read, 2 points, every 0.5-1.5 s). Two runs:

- ``self-paced``: every client paces only itself (`jirakit.client.PointsPacer`, reading
  Jira's beta headers), as N processes do without a shared budget;
- ``governed``: every client takes a handle on one `PostgresGovernor` (the backfills
  ``BACKFILL``, the interactive calls ``INTERACTIVE``), shared by all processes.

Reported: quota 429s (the sandbox's count), the pool's use in each full window while
backfills were pending, and the worst interactive tenant's p95 wait (seconds a call
waited before it was sent, pacing, governor and 429 retries included). It grows into the
issue's scale test by replacing the client processes with ``jirakit worker``/``serve``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PG = os.environ.get("JIRAKIT_BENCH_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")


def client_process(
    mode: str,
    tenants: list[dict[str, Any]],
    policy: dict[str, Any],
    schema: str,
    until: float,
    out: Any,
) -> None:
    from jirakit import Jira, RetryPolicy
    from jirakit.client import BearerAuth
    from jirakit.errors import JiraError
    from jirakit.jobs.budget import BudgetPolicy, PostgresGovernor, Priority

    governor = None
    if mode == "governed":
        governor = PostgresGovernor(PG, BudgetPolicy(**policy), app="bench", schema=schema)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run(t: dict[str, Any]) -> None:
        interactive = t["kind"] == "interactive"
        handle = None
        if governor is not None:
            handle = governor.handle(
                t["name"], Priority.INTERACTIVE if interactive else Priority.BACKFILL
            )
        waits: list[float] = []
        calls = errors = 0
        rng = random.Random(t["name"])
        with Jira(
            t["api_url"],
            auth=BearerAuth(t["token"]),
            governor=handle,
            retry=RetryPolicy(max_attempts=8, max_retry_after=120, max_total_wait=300),
        ) as jira:
            token = None
            while time.time() < until:
                before = jira.stats.throttled_seconds + jira.stats.retry_wait_seconds
                try:
                    if interactive:
                        jira.request("GET", f"/issue/{t['project']}-{rng.randint(1, 20)}")
                    else:
                        page = jira.search.page(
                            f"project = {t['project']} ORDER BY key",
                            fields=["summary"],
                            max_results=50,
                            next_page_token=token,
                        )
                        token = page.next_page_token
                    calls += 1
                except JiraError:
                    errors += 1
                waits.append(jira.stats.throttled_seconds + jira.stats.retry_wait_seconds - before)
                if interactive:
                    time.sleep(rng.uniform(0.5, 1.5))
        with lock:
            results.append(
                {
                    "tenant": t["name"],
                    "kind": t["kind"],
                    "calls": calls,
                    "errors": errors,
                    "waits": waits,
                }
            )

    threads = [threading.Thread(target=run, args=(t,)) for t in tenants]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.put(results)


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from jirakit.sandbox import PointsQuota, Sandbox
    from jirakit.testing.oauth import sandbox_grant

    quota = PointsQuota(args.points, window=args.window, pool="global")
    policy = {"points": args.points, "window": args.window, "min_capacity": 60.0}
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    used_by_window: dict[int, int] = {}
    with ExitStack() as stack:
        tenants = []
        for i in range(args.tenants):
            site = stack.enter_context(
                Sandbox(seed=i, issues=400, projects=1, points_quota=quota, cloud_id=f"site-{i}")
            )
            url = stack.enter_context(site.serve())
            grant = sandbox_grant(url)
            project = httpx.get(f"{url}/rest/api/3/project", auth=site.auth, timeout=10).json()[0][
                "key"
            ]
            tenants.append(
                {
                    "name": f"tenant-{i:02d}",
                    "kind": "backfill" if i % 2 == 0 else "interactive",
                    "api_url": grant.api_url,
                    "token": grant.access_token,
                    "project": project,
                }
            )
        # start on a window boundary, run whole windows
        now = time.time()
        start = (now // args.window + 1) * args.window
        time.sleep(start - now)
        until = start + args.windows * args.window - 0.5
        out: Any = mp.Queue()
        procs = [
            mp.Process(
                target=client_process,
                args=(mode, tenants[p :: args.processes], policy, schema, until, out),
            )
            for p in range(args.processes)
        ]
        for proc in procs:
            proc.start()
        while any(proc.is_alive() for proc in procs) and time.time() < until + 5:
            for state in quota.states():
                w = int(state.reset_at.timestamp() // args.window) - 1
                used_by_window[w] = max(used_by_window.get(w, 0), state.used)
            time.sleep(0.1)
        results = [r for _ in procs for r in out.get(timeout=600)]
        for proc in procs:
            proc.join(timeout=60)
        rejected = quota.rejected
    if mode == "governed":
        import psycopg

        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    first = int(start // args.window)
    full = [used_by_window.get(first + k, 0) for k in range(args.windows)]
    interactive = [r for r in results if r["kind"] == "interactive"]
    backfill = [r for r in results if r["kind"] == "backfill"]
    return {
        "mode": mode,
        "quota_429": rejected,
        "use_per_window": [round(u / args.points, 3) for u in full],
        "worst_interactive_p95_wait": max(p95(r["waits"]) for r in interactive),
        "interactive_calls": sum(r["calls"] for r in interactive),
        "backfill_pages": [r["calls"] for r in backfill],
        "errors": sum(r["errors"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--windows", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{args.tenants} tenants ({args.tenants // 2 + args.tenants % 2} backfilling), "
        f"{args.processes} client processes, one global pool of {args.points} points per "
        f"{args.window:g} s, {args.windows} windows per run"
    )
    rows = [run_mode(mode, args) for mode in ("self-paced", "governed")]
    print(f"{'':<28}" + "".join(f"{r['mode']:>22}" for r in rows))
    for key in (
        "quota_429",
        "use_per_window",
        "worst_interactive_p95_wait",
        "interactive_calls",
        "backfill_pages",
        "errors",
    ):
        cells = []
        for r in rows:
            v = r[key]
            cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        print(f"{key:<28}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
