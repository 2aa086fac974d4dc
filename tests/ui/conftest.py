"""Shared by the dashboard's tests: one served sandbox, synced over HTTP into one DuckDB
file (twice, with a field renamed in between, so there is drift; and once with a wrong
token, so there is a failed run), reused by every test of the session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

import pytest
from dashboard_support import EMAIL, HOSTILE, TOKEN, Synced
from service_world import World, build_world

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.sync.source import FatalSyncError


@pytest.fixture(scope="session")
def served_site() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=11, issues=160)
    with sandbox.serve() as url:
        yield sandbox, url


@pytest.fixture(scope="session")
def synced(served_site: tuple[Sandbox, str], tmp_path_factory: pytest.TempPathFactory) -> Synced:
    sandbox, url = served_site
    work = tmp_path_factory.mktemp("dashboard")
    site = Synced(url, work / "jira.duckdb", work / "state")
    warehouse = warehouse_for(site.dest)
    with Jira(url, auth=BasicAuth(EMAIL, TOKEN)) as jira:
        victim = next(
            iter(
                jira.search.iter(
                    "project = ENG AND statusCategory != Done ORDER BY created ASC",
                    fields=["summary"],
                    limit=1,
                )
            )
        )
        jira.issues.edit(victim.key, summary=HOSTILE)
        first = run_sync(jira, warehouse=warehouse, pipelines_dir=str(site.state))
        assert first.status == "succeeded"
        # Drift for the next run: a custom field renamed, another retyped.
        renamed = sandbox.store.field("customfield_10035")
        retyped = sandbox.store.field("customfield_10040")
        assert renamed is not None and retyped is not None
        renamed["name"] = "Customer ticket (renamed)"
        retyped["schema"] = {**retyped["schema"], "type": "string"}
        second = run_sync(jira, warehouse=warehouse, pipelines_dir=str(site.state))
        assert second.status == "succeeded" and second.run.drift
    with (
        Jira(url, auth=BasicAuth(EMAIL, "not-the-token")) as wrong,
        suppress(FatalSyncError),
    ):
        run_sync(wrong, warehouse=warehouse, pipelines_dir=str(site.state))
    statuses = [r[0] for r in site.sql("select status from _sync_runs order by started_at")]
    assert statuses == ["succeeded", "succeeded", "failed"]
    return site


@pytest.fixture(scope="session")
def world(
    synced: Synced, served_site: tuple[Sandbox, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """`jirakit serve` with two tenants and data behind every service page (see
    service_world.py); one per session, shared by the HTTP and browser tests."""
    built = build_world(synced, served_site[1], tmp_path_factory.mktemp("service"))
    try:
        yield built
    finally:
        built.receiver_a.close()
        built.state.engine.dispose()
