"""Incremental syncs at the edges: search lag, minute granularity, the user's time zone
across DST, deletions, restores, removed comments and links. After every sync the
warehouse equals the ground truth (unless a test shows how a too-short lookback loses)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from starlette.middleware import Middleware
from sync_truth import assert_matches_truth, clean_client, client, keys, query, sync

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sync.source import jql_time

STREAMS = ("metadata", "issues")


class JqlRecorder:
    """ASGI middleware keeping the JQL of every search/jql request."""

    def __init__(self, app: Any, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/search/jql"):
            query_string = parse_qs(scope.get("query_string", b"").decode())
            if "jql" in query_string:
                self.seen.extend(query_string["jql"])
            else:  # POST: the JQL is in the body
                body = b""
                more = True
                messages = []
                while more:
                    message = await receive()
                    messages.append(message)
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                self.seen.append(json.loads(body or b"{}").get("jql", ""))
                replay = iter(messages)

                async def again() -> Any:
                    return next(replay)

                await self.app(scope, again, send)
                return
        await self.app(scope, receive, send)


def lagged_site(start: datetime, **kwargs: Any) -> tuple[Sandbox, FrozenClock]:
    clock = FrozenClock(start)
    return Sandbox(seed=8, issues=60, clock=clock, search_lag=60.0, **kwargs), clock


def summaries(tmp: Path, wanted: list[str]) -> dict[str, str]:
    names = ", ".join(f"'{k}'" for k in wanted)
    return dict(query(tmp, f"select key, summary from issues where key in ({names})"))


@pytest.mark.parametrize(
    ("lookback", "loses"), [(timedelta(minutes=5), False), (timedelta(seconds=5), True)]
)
def test_search_lag_is_covered_by_the_lookback(
    tmp_path: Path, lookback: timedelta, loses: bool
) -> None:
    """Changes made 20 s before a sync are not searchable yet (60 s lag). The next sync
    finds them through the lookback window; a lookback shorter than the lag loses them.
    A new issue is found either way (it is new to the id reconciliation too)."""
    sandbox, clock = lagged_site(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with client(sandbox) as jira, clean_client(sandbox) as admin:
        sync(jira, tmp_path, streams=STREAMS, lookback=lookback)
        clock.advance(seconds=10 * 60 + 50)  # 09:10:50
        edited = keys(sandbox, leaf=True)[:3]
        for key in edited:
            # Through the lagged app, so the change is lagged in search.
            jira.issues.edit(key, summary=f"Edited {key} just before a sync")
        created = jira.issues.create(project="ENG", issue_type="Task", summary="Brand new")
        clock.advance(seconds=20)  # 09:11:10: the second sync cannot see them yet
        second = sync(jira, tmp_path, streams=STREAMS, lookback=lookback)
        assert second.status == "succeeded"
        assert all(not s.startswith("Edited") for s in summaries(tmp_path, edited).values())
        assert summaries(tmp_path, [created.key]) == {}
        clock.advance(seconds=120)  # searchable now
        sync(jira, tmp_path, streams=STREAMS, lookback=lookback)
        assert admin.issues.get(edited[0]).summary.startswith("Edited")
    now = summaries(tmp_path, edited)
    assert summaries(tmp_path, [created.key]) == {created.key: "Brand new"}
    if loses:
        # updated >= "09:11" (09:11:10 - 5 s, floored) misses changes made at 09:10:50.
        assert all(not s.startswith("Edited") for s in now.values())
    else:
        assert all(s.startswith("Edited") for s in now.values())
        assert_matches_truth(sandbox, tmp_path, worklogs=False)


def test_changes_at_minute_boundaries_are_never_lost(tmp_path: Path) -> None:
    """JQL compares whole minutes. Changes and syncs land on :00.000, :59.999 and in the
    same millisecond as a sync's start; with no lookback at all nothing is lost, because
    the cursor is floored to the minute and is the previous run's start."""
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, 59, 999000, tzinfo=UTC))
    sandbox = Sandbox(seed=9, issues=50, clock=clock)
    pool = keys(sandbox, leaf=True)
    steps = [0.001, 59.998, 0.0]
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS, lookback=timedelta(0))
        for n, step in enumerate(steps):
            jira.issues.edit(pool[n], summary=f"same instant as the last sync {n}")
            clock.advance(seconds=step)
            jira.issues.edit(pool[n + 10], summary=f"{step} s later {n}")
            sync(jira, tmp_path, streams=STREAMS, lookback=timedelta(0))
            assert_matches_truth(sandbox, tmp_path, worklogs=False)


def set_time_zone(sandbox: Sandbox, zone: str) -> None:
    sandbox.store.users[sandbox.admin_account_id]["timeZone"] = zone


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # spring forward: 01:59 EST -> 03:00 EDT (07:00 UTC)
        ("America/New_York", "2026-03-08T06:50:00+00:00", "2026-03-08T07:05:00+00:00"),
        # fall back: 03:00 CEST -> 02:00 CET (01:00 UTC); 00:30 UTC is 02:30 CEST, a wall
        # time that happens twice
        ("Europe/Berlin", "2026-10-25T00:30:00+00:00", "2026-10-25T01:40:00+00:00"),
    ],
)
def test_cursor_in_the_users_zone_across_dst(
    tmp_path: Path, zone: str, before: str, after: str
) -> None:
    seen: list[str] = []
    clock = FrozenClock(datetime.fromisoformat(before) - timedelta(minutes=20))
    sandbox = Sandbox(
        seed=10, issues=50, clock=clock, middleware=[Middleware(JqlRecorder, seen=seen)]
    )
    set_time_zone(sandbox, zone)
    pool = keys(sandbox, leaf=True)
    with client(sandbox) as jira:
        assert jira.myself().time_zone == zone
        sync(jira, tmp_path, streams=STREAMS, lookback=timedelta(0))
        jira.issues.edit(pool[0], summary="between the first two syncs")
        clock.set(datetime.fromisoformat(before))  # the second sync, before the switch
        second = sync(jira, tmp_path, streams=STREAMS, lookback=timedelta(0))
        for n in range(1, 4):  # changes on both sides of the switch
            clock.advance(seconds=(datetime.fromisoformat(after) - clock.now()).seconds / 4)
            jira.issues.edit(pool[n], summary=f"around the switch {n}")
        clock.set(datetime.fromisoformat(after))
        third = sync(jira, tmp_path, streams=STREAMS, lookback=timedelta(0))
        assert third.rows["issues"] >= 3
    assert_matches_truth(sandbox, tmp_path, worklogs=False)

    # The cursor went out as the user's wall time, never passing the previous start.
    tz = ZoneInfo(zone)
    cursors = [j for j in seen if j.startswith('updated >= "') and "1970" not in j]
    assert cursors[0] == f'updated >= "{jql_time(second.run.cursor_from, tz)}" ORDER BY updated ASC'
    assert cursors[1] == f'updated >= "{jql_time(third.run.cursor_from, tz)}" ORDER BY updated ASC'
    assert third.run.cursor_from is not None and third.run.cursor_from.utcoffset() == timedelta(0)
    wall = datetime.strptime(cursors[1].split('"')[1], "%Y-%m-%d %H:%M")
    for fold in (0, 1):
        assert wall.replace(tzinfo=tz, fold=fold) <= third.run.cursor_from

    # Every warehouse timestamp is a UTC timestamp; no row counted twice.
    types = query(
        tmp_path,
        "select distinct data_type from information_schema.columns where table_name in "
        "('issues', 'issue_field_history', 'comments') and column_name like '%\\_at' escape '\\'",
    )
    assert types == [("TIMESTAMP WITH TIME ZONE",)]
    assert query(tmp_path, "select count(*) = count(distinct id) from issues") == [(True,)]


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney"])
def test_jql_time_never_reads_later_than_the_moment(zone: str) -> None:
    """Around every 2026 transition, each reading of the literal (either side of a repeated
    hour) is at or before the moment, and at most about an hour earlier than the minute."""
    tz = ZoneInfo(zone)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    transitions = []
    for hours in range(0, 365 * 24):
        a, b = start + timedelta(hours=hours), start + timedelta(hours=hours + 1)
        if a.astimezone(tz).utcoffset() != b.astimezone(tz).utcoffset():
            transitions.append(a)
    assert len(transitions) == 2
    for edge in transitions:
        for minutes in range(-150, 150, 7):
            moment = edge + timedelta(minutes=minutes, seconds=13)
            wall = datetime.strptime(jql_time(moment, tz), "%Y-%m-%d %H:%M")
            readings = [wall.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)]
            assert max(readings) <= moment
            assert moment - min(readings) < timedelta(hours=2)


def test_deleted_restored_issues_removed_comments_and_links(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(seed=12, issues=90, projects=3, clock=clock)
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        assert_matches_truth(sandbox, tmp_path, worklogs=False)

        # Delete an issue, a comment, a link.
        victim = keys(sandbox, leaf=True)[0]
        commented = next(k for k in keys(sandbox, having="comments") if k != victim)
        comment_id = sandbox.store.issue(commented).comments[0]["id"]
        linked = next(k for k in keys(sandbox, having="links") if k != victim)
        link_id = sandbox.store.issue(linked).links[0]
        clock.advance(seconds=60)
        jira.issues.delete(victim)
        jira.comments.delete(commented, str(comment_id))
        jira.request("DELETE", "/issueLink/{id}", path_params={"id": link_id}, parse=lambda r: None)
        clock.advance(seconds=60)
        sync(jira, tmp_path, streams=STREAMS)
        assert_matches_truth(sandbox, tmp_path, worklogs=False)
        assert query(tmp_path, f"select is_deleted from issues where key = '{victim}'") == [(True,)]
        assert query(tmp_path, f"select is_deleted from comments where id = {comment_id}") == [
            (True,)
        ]
        assert query(tmp_path, f"select count(*) from issue_links where id = {link_id}") == [(0,)]

        # A project the account stops seeing: its issues are gone for the sync ...
        hidden = "MKT"
        group = "product-team"
        assert sandbox.admin_account_id not in sandbox.store.group_members[group]
        count = len(sandbox.store.by_project[int(sandbox.store.project(hidden)["id"])])
        sandbox.restrict_project(hidden, [group])
        clock.advance(seconds=60)
        sync(jira, tmp_path, streams=STREAMS)
        gone = query(
            tmp_path, f"select count(*) from issues where project_key = '{hidden}' and is_deleted"
        )
        assert gone == [(count,)]
        # ... and back, unchanged (not "updated" since): read again, no longer deleted.
        sandbox.restrict_project(hidden, [])
        clock.advance(seconds=3600)
        restored = sync(jira, tmp_path, streams=STREAMS)
        assert restored.rows["issues"] >= count
        sync(jira, tmp_path, streams=STREAMS)  # and it stays so
    assert_matches_truth(sandbox, tmp_path, worklogs=False)
    assert query(tmp_path, f"select count(*) from issues where project_key = '{hidden}'") == [
        (count,)
    ]
    assert query(tmp_path, "select count(*) from issues where is_deleted") == [(1,)]
