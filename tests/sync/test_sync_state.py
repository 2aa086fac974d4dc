"""Sync state belongs to its (site, destination, dataset), with the destination as the
source of truth: the state a user's machine really has (a second destination, a second
site, a deleted warehouse, a stale cache in a shared folder) never loses data.

Everything runs over real HTTP against served sandboxes; the expected ids come from the
sandbox's store, not through jirakit's client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.sync.source import FatalSyncError, SyncOptions

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
STREAMS = SyncOptions(streams=("metadata", "issues"))


@pytest.fixture(scope="module")
def sites() -> Iterator[list[tuple[Sandbox, str]]]:
    """Two different Jira sites, served on their own ports."""
    with ExitStack() as stack:
        out = []
        for seed, issues in ((21, 70), (22, 45)):
            sandbox = Sandbox(seed=seed, issues=issues)
            out.append((sandbox, stack.enter_context(sandbox.serve())))
        yield out


def store_ids(sandbox: Sandbox) -> set[int]:
    return set(sandbox.store.issues)


def warehouse_ids(db: Path, dataset: str = "main") -> set[int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.sql(f'select id from "{dataset}".issues').fetchall()}
    finally:
        con.close()


def sync(url: str, db: Path, state: Path, dataset: str | None = None, **kw: Any) -> Any:
    with Jira(url, auth=BasicAuth(EMAIL, TOKEN)) as jira:
        return run_sync(
            jira,
            warehouse=warehouse_for(f"duckdb:///{db}", dataset),
            pipelines_dir=str(state),
            options=STREAMS,
            models=False,
            **kw,
        )


def test_two_destinations_from_one_site_each_get_every_issue(sites, tmp_path: Path):
    sandbox, url = sites[0]
    state = tmp_path / "shared-state"  # one pipelines folder for both, as dlt's default is
    first = sync(url, tmp_path / "a.duckdb", state)
    second = sync(url, tmp_path / "b.duckdb", state)
    assert first.plan.startswith("full load") and second.plan.startswith("full load")
    assert warehouse_ids(tmp_path / "a.duckdb") == store_ids(sandbox)
    assert warehouse_ids(tmp_path / "b.duckdb") == store_ids(sandbox)
    assert second.rows["issues"] == len(store_ids(sandbox))
    # A second run into each is incremental, from its own committed cursor.
    again = sync(url, tmp_path / "b.duckdb", state)
    assert again.plan.startswith("incremental") and again.rows.get("issues", 0) == 0


def test_deleting_the_warehouse_then_syncing_gives_a_complete_warehouse(sites, tmp_path: Path):
    sandbox, url = sites[0]
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    sync(url, db, state)
    db.unlink()
    again = sync(url, db, state)
    assert "holds no data" in again.plan and "discarded" in again.plan
    assert warehouse_ids(db) == store_ids(sandbox)
    assert again.rows["issues"] == len(store_ids(sandbox))


def test_an_emptied_issues_table_is_loaded_again(sites, tmp_path: Path):
    sandbox, url = sites[0]
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    sync(url, db, state)
    con = duckdb.connect(str(db))
    con.execute("delete from issues")
    con.close()
    again = sync(url, db, state)
    assert again.plan.startswith("full load") and "holds no issues" in again.plan
    assert warehouse_ids(db) == store_ids(sandbox)


def test_deleting_the_local_cache_changes_nothing(sites, tmp_path: Path):
    """The pipelines folder is a cache: without it the cursor comes from the warehouse."""
    sandbox, url = sites[0]
    db = tmp_path / "jira.duckdb"
    sync(url, db, tmp_path / "state")
    incremental = sync(url, db, tmp_path / "another-state")
    assert incremental.plan.startswith("incremental")
    assert incremental.rows.get("issues", 0) == 0
    assert warehouse_ids(db) == store_ids(sandbox)


def test_two_sites_get_a_dataset_each_and_never_mix(sites, tmp_path: Path):
    (one, url_one), (two, url_two) = sites
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    sync(url_one, db, state, dataset="site_one")
    sync(url_two, db, state, dataset="site_two")
    assert warehouse_ids(db, "site_one") == store_ids(one)
    assert warehouse_ids(db, "site_two") == store_ids(two)
    # The same dataset for the second site is refused before anything is read or written.
    with pytest.raises(FatalSyncError, match="dataset of its own"):
        sync(url_two, db, state, dataset="site_one")
    assert warehouse_ids(db, "site_one") == store_ids(one)
    con = duckdb.connect(str(db), read_only=True)
    try:
        sites_seen = con.sql("select distinct site from site_one._sync_runs").fetchall()
    finally:
        con.close()
    assert sites_seen == [(url_one.rstrip("/"),)]


def test_a_stale_cache_in_the_shared_default_folder_is_not_trusted(sites, tmp_path: Path):
    """Another checkout (or another user) left a cursor for this site and destination name
    in the shared default folder; the destination is empty, so the run is a full load."""
    sandbox, url = sites[1]
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    sync(url, db, state)
    db.unlink()  # what the other checkout synced is gone; its cache is not
    result = sync(url, db, state)
    assert "discarded" in result.plan
    assert warehouse_ids(db) == store_ids(sandbox)


def test_the_default_pipelines_folder_is_never_written_with_pipelines_dir(sites, tmp_path):
    """Through the real entry point, which also says what kind of run it made: a first
    sync, then (the warehouse deleted, the cache kept) a full load that says why."""
    sandbox, url = sites[1]
    default = tmp_path / "dlt-default"
    env = {
        **os.environ,
        "DLT_DATA_DIR": str(default),  # where dlt's default (~/.dlt, /var/dlt) would be
        "HOME": str(tmp_path / "home"),
        "COLUMNS": "1000",  # no line folded inside a long path
        "JIRAKIT_EMAIL": EMAIL,
        "JIRAKIT_API_TOKEN": TOKEN,
    }
    db = tmp_path / "j.duckdb"
    args = ["--url", url, "--dest", f"duckdb:///{db}"]
    args += ["--pipelines-dir", str(tmp_path / "mine"), "--streams", "metadata,issues"]

    def jirakit_sync() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "jirakit", "sync", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return " ".join(done.stdout.split())  # the rich output, unwrapped

    said = jirakit_sync()
    assert f"Full load: first sync of {url.rstrip('/')} into {db}." in said, said
    db.unlink()
    said = jirakit_sync()
    assert f"Full load: {db} holds no data for {url.rstrip('/')}" in said, said
    assert "a cursor cached locally for it was discarded" in said
    assert warehouse_ids(db) == store_ids(sandbox)
    assert not default.exists()  # not even created
    assert not (tmp_path / "home" / ".dlt").exists()
    assert any((tmp_path / "mine").iterdir())
