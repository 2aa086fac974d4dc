"""The Syncs page's controls over a running service (/ui in `jirakit serve`), a real job
queue and a worker, syncing a served sandbox (every answer 120 ms late, one in twenty a
429) into a DuckDB warehouse:

- **Full refresh**: the button queues a ``sync_connection`` job with ``full_refresh``;
  it reloads every issue (the rows read back equal the sandbox's store) and the run is
  recorded, and shown, as a full refresh;
- **live progress**: while the job runs the page shows its phase, rows per table,
  requests and rate-limit waits (from the progress file the job keeps), then the finished
  run's figures, the waits included (``_sync_runs.rate_limited``/``waited_seconds``);
- **Stop**: asks the running job to stop; it stops at the sync's next safe point, the job
  shows as stopped and the run as interrupted (never succeeded), and the next sync
  resumes from the committed cursor. On the SQLite queue and on Postgres (procrastinate).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from dashboard_support import EMAIL, Synced
from service_world import TOKEN_ENV, World, build_world, csrf_of

from jirakit.jobs.queue import JobQueue, WorkerOptions, open_queue
from jirakit.jobs.tasks import SyncTarget
from jirakit.sandbox import Sandbox
from jirakit.ui.app import _duration
from needs import PG_DSN, pg_url, require_postgres

WORKER = WorkerOptions(until_idle=True, schedule_every=0, poll=0.05, heartbeat=0.5)


@pytest.fixture(scope="module")
def slow_site() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=29, issues=40, latency="120", faults="429=0.05")
    with sandbox.serve() as url:
        yield sandbox, url


@pytest.fixture(scope="module")
def own(
    synced: Synced,
    slow_site: tuple[Sandbox, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """A service of its own (these tests change its queue and warehouses); tenant B's
    connection syncs the slow sandbox into an empty DuckDB file."""
    work = tmp_path_factory.mktemp("sync-control")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(TOKEN_ENV, "sandbox-token")
        env.setenv("JIRAKIT_STATE_DIR", str(work / "state"))
        world = build_world(synced, slow_site[1], work)
        world.queue.add_target(target(world, slow_site[1], work))
        try:
            yield world
        finally:
            world.receiver_a.close()
            world.state.engine.dispose()


def target(world: World, url: str, work: Path) -> SyncTarget:
    return SyncTarget(
        name=world.conns["b"],
        url=url,
        dest=f"duckdb:///{work / 'b.duckdb'}",
        email=EMAIL,
        token_env=TOKEN_ENV,
        pipelines_dir=str(work / "pipelines-b"),
    )


def dest(world: World) -> str:
    found = next(t for t, _ in world.queue.targets() if t.name == world.conns["b"])
    return found.dest.removeprefix("duckdb:///")


def sql(world: World, query: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(dest(world), read_only=True)
    try:
        return [tuple(r) for r in con.execute(query).fetchall()]
    finally:
        con.close()


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def job_status(html: str, job: int) -> str | None:
    found = re.search(rf'data-job="{job}" data-status="(\w+)"', html)
    return found.group(1) if found else None


def post(http: httpx.Client, world: World, action: str) -> tuple[str, int | None]:
    """Press a button of the Syncs page; what the page then says, and the job queued."""
    conn = world.conns["b"]
    csrf = csrf_of(http.get("/ui/syncs", params={"connection": conn}).text)
    answer = http.post(f"/ui/syncs/{conn}/{action}", data={"csrf_token": csrf})
    assert answer.status_code == 303, answer.text
    said = str(answer.headers["x-jirakit-result"])
    found = re.search(r"\(job (\d+)\)", said)
    return said, int(found.group(1)) if found else None


def worker(queue: JobQueue) -> threading.Thread:
    thread = threading.Thread(target=queue.run_worker, args=(WORKER,), daemon=True)
    thread.start()
    return thread


def follow(
    http: httpx.Client, world: World, job: int, until: tuple[str, ...], seen: list[str]
) -> str:
    """Poll the page's live part until the job's status is one of ``until``; each
    fragment polled is appended to ``seen``."""
    deadline = time.monotonic() + 180
    while True:
        live = http.get("/ui/syncs/live", params={"connection": world.conns["b"]})
        assert live.status_code == 200
        seen.append(live.text)
        if job_status(live.text, job) in until:
            return live.text
        assert time.monotonic() < deadline, f"job {job} never reached {until}"
        time.sleep(0.1)


def sync_once(http: httpx.Client, world: World, action: str = "start") -> int:
    said, job = post(http, world, action)
    assert job is not None, said
    thread = worker(world.queue)
    follow(http, world, job, ("succeeded", "failed", "aborted"), [])
    thread.join(timeout=120)
    assert {j.id: j for j in world.queue.jobs()}[job].status == "succeeded"
    return job


def test_full_refresh_reloads_every_issue_and_is_recorded_as_one(
    own: World, slow_site: tuple[Sandbox, str]
) -> None:
    sandbox, _ = slow_site
    with own.logged_in("b") as b:
        page = b.get("/ui/syncs", params={"connection": own.conns["b"]}).text
        assert 'id="sync-full"' in page  # the queue's sync task takes full_refresh
        sync_once(b, own)
        sync_once(b, own, "full-refresh")
        job = max(j.id for j in own.queue.jobs())
        assert {j.id: j for j in own.queue.jobs()}[job].args["full_refresh"] is True
        final = b.get("/ui/syncs", params={"connection": own.conns["b"]}).text
    newest = sql(own, "select run_id, full_refresh from _sync_runs order by started_at desc")[0]
    assert newest[1] is True
    row = re.search(rf'<tr data-run="{newest[0]}".*?</tr>', final, re.S)
    assert row is not None and "full refresh" in text(row.group(0))
    assert re.search(rf'data-job="{job}"[^>]*>\s*<td[^>]*>{job} <span class="muted">full', final)
    # Every issue came again with the refresh's load, and the warehouse equals the store.
    loaded = sql(own, "select id, _dlt_load_id from issues where not is_deleted")
    assert {int(i) for i, _ in loaded} == set(sandbox.store.issues)
    assert len({load for _, load in loaded}) == 1


def test_the_page_follows_a_running_job_then_shows_its_figures(own: World) -> None:
    with own.logged_in("b") as b:
        _, job = post(b, own, "start")
        assert job is not None
        thread = worker(own.queue)
        seen: list[str] = []
        final = follow(b, own, job, ("succeeded", "failed"), seen)
        thread.join(timeout=120)
        page = b.get("/ui/syncs", params={"connection": own.conns["b"]}).text
    assert job_status(final, job) == "succeeded"
    running = [t for t in seen if 'id="live-phase"' in t]
    assert running, "the page never showed the run in progress"
    phases = {re.search(r'id="live-phase">([^<]+?) <span', t).group(1) for t in running}  # type: ignore[union-attr]
    assert phases & {"metadata", "issues", "worklogs", "loading", "normalizing"}, phases
    requests = [
        int(re.search(r'id="live-requests">([\d,]+)<', t).group(1).replace(",", ""))  # type: ignore[union-attr]
        for t in running
    ]
    assert max(requests) > 0 and requests == sorted(requests)  # counts only go up
    assert any('id="live-rows"' in t for t in running)  # rows per table as they come
    assert all("waiting on limits and retries" in text(t) for t in running)
    # The finished run, from the warehouse, on the page: its requests and waits.
    run_id, requests_done, limited, waited = sql(
        own,
        "select run_id, requests, rate_limited, waited_seconds from _sync_runs "
        "order by started_at desc limit 1",
    )[0]
    assert limited is not None and waited is not None
    row = re.search(rf'<tr data-run="{run_id}" data-status="succeeded".*?</tr>', page, re.S)
    assert row is not None
    cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]
    assert cells[4] == f"{requests_done:,}"
    assert cells[5].startswith(_duration(waited))
    if limited:
        assert f"({limited:,}× 429)" in cells[5]
    ended = text(final)
    assert "Last sync succeeded" in ended and "rate-limited (429)" in ended


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def on_queue(
    request: pytest.FixtureRequest, own: World, slow_site: tuple[Sandbox, str], tmp_path: Path
) -> Iterator[World]:
    """``own`` with its job queue on SQLite (as built) or on Postgres (procrastinate, in
    a database of this test's own)."""
    if request.param == "sqlite":
        yield own
        return
    import psycopg
    from psycopg.conninfo import make_conninfo

    require_postgres()
    name = f"t_ui15c_{int(time.time() * 1000) % 10**9}"
    admin = psycopg.connect(PG_DSN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    saved = own.queue
    queue = open_queue(pg_url(make_conninfo(PG_DSN, dbname=name)))
    try:
        queue.migrate()
        for spec, _ in saved.targets():
            queue.add_target(spec)
        own.queue = own.source.queue = queue
        yield own
    finally:
        own.queue = own.source.queue = saved
        queue.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_stop_ends_a_running_sync_at_a_safe_point_and_the_next_resumes(
    on_queue: World, slow_site: tuple[Sandbox, str]
) -> None:
    world = on_queue
    sandbox, _ = slow_site
    with world.logged_in("b") as b:
        if not sql_or_empty(world):
            sync_once(b, world)  # a committed cursor to resume from
        committed = sql(
            world,
            "select max(cursor_to) from _sync_runs where status = 'succeeded'",
        )[0][0]
        succeeded = count(world, "succeeded")
        _, job = post(b, world, "start")
        assert job is not None
        thread = worker(world.queue)
        deadline = time.monotonic() + 60
        while True:  # running, and its sync has begun asking Jira
            live = b.get("/ui/syncs/live", params={"connection": world.conns["b"]}).text
            found = re.search(r'id="live-requests">([\d,]+)<', live)
            if job_status(live, job) == "doing" and found and int(found.group(1)) > 0:
                break
            assert time.monotonic() < deadline, "the sync never got going"
            time.sleep(0.05)
        said, _ = post(b, world, "stop")
        assert "stops at its next safe point" in said
        ended = follow(b, world, job, ("aborted", "succeeded", "failed"), [])
        thread.join(timeout=120)
        assert job_status(ended, job) == "aborted", text(ended)[:1500]
        assert re.search(rf'data-job="{job}" data-status="aborted">.*?>stopped<', ended, re.S)
        page = b.get("/ui/syncs", params={"connection": world.conns["b"]}).text
        newest = sql(world, "select run_id, status from _sync_runs order by started_at desc")[0]
        assert newest[1] == "interrupted"
        assert f'data-run="{newest[0]}" data-status="interrupted"' in page
        assert count(world, "succeeded") == succeeded  # the stopped run never succeeded
        assert "stopped on request" in text(page)
        # The next sync resumes from the committed cursor and completes the warehouse.
        sync_once(b, world)
    status, cursor_from, full = sql(
        world,
        "select status, cursor_from, full_refresh from _sync_runs order by started_at desc",
    )[0]
    assert status == "succeeded" and full is False
    assert cursor_from is not None and cursor_from <= committed
    ids = {int(r[0]) for r in sql(world, "select id from issues where not is_deleted")}
    assert ids == set(sandbox.store.issues)


def sql_or_empty(world: World) -> list[tuple[Any, ...]]:
    if not Path(dest(world)).exists():
        return []
    return sql(world, "select 1 from _sync_runs where status = 'succeeded' limit 1")


def count(world: World, status: str) -> int:
    return int(sql(world, f"select count(*) from _sync_runs where status = '{status}'")[0][0])
