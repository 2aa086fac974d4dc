"""The warehouse consumer writes what a sync writes.

A sync loads the sandbox into one DuckDB; the receiver (real HTTP, with the sandbox's
duplicates and reordering on) keeps it current through a random workload; a fresh full
sync into another DuckDB is the reference: every current row equal on every column, and
deletions as ``is_deleted``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from warehouse_compare import deleted, differences
from webhook_helpers import SECRET, ShiftedClock, register_admin
from workload import Shared, run_workload

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.serve import serve_in_thread
from jirakit.webhooks.warehouse import attach_warehouse, pipeline_name


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(
        seed=11,
        issues=40,
        projects=2,
        clock=ShiftedClock(),
        webhook_backoff=0.01,
        webhook_duplicates=0.2,
        webhook_reorder=0.2,
    ) as sb:
        yield sb


def sync_into(jira: Jira, db: Path, state: Path) -> None:
    result = run_sync(
        jira, warehouse=warehouse_for(f"duckdb:///{db}"), pipelines_dir=str(state), models=False
    )
    assert result.status == "succeeded"


def settle(receiver: Receiver, timeout: float = 120.0) -> None:
    """Until every delivery is applied and every marked issue loaded (twice in a row)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        assert time.monotonic() < deadline, f"not settled: {receiver.inbox.counts()}"
        busy = receiver.inbox.has_pending() or receiver.inbox.dirty_count() > 0
        quiet = 0 if busy else quiet + 1
        time.sleep(0.2)


def test_receiver_warehouse_equals_a_full_sync(sandbox: Sandbox, tmp_path: Path):
    with sandbox.serve() as site, Jira(site, auth=BasicAuth(*sandbox.auth)) as jira:
        live = tmp_path / "live.duckdb"
        sync_into(jira, live, tmp_path / "sync-state")
        receiver = Receiver(
            f"sqlite:///{tmp_path / 'inbox.db'}", Secrets(hmac=(SECRET,)), poll_interval=0.1
        )
        fetch = attach_warehouse(
            receiver, jira, f"duckdb:///{live}", pipelines_dir=str(tmp_path / "hook-state")
        )
        receiver.start()
        shared = Shared(sandbox)
        try:
            with (
                serve_in_thread(receiver.app) as url,
                httpx.Client(base_url=site, auth=sandbox.auth) as http,
            ):
                register_admin(http, f"{url}/webhooks/jira")
                done = run_workload([jira], shared, 80, seed=3)
                assert sandbox.webhooks.flush(60)
                settle(receiver)
        finally:
            receiver.close()
        assert {"edit", "comment", "worklog", "delete", "create"} <= set(done)
        assert fetch.reads > 0
        # Jira leaves the last minute out of worklog/updated: step past it, then the
        # reference sync sees every worklog
        sandbox.clock.advance(minutes=2)  # type: ignore[attr-defined]
        reference = tmp_path / "reference.duckdb"
        sync_into(jira, reference, tmp_path / "reference-state")
    problems = differences(live, reference)
    assert not problems, "\n".join(problems)
    gone = shared.deleted_ids
    assert gone and gone <= deleted(live)


def test_deletions_tombstone_child_rows_and_a_late_update_cannot_resurrect(
    sandbox: Sandbox, tmp_path: Path
):
    """An issue deleted after a comment and a worklog: the warehouse marks it and its child
    rows deleted; the late ``issue_updated`` (replayed) does not bring it back."""
    with sandbox.serve() as site, Jira(site, auth=BasicAuth(*sandbox.auth)) as jira:
        live = tmp_path / "live.duckdb"
        sync_into(jira, live, tmp_path / "sync-state")
        receiver = Receiver(f"sqlite:///{tmp_path / 'inbox.db'}", Secrets(hmac=(SECRET,)))
        attach_warehouse(receiver, jira, f"duckdb:///{live}", pipelines_dir=str(tmp_path / "s"))
        receiver.start()
        try:
            with (
                serve_in_thread(receiver.app) as url,
                httpx.Client(base_url=site, auth=sandbox.auth) as http,
            ):
                register_admin(http, f"{url}/webhooks/jira")
                shared = Shared(sandbox)
                key = shared.keys[0]
                comment = jira.comments.add(key, "before the end")
                worklog = jira.worklogs.add(key, 600, sandbox.clock.now())
                jira.issues.edit(key, summary="last words")
                jira.issues.delete(key)
                assert sandbox.webhooks.flush(30)
                settle(receiver)
                n = receiver.inbox.replay(since_ms=0, events=["jira:issue_updated"])
                assert n >= 1
                settle(receiver)
        finally:
            receiver.close()
    issue_id = shared.ids[key]
    assert issue_id in deleted(live)
    con = duckdb.connect(str(live), read_only=True)
    try:
        for table, made in (("comments", comment.id), ("worklogs", worklog.id)):
            rows = con.execute(f"select id, is_deleted from {table} where issue_id = ?", [issue_id])
            found = dict(rows.fetchall())
            # rows loaded before the deletion are marked deleted; one made just before it
            # may never have been loaded (the read after it found the issue gone)
            assert found and all(found.values()), (table, found)
            assert found.get(int(made), True)
    finally:
        con.close()


def test_a_burst_on_one_issue_costs_one_read(sandbox: Sandbox, tmp_path: Path):
    """100 events on one issue, processed before the next flush: one issue/bulkfetch and
    one changelog/bulkfetch."""
    reads: list[str] = []

    def count(request: httpx.Request) -> None:
        reads.append(f"{request.method} {request.url.path}")

    with sandbox.serve() as site:
        jira = Jira(site, auth=BasicAuth(*sandbox.auth))
        counted = Jira(site, auth=BasicAuth(*sandbox.auth), transport=_Recording(count))
        receiver = Receiver(f"sqlite:///{tmp_path / 'inbox.db'}", Secrets(hmac=(SECRET,)))
        snapshots: list[Any] = []
        receiver.on_snapshot(snapshots.append)
        from jirakit.webhooks.warehouse import fetch_on_notify

        fetch = fetch_on_notify(receiver, counted, interval=3600)  # flushed by hand below
        with (
            serve_in_thread(receiver.app) as url,
            httpx.Client(base_url=site, auth=sandbox.auth) as http,
        ):
            register_admin(http, f"{url}/webhooks/jira")
            key = Shared(sandbox).keys[0]
            for n in range(100):
                jira.issues.edit(key, summary=f"burst {n}")
            assert sandbox.webhooks.flush(60)
            receiver.process_pending()
        assert receiver.inbox.counts() == {"applied": 100}
        assert fetch.drain() == 1
        receiver.close()
        jira.close()
        counted.close()
    assert reads == ["POST /rest/api/3/issue/bulkfetch", "POST /rest/api/3/changelog/bulkfetch"]
    [snapshot] = snapshots
    assert [i["key"] for i in snapshot.issues] == [key]
    assert snapshot.issues[0]["fields"]["summary"] == "burst 99"


class _Recording(httpx.HTTPTransport):
    def __init__(self, record: Callable[[httpx.Request], None]) -> None:
        super().__init__()
        self.record = record

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.record(request)
        return super().handle_request(request)


def test_pipeline_names_are_per_site_destination_and_dataset():
    a = pipeline_name("https://a.atlassian.net", "duckdb:///x.duckdb", "main")
    assert a.startswith("jirakit_webhooks_")
    assert a == pipeline_name("https://a.atlassian.net", "duckdb:///x.duckdb", "main")
    assert a != pipeline_name("https://b.atlassian.net", "duckdb:///x.duckdb", "main")
    assert a != pipeline_name("https://a.atlassian.net", "duckdb:///x.duckdb", "jira")
    # one site and one file, however they are written
    assert a == pipeline_name(
        "https://A.atlassian.net/", f"duckdb:///{Path('x.duckdb').resolve()}", "main"
    )


def test_a_reader_holding_the_file_delays_a_load_and_does_not_fail_it(
    sandbox: Sandbox, tmp_path: Path
):
    """`jirakit sql` or a dashboard page reading the warehouse holds the DuckDB file for a
    moment, and no writer can open it meanwhile: the receiver's load waits that moment
    out (it used to fail and wait for the inbox's retry, 1 s, 5 s, 30 s … later), and
    between loads it keeps the file closed, so readers get in."""
    import subprocess
    import sys

    from jirakit.webhooks.consumers import Snapshot
    from jirakit.webhooks.warehouse import WarehouseSink

    with sandbox.serve() as site, Jira(site, auth=BasicAuth(*sandbox.auth)) as jira:
        live = tmp_path / "live.duckdb"
        sync_into(jira, live, tmp_path / "sync-state")
        key = Shared(sandbox).keys[0]
        jira.issues.edit(key, summary="written while a reader held the file")
        raw = jira.issues.get(key).raw
        sink = WarehouseSink(jira, f"duckdb:///{live}", pipelines_dir=str(tmp_path / "hook-state"))
        reader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time\n"
                f"c = duckdb.connect({str(live)!r}, read_only=True)\n"
                "print('holding', flush=True)\n"
                "time.sleep(1.5)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout is not None and reader.stdout.readline().strip() == "holding"
            sink(Snapshot(issues=[raw], histories={}, deleted_issues=()))
            assert reader.poll() == 0, "the load finished while the reader still held the file"
        finally:
            reader.wait(10)
            if reader.stdout is not None:
                reader.stdout.close()
        # between loads the file is closed: a reader opens it at once
        con = duckdb.connect(str(live), read_only=True)
        try:
            summary = con.sql(f"select summary from issues where key = '{key}'").fetchone()
        finally:
            con.close()
    assert summary == ("written while a reader held the file",)
