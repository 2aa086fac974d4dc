"""Incremental models over the sandbox: after syncs with edits, deletions and nothing
changed, every model built for the touched issues only equals a full rebuild with the same
clock, row for row (EXCEPT both ways, duplicates counted)."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sync_truth import client, keys, sync

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sync.models import MODEL_NAMES, build_models
from jirakit.sync.pipeline import SyncResult
from sync_process import signal_at, statuses, sync_command, sync_env

STREAMS = ("metadata", "issues", "worklogs")


def transition(jira: Any, key: str) -> None:
    """Move ``key`` along its first available transition."""
    listed = jira.request("GET", "/issue/{key}/transitions", path_params={"key": key})
    first = listed["transitions"][0]["id"]
    jira.request(
        "POST",
        "/issue/{key}/transitions",
        path_params={"key": key},
        json={"transition": {"id": first}},
        parse=lambda r: None,
    )


def differences(tmp: Path, result: SyncResult | None) -> dict[str, tuple[int, int]]:
    """Per model: (rows only in the incremental build, rows only in a full rebuild with
    the clock of ``result``, or of the last build when None)."""
    con = duckdb.connect(str(tmp / "jira.duckdb"))
    try:
        if result is None:
            row = con.execute("SELECT built_at FROM main._jirakit_models").fetchone()
            assert row is not None
            clock = row[0]
        else:
            clock = result.run.started_at
        con.execute("CREATE SCHEMA kept")
        for name in MODEL_NAMES:
            con.execute(f"CREATE TABLE kept.{name} AS SELECT * FROM main.{name}")
        full = build_models(con, dialect="duckdb", schema="main", now=clock)
        assert full.mode == "full"
        out = {}
        for name in MODEL_NAMES:
            extra = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM kept.{name} EXCEPT ALL "
                f"SELECT * FROM main.{name})"
            ).fetchone()
            missing = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM main.{name} EXCEPT ALL "
                f"SELECT * FROM kept.{name})"
            ).fetchone()
            assert extra is not None and missing is not None
            out[name] = (int(extra[0]), int(missing[0]))
        con.execute("DROP SCHEMA kept CASCADE")
        return out
    finally:
        con.close()


def test_incremental_models_equal_a_full_rebuild(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(seed=21, issues=80, projects=2, clock=clock)
    same = dict.fromkeys(MODEL_NAMES, (0, 0))
    with client(sandbox) as jira:
        first = sync(jira, tmp_path, models=True, streams=STREAMS)
        assert first.models_mode == "full"
        assert first.models["issue_enhanced"] == 80

        # Edits on a few issues, a day and a half later (today moves on too).
        clock.advance(seconds=36 * 3600)
        pool = keys(sandbox, leaf=True)
        users = [u for u in sandbox.store.users if not u.startswith("557058:bot")]
        jira.issues.edit(pool[0], summary="renamed", priority="Highest")
        jira.issues.edit(pool[1], assignee=users[-1])
        transition(jira, pool[2])
        jira.comments.add(pool[3], "a new comment")
        jira.worklogs.add(pool[4], 1800, started=clock.now())
        jira.issues.delete(pool[5])
        commented = next(k for k in keys(sandbox, having="comments") if k not in pool[:6])
        jira.comments.delete(commented, str(sandbox.store.issue(commented).comments[0]["id"]))
        clock.advance(seconds=300)
        second = sync(jira, tmp_path, models=True, streams=STREAMS)
        assert second.models_mode == "incremental"
        assert second.models["issue_enhanced"] == 79
        assert differences(tmp_path, second) == same

        # Nothing changed, two days later: only the clock moves.
        clock.advance(seconds=2 * 86400)
        third = sync(jira, tmp_path, models=True, streams=STREAMS)
        assert third.models_mode == "incremental"
        assert differences(tmp_path, third) == same


def test_a_full_refresh_whose_models_never_ran_leaves_no_rows_of_gone_issues(
    tmp_path: Path,
) -> None:
    """A full refresh reloads only the issues that exist (dlt drops the source tables).
    When its own models never ran (stopped, failed, or run without models), the next
    run's incremental models still drop the rows of issues the warehouse no longer has."""
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(seed=23, issues=30, clock=clock)
    with client(sandbox) as jira:
        assert sync(jira, tmp_path, models=True, streams=STREAMS).models["issue_enhanced"] == 30
        clock.advance(seconds=600)
        jira.issues.delete(keys(sandbox, leaf=True)[0])
        clock.advance(seconds=600)
        refreshed = sync(jira, tmp_path, models=False, streams=STREAMS, full_refresh=True)
        assert refreshed.status == "succeeded"
        clock.advance(seconds=600)
        after = sync(jira, tmp_path, models=True, streams=STREAMS)
    assert after.models_mode == "incremental"
    assert after.models["issue_enhanced"] == 29
    assert differences(tmp_path, after) == dict.fromkeys(MODEL_NAMES, (0, 0))


def test_changed_metadata_or_settings_rebuild_everything(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(seed=22, issues=30, clock=clock)
    with client(sandbox) as jira:
        sync(jira, tmp_path, models=True, streams=STREAMS)
        clock.advance(seconds=600)
        assert sync(jira, tmp_path, models=True, streams=STREAMS).models_mode == "incremental"
    con = duckdb.connect(str(tmp_path / "jira.duckdb"))
    try:
        now = clock.now()
        assert build_models(
            con, dialect="duckdb", schema="main", now=now, incremental=True
        ).mode == ("incremental")
        # A user renamed changes every issue that shows the name: a full rebuild.
        con.execute(
            "UPDATE main.users SET display_name = 'Renamed' WHERE id = (SELECT min(id) FROM main.users)"
        )
        run = build_models(con, dialect="duckdb", schema="main", now=now, incremental=True)
        assert run.mode == "full"
        again = build_models(con, dialect="duckdb", schema="main", now=now, incremental=True)
        assert (again.mode, again.issues) == ("incremental", 0)
        # Other settings than the stored models were built with: a full rebuild.
        other = build_models(
            con,
            dialect="duckdb",
            schema="main",
            now=now,
            incremental=True,
            days_after_resolved=None,
        )
        assert other.mode == "full"
    finally:
        con.close()


@pytest.mark.slow  # 10 s: `make test` keeps the models-equal-a-rebuild tests
def test_killed_while_updating_the_models_then_run_again(tmp_path: Path) -> None:
    """kill -9 in the models phase of an incremental run: the models' transaction is
    lost, the loads it was applying stay unseen, and the next run applies them."""
    sandbox = Sandbox(seed=23, issues=60, latency=(5, 10))
    db, pipelines = tmp_path / "jira.duckdb", tmp_path / "pipelines"
    with sandbox.serve() as url, client(sandbox) as jira:
        command = sync_command(url, db, pipelines)
        done = subprocess.run(command, env=sync_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        pool = keys(sandbox, leaf=True)
        jira.issues.edit(pool[0], summary="edited before the killed run", priority="Highest")
        transition(jira, pool[1])
        jira.issues.delete(pool[2])
        stopped = signal_at(command, "models", signal.SIGKILL, timeout=120)
        assert stopped.code == -9
        done = subprocess.run(command, env=sync_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    assert "Models updated" in done.stdout  # incremental, not a full rebuild
    assert statuses(db)[-1] == "succeeded"
    con = duckdb.connect(str(db), read_only=True)
    try:
        edited = con.execute(
            f"SELECT summary FROM main.issue_enhanced WHERE issue_key = '{pool[0]}'"
        ).fetchall()
        gone = con.execute(
            f"SELECT count(*) FROM main.issue_enhanced WHERE issue_key = '{pool[2]}'"
        ).fetchall()
    finally:
        con.close()
    assert edited == [("edited before the killed run",)] and gone == [(0,)]
    assert differences(tmp_path, None) == dict.fromkeys(MODEL_NAMES, (0, 0))
