"""`jirakit sync` as a real process, for the tests that stop or kill it: the command, its
environment, a signal sent when the sync reports a phase (its ``jira.sync_phase`` JSON log
lines, ``JIRAKIT_LOG=info``), and fingerprints of what a warehouse holds."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

EMAIL, TOKEN = "admin@example.com", "sandbox-token"

# What "the same warehouse" means: these columns of these tables, row for row.
TABLES = {
    "issues": "id, key, summary, status, updated_at, story_points, is_deleted",
    "issue_field_history": "issue_id, history_id, item_index, field_id, to_string, changed_at",
    "comments": "id, issue_id, body, is_deleted",
    "worklogs": "id, issue_id, time_spent_seconds, started_at, is_deleted",
    "issue_links": "id, outward_issue_id, inward_issue_id",
    "fields": "id, column_name",
}


def sync_command(url: str, db: Path, pipelines: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jirakit",
        "sync",
        "--url",
        url,
        "--dest",
        f"duckdb:///{db}",
        "--pipelines-dir",
        str(pipelines),
        *extra,
    ]


def sync_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "JIRAKIT_EMAIL": EMAIL,
        "JIRAKIT_API_TOKEN": TOKEN,
        "JIRAKIT_LOG": "info",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def log_event(line: str) -> dict[str, Any] | None:
    """A jirakit JSON log line as a dict, or None for any other line."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "event" in data else None


@dataclass
class Stopped:
    code: int
    stdout: str
    said: str  # stderr without jirakit's JSON log lines
    reported: list[str]  # the phases the sync reported


def signal_at(command: list[str], phase: str, signum: int, *, timeout: float = 120) -> Stopped:
    """Run ``command`` (a sync) and send ``signum`` as soon as it reports ``phase``."""
    proc = subprocess.Popen(
        command, env=sync_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    other: list[str] = []
    reported: list[str] = []
    for line in proc.stderr:
        event = log_event(line)
        if event is None:
            other.append(line.rstrip("\n"))
        elif event.get("event") == "jira.sync_phase":
            reported.append(str(event["phase"]))
            if event["phase"] == phase and reported.count(phase) == 1:
                proc.send_signal(signum)
    out, _ = proc.communicate(timeout=timeout)
    assert phase in reported, f"the sync never reported {phase!r}, only {reported}"
    return Stopped(proc.returncode, out, "\n".join(other).strip(), reported)


def fingerprint(db: Path, tables: Mapping[str, str] = TABLES) -> dict[str, str]:
    """Per table: the row count and a hash of the rows (the named columns, sorted)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, columns in tables.items():
            rows = con.sql(f"select {columns} from {table} order by all").fetchall()
            out[table] = f"{len(rows)}:" + hashlib.sha1(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def statuses(db: Path) -> list[str]:
    """``_sync_runs.status``, oldest run first."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.sql("select status from _sync_runs order by started_at").fetchall()
        return [str(r[0]) for r in rows]
    finally:
        con.close()
