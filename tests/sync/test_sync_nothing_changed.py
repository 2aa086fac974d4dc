"""Incremental runs that find little or nothing to do: issues the warehouse already holds as
Jira has them are not read again, unchanged metadata is not loaded again, and deletions are
found by one count when it balances (by listing every id when it does not). After every
run the warehouse equals the ground truth, and every run is recorded in ``_sync_runs``."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.middleware import Middleware
from sync_truth import assert_matches_truth, client, keys, query, sync

from jirakit.sandbox import FrozenClock, Sandbox

STREAMS = ("metadata", "issues")
EVERY_ID = 'updated >= "1970-01-01"'


class Requests:
    """ASGI middleware counting requests by path, and keeping the JQL of id searches."""

    def __init__(self, app: Any, seen: Counter[str], jql: list[str]) -> None:
        self.app = app
        self.seen = seen
        self.jql = jql

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"].split("/rest/", 1)[-1]
            self.seen[f"{scope['method']} {path}"] += 1
            if path.endswith("/search/jql"):
                self.jql.extend(parse_qs(scope.get("query_string", b"").decode()).get("jql", []))
        await self.app(scope, receive, send)


def site(seed: int) -> tuple[Sandbox, FrozenClock, Counter[str], list[str]]:
    clock = FrozenClock(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))
    seen: Counter[str] = Counter()
    jql: list[str] = []
    sandbox = Sandbox(
        seed=seed,
        issues=30,
        projects=2,
        clock=clock,
        middleware=[Middleware(Requests, seen=seen, jql=jql)],
    )
    return sandbox, clock, seen, jql


def listings(jql: list[str]) -> int:
    """Searches that listed every id in scope (not the changed-id search)."""
    return sum(1 for q in jql if q.strip() == EVERY_ID)


def runs(tmp: Path) -> list[tuple[Any, ...]]:
    return query(tmp, "select status, rows from _sync_runs order by started_at")


def test_a_run_with_nothing_changed_reads_and_loads_nothing_and_is_recorded(
    tmp_path: Path,
) -> None:
    sandbox, clock, seen, _jql = site(31)
    with client(sandbox) as jira:
        first = sync(jira, tmp_path, streams=STREAMS)
        assert first.rows["users"] > 0
        clock.advance(seconds=60)
        edited = keys(sandbox, leaf=True)[:3]
        for key in edited:
            jira.issues.edit(key, summary=f"{key} edited")
        clock.advance(seconds=60)
        second = sync(jira, tmp_path, streams=STREAMS)
        assert second.rows["issues"] == 3
        assert second.rows.get("users", 0) == 0  # as the first run loaded them
        clock.advance(seconds=60)  # the edits are still inside the 5-minute lookback
        seen.clear()
        third = sync(jira, tmp_path, streams=STREAMS)
    assert third.status == "succeeded"
    # The changed-id search found the three edited issues again; Jira gave the versions
    # the warehouse holds, so none was read again, and no unchanged metadata was loaded.
    assert third.rows.get("issues", 0) == 0
    assert third.rows.get("issue_field_history", 0) == 0
    assert third.rows.get("users", 0) == 0
    assert third.rows.get("statuses", 0) == 0
    assert seen["POST api/3/issue/bulkfetch"] == 1  # the versions of the three, one request
    assert seen["POST api/3/changelog/bulkfetch"] == 0
    assert seen["POST api/3/search/approximate-count"] == 1
    recorded = runs(tmp_path)
    assert [status for status, _ in recorded] == ["succeeded"] * 3
    loaded = json.loads(recorded[-1][1])  # the run's record says what it loaded
    assert loaded["issues"] == 0 and loaded["users"] == 0 and loaded["_sync_runs"] == 1
    assert_matches_truth(sandbox, tmp_path, worklogs=False)
    summaries = dict(query(tmp_path, "select key, summary from issues"))
    assert all(summaries[k] == f"{k} edited" for k in edited)


def test_an_issue_changed_in_the_same_instant_it_was_read_is_read_again(
    tmp_path: Path,
) -> None:
    """A stored version read in the same millisecond as its update proves nothing: a later
    change in that millisecond carries the same ``updated``. Such an issue is read."""
    sandbox, clock, _seen, _jql = site(32)
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        clock.advance(seconds=60)
        key = keys(sandbox, leaf=True)[0]
        jira.issues.edit(key, summary="first")
        sync(jira, tmp_path, streams=STREAMS)  # same frozen instant as the edit
        jira.issues.edit(key, summary="second")  # same instant again: same `updated`
        again = sync(jira, tmp_path, streams=STREAMS)
    assert again.rows["issues"] >= 1
    assert query(tmp_path, f"select summary from issues where key = '{key}'") == [("second",)]
    assert_matches_truth(sandbox, tmp_path, worklogs=False)


def test_a_deletion_with_nothing_else_changed_is_found(tmp_path: Path) -> None:
    sandbox, clock, _seen, jql = site(33)
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        clock.advance(seconds=60)
        jql.clear()
        sync(jira, tmp_path, streams=STREAMS)
        assert listings(jql) == 0  # the count balanced: no listing
        victim = keys(sandbox, leaf=True)[5]
        jira.issues.delete(victim)
        clock.advance(seconds=60)
        jql.clear()
        found = sync(jira, tmp_path, streams=STREAMS)
        assert listings(jql) == 1  # one fewer than known: every id listed
        assert found.rows["issue_deletions"] == 1
        clock.advance(seconds=60)
        jql.clear()
        sync(jira, tmp_path, streams=STREAMS)
        assert listings(jql) == 0
    assert query(tmp_path, f"select is_deleted from issues where key = '{victim}'") == [(True,)]
    assert_matches_truth(sandbox, tmp_path, worklogs=False)


def test_a_count_that_does_not_balance_falls_back_to_listing(tmp_path: Path) -> None:
    """A deletion and a creation between two runs: the count of ids known plus ids
    changed is one more than Jira's count, so every id is listed and the deletion is
    found; the new issue is read either way."""
    sandbox, clock, _seen, jql = site(34)
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        clock.advance(seconds=60)
        victim = keys(sandbox, leaf=True)[7]
        jira.issues.delete(victim)
        created = jira.issues.create(project="ENG", issue_type="Task", summary="New one")
        clock.advance(seconds=60)
        jql.clear()
        result = sync(jira, tmp_path, streams=STREAMS)
    assert listings(jql) == 1
    assert result.rows["issue_deletions"] == 1
    assert query(tmp_path, f"select is_deleted from issues where key = '{victim}'") == [(True,)]
    assert query(tmp_path, f"select summary from issues where key = '{created.key}'") == [
        ("New one",)
    ]
    assert_matches_truth(sandbox, tmp_path, worklogs=False)


def test_counts_are_trusted_for_list_every_then_every_id_is_listed(tmp_path: Path) -> None:
    sandbox, clock, _seen, jql = site(35)
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)  # a full run lists every id
        for advance, listed in ((1800, 0), (2400, 1), (600, 0)):
            clock.advance(seconds=advance)
            jql.clear()
            sync(jira, tmp_path, streams=STREAMS, list_every=timedelta(hours=1))
            assert listings(jql) == listed, advance
    assert_matches_truth(sandbox, tmp_path, worklogs=False)


def test_worklogs_read_at_the_cursor_are_not_read_again_and_new_ones_arrive(
    tmp_path: Path,
) -> None:
    """``worklog/updated`` gives the worklogs updated at its cursor again, every run; those
    the last run read are left out, and a worklog added since arrives."""
    sandbox, clock, seen, _jql = site(36)
    with client(sandbox) as jira:
        sync(jira, tmp_path)
        clock.advance(seconds=120)
        seen.clear()
        quiet = sync(jira, tmp_path)
        assert quiet.rows.get("worklogs", 0) == 0
        assert seen["POST api/3/worklog/list"] == 0
        logged = keys(sandbox, leaf=True)[2]
        jira.worklogs.add(logged, 1800, started=clock.now())
        clock.advance(seconds=120)  # past the minute worklog/updated leaves out
        added = sync(jira, tmp_path)
        assert added.rows["worklogs"] == 1
        clock.advance(seconds=120)
        assert sync(jira, tmp_path).rows.get("worklogs", 0) == 0
    assert_matches_truth(sandbox, tmp_path)
