"""A sync killed with SIGKILL in any phase and run again ends exactly where an uninterrupted
sync ends.

The kill is sent when the sync reports a phase (its ``jira.sync_phase`` log lines,
``JIRAKIT_LOG=info``), not after a fixed time, so it lands at the same point on a fast or a
loaded machine: at the start of metadata, issues, worklogs, normalizing, loading (part of
the run committed) and models (data and cursor committed).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jirakit.sandbox import Sandbox
from jirakit.sync.outcome import PHASES

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
KILLED_AT = ("metadata", "issues", "worklogs", "normalizing", "loading", "models")
TABLES = {
    "issues": "id, key, summary, status, updated_at, story_points, is_deleted",
    "issue_field_history": "issue_id, history_id, item_index, field_id, to_string, changed_at",
    "comments": "id, issue_id, body, is_deleted",
    "worklogs": "id, issue_id, time_spent_seconds, started_at, is_deleted",
    "issue_links": "id, outward_issue_id, inward_issue_id",
    "fields": "id, column_name",
    "issue_enhanced": "issue_key, status, story_points",
    "issue_status_transitions": "issue_id, transition_index, to_status",
}


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    # A little latency, so that each extraction phase is still running when the kill lands.
    sandbox = Sandbox(seed=5, issues=150, latency=(5, 10))
    with sandbox.serve() as url:
        yield url


def command(url: str, work: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jirakit",
        "sync",
        "--url",
        url,
        "--dest",
        f"duckdb:///{work / 'jira.duckdb'}",
        "--pipelines-dir",
        str(work / "pipelines"),
    ]


def env() -> dict[str, str]:
    return {
        **os.environ,
        "JIRAKIT_EMAIL": EMAIL,
        "JIRAKIT_API_TOKEN": TOKEN,
        "JIRAKIT_LOG": "info",
        "PYTHONUNBUFFERED": "1",
    }


def run(url: str, work: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command(url, work), env=env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def kill_at(url: str, work: Path, phase: str) -> list[str]:
    """Run a sync and SIGKILL it as soon as it reports ``phase``; the phases it reported."""
    proc = subprocess.Popen(
        command(url, work),
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    reported: list[str] = []
    for line in proc.stderr:
        event = _event(line)
        if event is not None and event.get("event") == "jira.sync_phase":
            reported.append(str(event["phase"]))
            if event["phase"] == phase:
                proc.kill()
                break
    proc.stderr.close()
    code = proc.wait(timeout=60)
    assert phase in reported, f"the sync never reported {phase!r}, only {reported}"
    assert code == -9, f"the sync ended ({code}) before the kill in {phase!r} landed"
    return reported


def _event(line: str) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "event" in data else None


def fingerprint(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, columns in TABLES.items():
            rows = con.sql(f"select {columns} from {table} order by all").fetchall()
            out[table] = f"{len(rows)}:" + hashlib.sha1(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def statuses(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.sql("select status from _sync_runs order by started_at").fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("reference")
    run(site, work)
    found = fingerprint(work / "jira.duckdb")
    assert all(not value.startswith("0:") for value in found.values()), found
    return found


def test_the_phases_killed_at_are_the_syncs_own():
    assert set(KILLED_AT) <= set(PHASES)
    assert [p for p in PHASES if p in KILLED_AT] == list(KILLED_AT)


def test_killed_in_every_phase_in_turn_then_run_again_equals_uninterrupted(
    site: str, reference: dict[str, str], tmp_path: Path
):
    """One warehouse, six runs each killed one phase later than the one before (the kill
    in loading leaves part of a run committed, the one in models all of it), then a run
    that completes."""
    for phase in KILLED_AT:
        reported = kill_at(site, tmp_path, phase)
        assert reported[-1] == phase
    run(site, tmp_path)
    db = tmp_path / "jira.duckdb"
    assert fingerprint(db) == reference
    assert statuses(db)[-1] == "succeeded"


@pytest.mark.slow
@pytest.mark.parametrize("phase", KILLED_AT)
def test_killed_in_one_phase_then_run_again_equals_uninterrupted(
    site: str, reference: dict[str, str], tmp_path: Path, phase: str
):
    """Each phase on its own, from an empty warehouse: killed there, then one run."""
    kill_at(site, tmp_path, phase)
    run(site, tmp_path)
    db = tmp_path / "jira.duckdb"
    assert fingerprint(db) == reference
    assert statuses(db)[-1] == "succeeded"
