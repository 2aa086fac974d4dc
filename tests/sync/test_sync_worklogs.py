"""Worklogs through ``worklog/updated|deleted`` + ``worklog/list``: added, updated and
deleted between syncs, Jira's one-minute exclusion, and worklogs of issues that search
does not show yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
from sync_truth import assert_matches_truth, client, keys, query, sync

from jirakit.sandbox import FrozenClock, Sandbox


def source_state(tmp: Path) -> Any:
    """The sync's cached source state: its one pipeline (named after site, destination
    and dataset) in the run's pipelines folder."""
    (name,) = [p.name for p in (tmp / "pipelines").iterdir() if not p.name.endswith("_runs")]
    pipeline = dlt.attach(pipeline_name=name, pipelines_dir=str(tmp / "pipelines"))
    return pipeline.state["sources"]["jira"]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_worklogs_added_updated_deleted_between_syncs(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(seed=13, issues=60, clock=clock)
    with client(sandbox) as jira:
        sync(jira, tmp_path)
        assert_matches_truth(sandbox, tmp_path)
        assert source_state(tmp_path)["worklog_since"] < ms(clock.now() - timedelta(minutes=1))

        clock.advance(seconds=600)
        logged = keys(sandbox, having="worklogs")
        added = jira.worklogs.add(logged[0], 3600, started=clock.now() - timedelta(hours=2))
        changed = sandbox.store.issue(logged[1]).worklogs[0]["id"]
        jira.worklogs.update(logged[1], str(changed), seconds=120)
        removed = sandbox.store.issue(logged[2]).worklogs[0]["id"]
        jira.worklogs.delete(logged[2], str(removed))
        victim = next(k for k in keys(sandbox, leaf=True, having="worklogs") if k not in logged[:3])
        victim_worklogs = [w["id"] for w in sandbox.store.issue(victim).worklogs]
        jira.issues.delete(victim)

        # Within the minute Jira leaves out: nothing of it yet, and the cursor stays
        # before the last minute.
        clock.advance(seconds=30)
        sync(jira, tmp_path)
        cutoff = ms(clock.now() - timedelta(minutes=1))
        assert source_state(tmp_path)["worklog_since"] < cutoff
        assert query(tmp_path, f"select count(*) from worklogs where id = {added.id}") == [(0,)]
        assert query(tmp_path, f"select is_deleted from worklogs where id = {removed}") == [
            (False,)
        ]

        clock.advance(seconds=60)
        sync(jira, tmp_path)
        state = source_state(tmp_path)
        assert state["worklog_since"] < ms(clock.now() - timedelta(minutes=1))
    assert_matches_truth(sandbox, tmp_path)
    assert query(tmp_path, f"select time_spent_seconds from worklogs where id = {changed}") == [
        (120,)
    ]
    assert query(
        tmp_path, f"select is_deleted, deleted_at is not null from worklogs where id = {removed}"
    ) == [(True, True)]
    ids = ", ".join(str(i) for i in victim_worklogs)
    assert query(tmp_path, f"select bool_and(is_deleted) from worklogs where id in ({ids})") == [
        (True,)
    ]
    assert query(tmp_path, f"select count(*) from worklogs where id = {added.id}") == [(1,)]


def test_worklog_of_an_issue_search_does_not_show_yet_is_held_not_lost(tmp_path: Path) -> None:
    """With a project filter, worklogs are kept only for issues in scope. A worklog is
    listed a minute after it changes; its new issue may still be invisible to search
    (lag 120 s). It is held back and loaded once the issue shows up."""
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(seed=14, issues=60, clock=clock, search_lag=120.0)
    with client(sandbox) as jira:
        sync(jira, tmp_path, projects=("ENG",))
        clock.advance(seconds=600)
        created = jira.issues.create(project="ENG", issue_type="Task", summary="Fresh")
        worklog = jira.worklogs.add(created.key, 900, started=clock.now())
        clock.advance(seconds=90)  # the worklog is listed, the issue not searchable yet
        sync(jira, tmp_path, projects=("ENG",))
        assert query(tmp_path, f"select count(*) from worklogs where id = {worklog.id}") == [(0,)]
        assert [w for w, _ in source_state(tmp_path)["worklog_pending"]] == [int(worklog.id)]
        clock.advance(seconds=60)
        sync(jira, tmp_path, projects=("ENG",))
    assert query(tmp_path, f"select issue_id from worklogs where id = {worklog.id}") == [
        (int(created.id),)
    ]
    # Only worklogs of ENG issues, all of them.
    eng = {r.id for r in sandbox.store.issues.values() if r.key.startswith("ENG-")}
    want = {int(w["id"]) for i in eng for w in sandbox.store.issues[i].worklogs}
    got = {r[0] for r in query(tmp_path, "select id from worklogs where not is_deleted")}
    assert got == want
