"""Finished jobs are not kept forever (issue 14): the worker deletes those finished longer
ago than ``keep_finished`` (SQLite: its own purge; Postgres: procrastinate's
``delete_old_jobs``). Also the SQLite worker's kind filters and its stop, which
`jirakit serve` uses to keep its own work apart from syncs."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jirakit.jobs.queue import WorkerOptions, open_queue
from jirakit.jobs.tasks import JobContext, JobStopped, TaskKind, TaskRegistry

DAY = 24 * 3600.0
FAST: dict[str, Any] = {
    "until_idle": True, "heartbeat": 0.2, "stalled_after": 1.0, "schedule_every": 0, "poll": 0.02
}  # fmt: skip


def noop(ctx: JobContext, n: int = 0, fail: bool = False) -> int:
    if fail:
        raise RuntimeError("fails on purpose")
    return n


def patient(ctx: JobContext, seconds: float) -> str:
    """Runs ``seconds`` unless asked to stop (then ends `JobStopped`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ctx.stop_requested():
            raise JobStopped("asked to stop")
        time.sleep(0.05)
    return "ran to its end"


def registry() -> TaskRegistry:
    reg = TaskRegistry()
    reg.register(TaskKind("noop", noop, retries=0))
    reg.register(TaskKind("patient", patient, retries=0))
    return reg


def test_sqlite_worker_purges_finished_jobs_past_the_retention(tmp_path: Path):
    path = tmp_path / "jobs.db"
    queue = open_queue(f"sqlite:///{path}", registry())
    ids = [queue.defer("noop", n=i, fail=i == 2) for i in range(4)]
    queue.run_worker(WorkerOptions(keep_finished=0, **FAST))
    assert {j.status for j in queue.jobs()} == {"succeeded", "failed"}
    old, recent = ids[:3], ids[3]
    with sqlite3.connect(path) as db:  # three finished eight days ago (one of them failed)
        db.execute(
            f"UPDATE jirakit_jobs SET finished_at = ? WHERE id IN ({','.join('?' * len(old))})",
            (time.time() - 8 * DAY, *old),
        )
    waiting = queue.defer("noop", n=9)
    queue.run_worker(WorkerOptions(keep_finished=7 * DAY, **FAST))
    left = {j.id: j.status for j in queue.jobs()}
    assert left == {recent: "succeeded", waiting: "succeeded"}
    # The default keeps a week; JIRAKIT_JOBS_KEEP_FINISHED sets it.
    assert WorkerOptions().keep_finished == 7 * DAY
    assert queue.purge(0.0) == 2 and queue.jobs() == []


@pytest.mark.postgres
def test_postgres_purge_uses_procrastinates_delete_old_jobs(pg_database: str):
    import psycopg

    queue = open_queue(pg_database, registry())
    queue.migrate()
    try:
        ids = [queue.defer("noop", n=i, fail=i == 1) for i in range(3)]
        queue.run_worker(WorkerOptions(keep_finished=0, **FAST))
        assert {j.status for j in queue.jobs()} == {"succeeded", "failed"}
        with psycopg.connect(pg_database, autocommit=True) as db:
            db.execute(
                "UPDATE procrastinate_events SET at = at - interval '8 days' "
                "WHERE job_id = ANY(%s)",
                (ids[:2],),
            )
        queue.defer("noop", n=9)
        queue.run_worker(WorkerOptions(keep_finished=7 * DAY, **FAST))
        left = {j.id for j in queue.jobs()}
        assert ids[2] in left and not left & set(ids[:2]) and len(left) == 2
    finally:
        queue.close()


def test_sqlite_worker_runs_only_its_kinds_and_stops_its_running_jobs(tmp_path: Path):
    queue = open_queue(f"sqlite:///{tmp_path / 'jobs.db'}", registry())
    slow = queue.defer("patient", seconds=60)
    quick = queue.defer("noop", n=1)
    # A worker for everything but "patient" runs "noop" and is idle while "patient" waits.
    opts: dict[str, Any] = {**FAST, "skip_kinds": frozenset({"patient"})}
    assert queue.run_worker(WorkerOptions(**opts)) == 1
    status = {j.id: j.status for j in queue.jobs()}
    assert status == {slow: "todo", quick: "succeeded"}
    # A worker for "patient" only, stopped while the job runs: the job is asked to stop,
    # ends aborted, and the worker returns.
    stop = threading.Event()
    opts = {**FAST, "until_idle": False, "kinds": frozenset({"patient"}), "stop": stop}
    worker = threading.Thread(target=queue.run_worker, args=(WorkerOptions(**opts),))
    worker.start()
    deadline = time.monotonic() + 10
    while {j.id: j.status for j in queue.jobs()}[slow] != "doing":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stop.set()
    worker.join(10)
    assert not worker.is_alive()
    (job,) = [j for j in queue.jobs() if j.id == slow]
    assert job.status == "aborted" and "asked to stop" in (job.error or "")


def test_the_retention_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIRAKIT_JOBS_KEEP_FINISHED", "3600")
    assert WorkerOptions().keep_finished == 3600.0
    monkeypatch.setenv("JIRAKIT_JOBS_KEEP_FINISHED", "a week")
    with pytest.raises(ValueError, match="must be seconds"):
        WorkerOptions()
