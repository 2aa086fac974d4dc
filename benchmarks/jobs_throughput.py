"""Jobs per second through the queue, with 1 worker process and with 3.

    .venv/bin/python benchmarks/jobs_throughput.py [--jobs 2000] [--concurrency 4]

Defers ``--jobs`` no-op jobs, then starts N worker processes (``jirakit.jobs.queue``
workers, as ``jirakit worker`` runs them) and times until every job has succeeded. On
Postgres (procrastinate, a fresh database on the local server) and on SQLite (one file).
What is measured is the queue's own cost per job: taking it, running an empty task,
recording the outcome.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jirakit.jobs.queue import WorkerOptions, open_queue
from jirakit.jobs.tasks import JobContext, TaskKind, TaskRegistry

PG_ADMIN = os.environ.get("JIRAKIT_BENCH_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")
PG_BASE = os.environ.get("JIRAKIT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def noop(ctx: JobContext, n: int) -> int:
    return n


def registry() -> TaskRegistry:
    reg = TaskRegistry()
    reg.register(TaskKind("noop", noop, retries=0))
    return reg


def worker(url: str, concurrency: int) -> None:
    queue = open_queue(url, registry())
    queue.run_worker(
        WorkerOptions(concurrency=concurrency, until_idle=True, schedule_every=0, poll=0.01)
    )


def measure(url: str, jobs: int, workers: int, concurrency: int) -> float:
    queue = open_queue(url, registry())
    queue.migrate()
    for n in range(jobs):
        queue.defer("noop", n=n)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", url, "--concurrency", str(concurrency)]
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.wait(timeout=900)
    elapsed = time.perf_counter() - started
    done = sum(1 for j in queue.jobs() if j.status == "succeeded")
    queue.close()
    assert done == jobs, f"{done} of {jobs} jobs succeeded"
    return jobs / elapsed


def fresh_pg() -> tuple[str, Any]:
    import psycopg

    name = f"bench_jobs_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()

    return f"{PG_BASE}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.concurrency)
        return
    print(f"{args.jobs} no-op jobs, {args.concurrency} at once per worker process (jobs/s)")
    print(f"{'queue':<12}{'1 worker':>12}{'3 workers':>12}{'ratio':>8}")
    for backend in ("postgres", "sqlite"):
        rates = []
        for workers in (1, 3):
            if backend == "postgres":
                url, drop = fresh_pg()
            else:
                tmp = tempfile.mkdtemp(prefix="jirakit-bench-")
                url, drop = f"sqlite:///{tmp}/jobs.db", (lambda: None)
            try:
                rates.append(measure(url, args.jobs, workers, args.concurrency))
            finally:
                drop()
        print(f"{backend:<12}{rates[0]:>12.0f}{rates[1]:>12.0f}{rates[1] / rates[0]:>7.2f}x")


if __name__ == "__main__":
    main()
