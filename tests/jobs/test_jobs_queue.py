"""The queue's rules on both backends: locks, queueing locks, retries, dead workers."""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from jirakit.jobs.queue import JobQueue, WorkerOptions, open_queue
from jirakit.jobs.tasks import (
    RESERVED_KINDS,
    JobContext,
    SyncTarget,
    TaskKind,
    TaskRegistry,
    default_registry,
)

FAST = WorkerOptions(
    concurrency=3, until_idle=True, heartbeat=0.2, stalled_after=1.0, schedule_every=0, poll=0.02
)


def record(
    ctx: JobContext,
    db: str,
    key: str,
    hold: float = 0.0,
    lock: str | None = None,
    qlock: str | None = None,
) -> str:
    """An effect keyed by ``key`` (applied once however often the job runs), and the span
    of time it ran, to check locks."""
    started = time.time()
    time.sleep(hold)
    con = sqlite3.connect(db, timeout=30)
    with con:
        con.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, n INT)")
        con.execute("CREATE TABLE IF NOT EXISTS spans (key TEXT, started REAL, ended REAL)")
        con.execute(
            "INSERT INTO effects VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET n = n + 1", (key,)
        )
        con.execute("INSERT INTO spans VALUES (?, ?, ?)", (key, started, time.time()))
    con.close()
    return key


def flaky(ctx: JobContext, db: str, key: str, fail_times: int) -> int:
    if ctx.attempt <= fail_times:
        raise RuntimeError(f"attempt {ctx.attempt} fails on purpose")
    record(ctx, db, key)
    return ctx.attempt


def registry() -> TaskRegistry:
    reg = TaskRegistry()
    reg.register(
        TaskKind(
            "record", record, lock=lambda a: a.get("lock"), queueing_lock=lambda a: a.get("qlock")
        )
    )
    reg.register(TaskKind("flaky", flaky, retries=2, backoff=0.05))
    return reg


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue(request, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    q = open_queue(url, registry())
    q.migrate()
    yield q
    q.close()


def effects(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT key, n FROM effects").fetchall())
    finally:
        con.close()


def test_jobs_run_once_each(queue: JobQueue, tmp_path: Path):
    db = str(tmp_path / "effects.db")
    ids = [queue.defer("record", db=db, key=f"k{i}") for i in range(12)]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 12
    assert queue.run_worker(FAST) == 12
    assert effects(tmp_path / "effects.db") == {f"k{i}": 1 for i in range(12)}
    assert {j.status for j in queue.jobs()} == {"succeeded"}


def test_a_lock_runs_its_jobs_one_at_a_time(queue: JobQueue, tmp_path: Path):
    db = str(tmp_path / "effects.db")
    for i in range(4):
        queue.defer("record", db=db, key=f"same{i}", hold=0.15, lock="target-a")
    for i in range(2):
        queue.defer("record", db=db, key=f"other{i}", hold=0.15, lock="target-b")
    queue.run_worker(FAST)
    con = sqlite3.connect(db)
    spans = con.execute("SELECT key, started, ended FROM spans ORDER BY started").fetchall()
    con.close()
    same = [s for s in spans if s[0].startswith("same")]
    assert len(same) == 4
    for a, b in itertools.pairwise(same):
        assert b[1] >= a[2] - 0.01  # the next started after the previous ended
    other = [s for s in spans if s[0].startswith("other")]
    assert any(o[1] < same[-1][2] for o in other)  # another lock ran alongside


def test_a_queueing_lock_keeps_one_waiting(queue: JobQueue, tmp_path: Path):
    db = str(tmp_path / "effects.db")
    first = queue.defer("record", db=db, key="a", qlock="sync:x")
    assert first is not None
    assert queue.defer("record", db=db, key="b", qlock="sync:x") is None
    queue.run_worker(FAST)
    assert queue.defer("record", db=db, key="c", qlock="sync:x") is not None  # none waiting now


def test_failures_are_retried_then_succeed(queue: JobQueue, tmp_path: Path):
    db = str(tmp_path / "effects.db")
    queue.defer("flaky", db=db, key="ok", fail_times=2)
    queue.defer("flaky", db=db, key="never", fail_times=9)
    deadline = time.time() + 30
    while time.time() < deadline:
        queue.run_worker(FAST)
        if {j.status for j in queue.jobs()} <= {"succeeded", "failed"}:
            break
    by_key = {j.args["key"]: j for j in queue.jobs()}
    assert by_key["ok"].status == "succeeded" and by_key["ok"].attempts == 3
    assert by_key["never"].status == "failed" and by_key["never"].attempts == 3
    assert effects(tmp_path / "effects.db") == {"ok": 1}


def test_bad_urls_and_kinds_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="use postgresql://user@host/db"):
        open_queue("mysql://x")
    q = open_queue(f"sqlite:///{tmp_path / 'q.db'}")
    with pytest.raises(KeyError, match="no task kind 'service.nope'"):
        q.defer("service.nope", id=1)
    with pytest.raises(KeyError, match="service.deliver needs delivery_id"):
        q.defer("service.deliver", id=1)
    assert "sync_connection" in default_registry() and "schedule_syncs" in default_registry()
    assert all(kind in default_registry() for kind in RESERVED_KINDS)


def test_schedule_syncs_defers_due_targets_once(tmp_path: Path):
    q = open_queue(f"sqlite:///{tmp_path / 'q.db'}")
    q.add_target(SyncTarget("acme", "http://x", "duckdb:///a.duckdb", email="a@b.c", every=60))
    q.add_target(SyncTarget("manual", "http://x", "duckdb:///m.duckdb", email="a@b.c"))
    ctx = q._context(0, 1)
    from jirakit.jobs.tasks import schedule_syncs

    assert schedule_syncs(ctx) == ["acme"]
    assert schedule_syncs(ctx) == []  # not due again for a minute
    [job] = q.jobs()
    assert job.task == "sync_connection" and job.lock == "sync:acme"
    assert json.loads(json.dumps(job.args))["target"]["name"] == "acme"


def _work(url: str) -> None:
    """A worker in a forked child (killed by the test)."""
    q = open_queue(url, registry())
    q.run_worker(WorkerOptions(concurrency=1, heartbeat=0.2, stalled_after=1.0, schedule_every=0))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_dead_workers_job_gives_way_to_one_waiting_under_its_queueing_lock(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
):
    """A job deferred under a queueing lock while the lock's job ran (the service defers
    a delivery again while its job runs) must not leave the two waiting for each other
    when the running one's worker dies: the dead one is closed, the waiting one runs."""
    import multiprocessing
    import os
    import signal

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = str(request.getfixturevalue("pg_database"))
    db = str(tmp_path / "effects.db")
    q = open_queue(url, registry())
    q.migrate()
    try:
        q.defer("record", db=db, key="first", hold=60, lock="L", qlock="Q")
        child = multiprocessing.get_context("fork").Process(target=_work, args=(url,))
        child.start()
        deadline = time.time() + 30
        while not [j for j in q.jobs() if j.status == "doing"]:
            assert time.time() < deadline, "the child worker took no job"
            time.sleep(0.05)
        assert q.defer("record", db=db, key="second", lock="L", qlock="Q") is not None
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        q.run_worker(FAST)
        by_key = {j.args["key"]: j for j in q.jobs()}
        assert by_key["first"].status == "failed" and by_key["second"].status == "succeeded"
        assert effects(tmp_path / "effects.db") == {"second": 1}
    finally:
        q.close()
