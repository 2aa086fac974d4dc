"""`JobQueue.cancel` on both backends: a waiting job is cancelled and never runs; a
running or finished one is left alone; the queue's times are reported."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jirakit.jobs.queue import WorkerOptions, open_queue
from jirakit.jobs.tasks import JobContext, TaskKind, TaskRegistry

FAST = WorkerOptions(
    concurrency=1, until_idle=True, heartbeat=0.2, stalled_after=1.0, schedule_every=0, poll=0.02
)


def mark(ctx: JobContext, db: str, key: str, hold: float = 0.0) -> str:
    time.sleep(hold)
    con = sqlite3.connect(db, timeout=30)
    with con:
        con.execute("CREATE TABLE IF NOT EXISTS ran (key TEXT)")
        con.execute("INSERT INTO ran VALUES (?)", (key,))
    con.close()
    return key


def ran(db: Path) -> list[str]:
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT key FROM ran ORDER BY key")]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    reg = TaskRegistry()
    reg.register(TaskKind("mark", mark, retries=0))
    q = open_queue(url, reg)
    q.migrate()
    yield q
    q.close()


def test_cancel_a_waiting_job_it_never_runs(queue: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "effects.db")
    keep = queue.defer("mark", db=db, key="kept")
    drop = queue.defer("mark", db=db, key="dropped")
    before = time.time()
    assert queue.cancel(drop) is True
    assert queue.cancel(drop) is False  # once
    assert queue.cancel(999_999) is False  # unknown
    queue.run_worker(FAST)
    assert ran(tmp_path / "effects.db") == ["kept"]
    rows = {r.id: r for r in queue.jobs()}
    assert rows[drop].status == "cancelled" and rows[keep].status == "succeeded"
    assert rows[keep].queued_at is not None and rows[keep].finished_at is not None
    assert rows[keep].queued_at <= rows[keep].finished_at
    assert rows[drop].finished_at is not None and rows[drop].finished_at >= before - 1
    assert queue.cancel(keep) is False  # finished: nothing to cancel


def test_a_running_job_is_not_cancelled(queue: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "effects.db")
    job = queue.defer("mark", db=db, key="slow", hold=1.5)
    worker = threading.Thread(target=queue.run_worker, args=(FAST,))
    worker.start()
    deadline = time.time() + 20
    while {r.id: r for r in queue.jobs()}[job].status != "doing":
        assert time.time() < deadline, "the job never started"
        time.sleep(0.05)
    assert queue.cancel(job) is False
    worker.join(timeout=30)
    assert ran(tmp_path / "effects.db") == ["slow"]
    assert {r.id: r for r in queue.jobs()}[job].status == "succeeded"
