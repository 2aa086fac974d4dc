"""Sync N issues from an in-process sandbox into a temporary DuckDB: wall time, requests
against the lower bound, and peak memory. A script, not a test.

    .venv/bin/python benchmarks/sync_scale.py --issues 20000
    .venv/bin/python benchmarks/sync_scale.py            # 100,000 issues

Requests lower bound (the issue's definition): id pages (5,000 ids each) + bulk fetches
(100 issues each) + changelog pages (1,000 issues or 10,000 entries each) + worklog pages
(``worklog/updated`` 1,000 ids each, ``worklog/list`` 1,000 each); the metadata requests
(fields, projects, statuses, ...) are a small constant reported beside it.

Memory: the sandbox lives in this process, so its memory counts in the process's RSS. The
script measures the RSS once the sandbox is generated (and warmed up), resets the kernel's
peak counter (``/proc/self/clear_refs``), syncs, and reports the peak during the sync both
as a whole and above that baseline (the sync's own share).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.sync.source import BULK, CHANGELOG_BATCH, ID_PAGE, SyncOptions
from jirakit.testing.asgi import SyncASGITransport

MIB = 1024 * 1024
CHANGELOG_PAGE_ENTRIES = 10_000
WORKLOG_PAGE = 1000


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mib() -> float:
    kib = _status_kib("VmRSS")
    if kib is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return kib / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak RSS of this process (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mib() -> float:
    kib = _status_kib("VmHWM")
    if kib is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return kib / 1024


class Recorder:
    """Counts requests by (method, path) as the sandbox receives them."""

    def __init__(self, app: Any, seen: Counter[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen[f"{scope['method']} {scope['path']}"] += 1
        await self.app(scope, receive, send)


def lower_bound(sandbox: Sandbox) -> dict[str, int]:
    issues = sorted(sandbox.store.issues.values(), key=lambda r: r.id)
    n = len(issues)
    changelog = 0
    for start in range(0, n, CHANGELOG_BATCH):
        entries = sum(len(r.histories) for r in issues[start : start + CHANGELOG_BATCH])
        changelog += max(1, math.ceil(entries / CHANGELOG_PAGE_ENTRIES))
    worklogs = sum(len(r.worklogs) for r in issues)
    return {
        "id pages": max(1, math.ceil(n / ID_PAGE)),
        "bulk fetches": math.ceil(n / BULK),
        "changelog pages": changelog,
        "worklog pages": max(1, math.ceil(worklogs / WORKLOG_PAGE)) + math.ceil(worklogs / 1000),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--models", action="store_true", help="also build the analytics models")
    parser.add_argument("--dir", help="keep the warehouse here (default: a temp dir)")
    parser.add_argument(
        "--buffer-items",
        type=int,
        help="dlt's DATA_WRITER__BUFFER_MAX_ITEMS (rows dlt keeps in memory per table before "
        "writing them out; run_sync sets 1000, the environment variable overrides it)",
    )
    args = parser.parse_args(argv)
    if args.buffer_items:
        os.environ["DATA_WRITER__BUFFER_MAX_ITEMS"] = str(args.buffer_items)

    base_rss = rss_mib()
    started = time.perf_counter()
    seen: Counter[str] = Counter()
    sandbox = Sandbox(
        seed=args.seed,
        issues=args.issues,
        projects=args.projects,
        middleware=[Middleware(Recorder, seen=seen)],
    )
    generated = time.perf_counter() - started
    bound = lower_bound(sandbox)
    n_entries = sum(len(r.histories) for r in sandbox.store.issues.values())
    n_items = sum(len(h.items) for r in sandbox.store.issues.values() for h in r.histories)
    n_worklogs = sum(len(r.worklogs) for r in sandbox.store.issues.values())
    n_comments = sum(len(r.comments) for r in sandbox.store.issues.values())
    gc.collect()
    sandbox_rss = rss_mib()

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="jirakit-sync-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    transport = SyncASGITransport(sandbox.app)
    jira = Jira(
        "http://sandbox.local",
        auth=BasicAuth(sandbox.admin_email, sandbox.api_token),
        transport=transport,
    )
    peak_reset = reset_peak()
    t0 = time.perf_counter()
    result = run_sync(
        jira,
        warehouse=warehouse_for(f"duckdb:///{work / 'jira.duckdb'}"),
        pipelines_dir=str(work / "pipelines"),
        models=args.models,
        options=SyncOptions(concurrency=args.concurrency),
    )
    wall = time.perf_counter() - t0
    peak = peak_mib() if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jira.close()
    transport.close()

    by_kind: Counter[str] = Counter()
    for key, count in seen.items():
        _method, path = key.split(" ", 1)
        tail = path.removeprefix("/rest/api/3/")
        if tail in (
            "search/jql",
            "issue/bulkfetch",
            "changelog/bulkfetch",
            "worklog/updated",
            "worklog/deleted",
            "worklog/list",
        ):
            by_kind[tail] += count
        else:
            by_kind["metadata and other"] += count
    bound_total = sum(bound.values())
    data_requests = result.requests - by_kind["metadata and other"]

    print(
        f"jirakit sync scale: {args.issues:,} issues, {args.projects} projects, seed {args.seed}, "
        f"concurrency {args.concurrency}, dlt buffer {args.buffer_items or 'jirakit default (1000)'} items"
    )
    print(
        f"  dataset: {n_entries:,} changelog entries ({n_items:,} items), {n_comments:,} comments, {n_worklogs:,} worklogs"
    )
    print(
        f"  sandbox generated in {generated:.1f} s; process RSS {base_rss:.0f} MiB before, "
        f"{sandbox_rss:.0f} MiB with the sandbox"
    )
    print(f"  sync: {result.status} in {wall:.1f} s ({args.issues / wall:,.0f} issues/s)")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.rows.items()) if v))
    print(
        f"  requests: {result.requests:,} (retries {jira.stats.retries}); "
        f"data requests {data_requests:,} vs lower bound {bound_total:,} "
        f"= {data_requests / bound_total:.2f}x"
    )
    print("    lower bound: " + ", ".join(f"{k} {v:,}" for k, v in bound.items()))
    print("    made:        " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_kind.items())))
    print(
        f"  peak RSS during the sync: {peak:.0f} MiB (process, sandbox included); "
        f"{peak - sandbox_rss:.0f} MiB above the sandbox's {sandbox_rss:.0f} MiB"
        + ("" if peak_reset else " [peak not resettable: includes generation]")
    )
    print(f"  warehouse: {work / 'jira.duckdb'}")
    return 0 if result.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
