"""The governor in real use: one setting picks it, sync jobs spend at BACKFILL on a first
load and INCREMENTAL after, webhook fetches at WEBHOOK; only OAuth traffic is governed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from jirakit.jobs.budget import (
    MemoryGovernor,
    Priority,
    governs,
    open_governor,
    process_governor,
)


def test_one_setting_picks_the_governor(monkeypatch: pytest.MonkeyPatch):
    for name in ("JIRAKIT_GOVERNOR", "JIRAKIT_GOVERNOR_POINTS", "JIRAKIT_GOVERNOR_WINDOW"):
        monkeypatch.delenv(name, raising=False)
    default = open_governor()
    assert isinstance(default, MemoryGovernor)
    assert (default.policy.points, default.policy.window) == (65_000, 3600.0)  # Jira's tier
    monkeypatch.setenv("JIRAKIT_GOVERNOR_POINTS", "6000")
    monkeypatch.setenv("JIRAKIT_GOVERNOR_WINDOW", "30")
    small = open_governor("memory")
    assert small is not None and (small.policy.points, small.policy.window) == (6000, 30.0)
    assert open_governor("off") is None
    with pytest.raises(ValueError, match="use memory, off or postgresql://"):
        open_governor("redis://localhost")
    monkeypatch.setenv("JIRAKIT_GOVERNOR_POINTS", "lots")
    with pytest.raises(ValueError, match="JIRAKIT_GOVERNOR_POINTS must be a number"):
        open_governor()


def test_only_oauth_traffic_spends_points():
    assert governs("https://api.atlassian.com/ex/jira/1a2b3c")
    assert governs("http://127.0.0.1:8080/ex/jira/site-0/")
    assert not governs("https://acme.atlassian.net")  # API tokens: burst limits only
    assert not governs("https://jira.acme.internal/jira")  # Data Center


def test_webhook_fetches_are_governed_at_webhook_priority(monkeypatch: pytest.MonkeyPatch):
    from jirakit.cli.webhooks import _governed
    from jirakit.client import BearerAuth, Jira

    monkeypatch.setenv("JIRAKIT_GOVERNOR", "memory")
    with Jira("https://api.atlassian.com/ex/jira/abc", auth=BearerAuth("t")) as oauth:
        handle = _governed(oauth).governor
        assert handle is not None
        assert handle.priority is Priority.WEBHOOK  # type: ignore[attr-defined]
        assert handle.governor is process_governor()  # type: ignore[attr-defined]
    with Jira("https://acme.atlassian.net", auth=BearerAuth("t")) as token:
        assert _governed(token).governor is None


def test_a_first_sync_is_a_backfill_and_the_next_incremental(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from jirakit.jobs.queue import SqliteQueue, WorkerOptions
    from jirakit.jobs.tasks import SyncTarget, default_registry
    from jirakit.sandbox import Sandbox
    from jirakit.testing.oauth import sandbox_grant

    monkeypatch.setenv("JIRAKIT_GOVERNOR", "memory")
    monkeypatch.setenv("JIRAKIT_GOVERNOR_POINTS", "100000")
    monkeypatch.setenv("JIRAKIT_GOVERNOR_WINDOW", "60")
    with Sandbox(seed=2, issues=60, projects=1, points_per_hour=100_000, points_window=60) as sb:
        with sb.serve() as url:
            grant = sandbox_grant(url)
            monkeypatch.setenv("GOV_SYNC_TOKEN", grant.access_token)
            queue = SqliteQueue(tmp_path / "jobs.db", default_registry())
            target = SyncTarget(
                "acme",
                grant.api_url,
                f"duckdb:///{tmp_path / 'acme.duckdb'}",
                token_env="GOV_SYNC_TOKEN",
                auth="bearer",
                tenant="tenant-acme",
                streams=("metadata", "issues"),
                pipelines_dir=str(tmp_path / "pipelines"),
            )
            for _ in range(2):
                assert queue.defer("sync_connection", target=target.as_json()) is not None
                queue.run_worker(WorkerOptions(until_idle=True, schedule_every=0))
    with sqlite3.connect(tmp_path / "jobs.db") as db:
        rows = db.execute("SELECT status, result FROM jirakit_jobs ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["succeeded", "succeeded"]
    results = [json.loads(r[1]) for r in rows]
    assert [r["priority"] for r in results] == ["backfill", "incremental"]
    governor = process_governor()
    assert governor is not None
    spent = {(r["tenant"], r["priority"]): r["granted_points"] for r in governor.snapshot().tenants}
    assert spent[("tenant-acme", "backfill")] > spent[("tenant-acme", "incremental")] > 0
