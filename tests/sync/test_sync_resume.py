"""A sync killed with SIGKILL at any point and run again ends exactly where an
uninterrupted sync ends."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from jirakit.sandbox import Sandbox

TABLES = {
    "issues": "id, key, summary, status, updated_at, story_points, is_deleted",
    "issue_field_history": "issue_id, history_id, item_index, field_id, to_string, changed_at",
    "comments": "id, issue_id, body, is_deleted",
    "issue_links": "id, outward_issue_id, inward_issue_id",
    "fields": "id, column_name",
}


def sync_cmd(url: str, work: Path, name: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jirakit",
        "sync",
        "--url",
        url,
        "--email",
        "admin@example.com",
        "--token",
        "sandbox-token",
        "--dest",
        f"duckdb:///{work / (name + '.duckdb')}",
        "--pipelines-dir",
        str(work / f"pipelines-{name}"),
        "--streams",
        "metadata,issues",
    ]


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


def test_kill_9_then_resume_equals_uninterrupted(tmp_path: Path):
    sandbox = Sandbox(seed=5, issues=150)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with sandbox.serve() as url:
        reference = subprocess.run(
            sync_cmd(url, tmp_path, "reference"),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert reference.returncode == 0, reference.stderr

        # Kill the same sync at growing offsets: during extraction, normalisation, loading.
        killed = 0
        for delay in (1.0, 2.5, 4.0, 6.0):
            proc = subprocess.Popen(
                sync_cmd(url, tmp_path, "resumed"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed += 1
            proc.wait(timeout=60)
        assert killed >= 1, "the sync finished before any kill: raise the issue count"
        final = subprocess.run(
            sync_cmd(url, tmp_path, "resumed"), env=env, capture_output=True, text=True, timeout=300
        )
        assert final.returncode == 0, final.stderr

    assert fingerprint(tmp_path / "resumed.duckdb") == fingerprint(tmp_path / "reference.duckdb")
