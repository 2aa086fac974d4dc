"""Stopping a running ``sync_connection`` job, on both queues (SQLite and Postgres), over
a served sandbox and a DuckDB warehouse: the queue records the stop request, the sync
stops at its next safe point, the job ends ``aborted`` and the run ``interrupted`` (never
``succeeded``), the progress file says so, and the next job resumes from what the first
complete run committed and leaves the warehouse equal to the sandbox.

Also: a full refresh asked of the job reloads every issue and is recorded as one; and
`request_stop` records nothing for a job that is not running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jirakit import BasicAuth, Jira
from jirakit.jobs.queue import JobQueue, WorkerOptions, open_queue
from jirakit.jobs.tasks import JobContext, JobStopped, SyncTarget, TaskKind, default_registry
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import warehouse_for
from jirakit.sync.progress import read_progress

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
TOKEN_ENV = "JIRAKIT_JOBS_STOP_TEST_TOKEN"
WORKER = WorkerOptions(
    concurrency=1, until_idle=True, heartbeat=0.5, stalled_after=30.0, schedule_every=0, poll=0.05
)


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    # Every answer takes 60 ms, so that a run lasts long enough to be stopped half-way.
    # An incremental run reads metadata, ids and counts at once, so a stop may also land
    # after its extraction: the next run then loads its package, and the stopped run must
    # stay recorded as interrupted (`outcome.keep_unfinished`).
    sandbox = Sandbox(seed=23, issues=40, latency="60")
    with sandbox.serve() as url:
        yield sandbox, url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobQueue]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    registry = default_registry()
    registry.register(TaskKind("hold", hold, retries=3, backoff=0.1))
    q = open_queue(url, registry)
    q.migrate()
    yield q
    q.close()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("JIRAKIT_STATE_DIR", str(tmp_path / "state"))


def hold(ctx: JobContext, fail: bool = False) -> str:
    """Wait for a stop request (30 s at most); then stop, or fail while stopping."""
    deadline = time.monotonic() + 30
    while not ctx.stop_requested():
        if time.monotonic() > deadline:
            return "never asked to stop"
        time.sleep(0.05)
    if fail:
        raise ValueError("failed while stopping")
    raise JobStopped("stopped on request")


@pytest.mark.parametrize("fail", [False, True], ids=["stops", "fails-while-stopping"])
def test_a_stop_request_reaches_the_running_task_and_ends_its_job(
    queue: JobQueue, fail: bool
) -> None:
    job = queue.defer("hold", fail=fail)
    assert job is not None
    worker = threading.Thread(target=queue.run_worker, args=(WORKER,))
    worker.start()
    deadline = time.monotonic() + 30
    while status_of(queue, job) != "doing":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    assert queue.request_stop(job) is True
    worker.join(timeout=60)
    assert not worker.is_alive()
    row = {j.id: j for j in queue.jobs()}[job]
    # Not retried although the kind allows 3 retries, and never succeeded.
    assert row.status == "aborted" and row.attempts == 1
    assert queue.request_stop(job) is False  # finished: nothing to stop
    assert queue.request_stop(999_999) is False  # unknown


def target(url: str, tmp_path: Path) -> SyncTarget:
    return SyncTarget(
        name="acme",
        url=url,
        dest=f"duckdb:///{tmp_path / 'wh.duckdb'}",
        token_env=TOKEN_ENV,
        email=EMAIL,
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def sql(spec: SyncTarget, query: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(spec.dest.removeprefix("duckdb:///"), read_only=True)
    try:
        return [tuple(r) for r in con.execute(query).fetchall()]
    finally:
        con.close()


def run_one(queue: JobQueue, spec: SyncTarget, **args: Any) -> int:
    job = queue.defer("sync_connection", target=spec.as_json(), **args)
    assert job is not None
    queue.run_worker(WORKER)
    return job


def status_of(queue: JobQueue, job: int) -> str:
    return {j.id: j for j in queue.jobs()}[job].status


def test_a_running_sync_stops_at_a_safe_point_and_the_next_resumes(
    queue: JobQueue, site: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sandbox, url = site
    spec = target(url, tmp_path)
    first = run_one(queue, spec)
    assert status_of(queue, first) == "succeeded"
    (cursor,) = sql(spec, "select cursor_to from _sync_runs where status = 'succeeded'")[0]
    # Changes for the next runs to pick up.
    with Jira(url, auth=BasicAuth(EMAIL, TOKEN)) as jira:
        keys = [r.key for r in list(sandbox.store.issues.values())[:3]]
        for key in keys:
            jira.issues.edit(key, summary=f"edited {key}")

    job = queue.defer("sync_connection", target=spec.as_json())
    assert job is not None
    assert queue.request_stop(job) is False  # waiting, not running: nothing recorded
    worker = threading.Thread(target=queue.run_worker, args=(WORKER,))
    worker.start()
    warehouse = warehouse_for(spec.dest)
    deadline = time.monotonic() + 60
    while True:  # wait until the job runs and its sync has begun reading Jira
        live = read_progress(warehouse)
        if (
            status_of(queue, job) == "doing"
            and live is not None
            and live.status == "running"
            and live.requests > 0
        ):
            break
        assert time.monotonic() < deadline, "the sync never got going"
        time.sleep(0.05)
    assert queue.request_stop(job) is True
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert status_of(queue, job) == "aborted"  # not retried, never succeeded
    stopped = read_progress(warehouse)
    assert stopped is not None and stopped.status == "interrupted"
    assert stopped.error and "stopped on request" in stopped.error
    runs = sql(spec, "select status from _sync_runs order by started_at")
    assert [r[0] for r in runs] == ["succeeded", "interrupted"]

    third = run_one(queue, spec)
    assert status_of(queue, third) == "succeeded"
    latest = sql(
        spec, "select status, cursor_from, full_refresh from _sync_runs order by started_at"
    )
    assert [r[0] for r in latest] == ["succeeded", "interrupted", "succeeded"]
    # Resumed from the cursor the first run committed (the stopped one committed none).
    assert latest[-1][1] is not None and latest[-1][1] <= cursor
    assert latest[-1][2] is False
    summaries = dict(sql(spec, "select key, summary from issues"))
    assert all(summaries[k] == f"edited {k}" for k in keys)
    assert len(summaries) == len(sandbox.store.issues)


def test_a_full_refresh_job_reloads_every_issue(
    queue: JobQueue, site: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sandbox, url = site
    spec = target(url, tmp_path)
    assert status_of(queue, run_one(queue, spec)) == "succeeded"
    job = run_one(queue, spec, full_refresh=True)
    row = {j.id: j for j in queue.jobs()}[job]
    assert row.status == "succeeded" and row.args["full_refresh"] is True
    runs = sql(
        spec,
        "select run_id, full_refresh, cursor_from from _sync_runs "
        "where status = 'succeeded' order by started_at",
    )
    # The newest run is the full refresh (dlt's drop_sources refresh, as `jirakit sync
    # --full-refresh` does, drops the source's tables, its run history with them).
    assert runs[-1][1] is True
    loads = sql(
        spec,
        "select count(*) from issues where _dlt_load_id = (select max(_dlt_load_id) from issues)",
    )
    assert loads[0][0] == len(sandbox.store.issues)  # every issue came again
    ids = {int(r[0]) for r in sql(spec, "select id from issues")}
    assert ids == set(sandbox.store.issues)
