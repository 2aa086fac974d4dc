"""Ctrl-C (SIGINT) and SIGTERM stop `jirakit sync` cleanly in every phase: one line that
says what was committed and that the next run resumes, exit 130 / 143, no traceback, the
run recorded as ``interrupted``; the next run completes the warehouse.

Real signals to a real subprocess, sent when the sync reports the phase (its
``jira.sync_phase`` log lines, ``JIRAKIT_LOG=info``), not after a fixed time."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jirakit.sandbox import Sandbox
from jirakit.sync.outcome import PHASES

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
COLUMNS = {
    "issues": "id, key, summary, status, updated_at, is_deleted",
    "issue_field_history": "issue_id, history_id, item_index, field_id, to_string",
    "comments": "id, issue_id, body, is_deleted",
    "worklogs": "id, issue_id, time_spent_seconds, is_deleted",
}


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    # A little latency so that every extraction phase lasts long enough to be hit.
    sandbox = Sandbox(seed=31, issues=240, latency=(15, 25))
    with sandbox.serve() as url:
        yield sandbox, url


def command(url: str, db: Path, state: Path) -> list[str]:
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
        str(state),
    ]


def env() -> dict[str, str]:
    return {
        **os.environ,
        "JIRAKIT_EMAIL": EMAIL,
        "JIRAKIT_API_TOKEN": TOKEN,
        "JIRAKIT_LOG": "info",
        "PYTHONUNBUFFERED": "1",
    }


def stop_at(url: str, db: Path, state: Path, phase: str, signum: int) -> tuple[int, str, str]:
    """Run a sync, send ``signum`` as soon as it reports ``phase``; (exit code, stdout,
    the stderr lines that are not jirakit's JSON log lines)."""
    proc = subprocess.Popen(
        command(url, db, state),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    other: list[str] = []
    sent = False
    for line in proc.stderr:
        event = _event(line)
        if event is None:
            other.append(line.rstrip("\n"))
            continue
        if not sent and event.get("event") == "jira.sync_phase" and event["phase"] == phase:
            proc.send_signal(signum)
            sent = True
    out, _ = proc.communicate(timeout=120)
    assert sent, f"the sync never reported {phase!r}"
    return proc.returncode, out, "\n".join(other).strip()


def _event(line: str) -> dict[str, str] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "event" in data else None


def fingerprint(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, columns in COLUMNS.items():
            rows = con.sql(f"select {columns} from {table} order by all").fetchall()
            out[table] = f"{len(rows)}:" + hashlib.sha1(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def statuses(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            r[0] for r in con.sql("select status from _sync_runs order by started_at").fetchall()
        ]
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(site, tmp_path_factory) -> dict[str, str]:
    _, url = site
    work = tmp_path_factory.mktemp("reference")
    done = subprocess.run(
        command(url, work / "ref.duckdb", work / "state"),
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return fingerprint(work / "ref.duckdb")


CASES = [
    ("metadata", signal.SIGINT),
    ("issues", signal.SIGTERM),
    ("worklogs", signal.SIGINT),
    ("normalizing", signal.SIGTERM),
    ("loading", signal.SIGINT),
    ("models", signal.SIGTERM),
]


@pytest.mark.parametrize(("phase", "signum"), CASES, ids=[f"{p}-{s.name}" for p, s in CASES])
def test_a_stopped_sync_says_what_was_committed_and_the_next_run_completes(
    site, reference, tmp_path: Path, phase: str, signum: signal.Signals
):
    _, url = site
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    if phase in ("loading", "models"):  # also a stop on top of an incremental state
        first = subprocess.run(command(url, db, state), env=env(), capture_output=True, text=True)
        assert first.returncode == 0, first.stderr

    code, out, said = stop_at(url, db, state, phase, signum)

    assert code == 128 + signum, (code, said)
    assert "Traceback" not in said and "Traceback" not in out
    lines = said.splitlines()
    assert len(lines) == 1, said
    match = re.match(rf"Interrupted \({signum.name}\) during (.+?)\. (.+)$", lines[0])
    assert match, lines[0]
    stopped_in, committed = match.groups()
    # The signal lands in the phase it was sent in, or (when that phase ended first) later.
    assert PHASES.index(stopped_in) >= PHASES.index(phase), stopped_in
    assert "next run" in committed
    if stopped_in in ("fix-ups", "models"):
        assert committed.startswith("This run's data and cursor were committed")
    elif stopped_in != "loading":
        assert committed.startswith("Nothing from this run was committed")
    assert statuses(db)[-1] == "interrupted"
    assert "succeeded" not in statuses(db)[len(statuses(db)) - 1 :]

    again = subprocess.run(command(url, db, state), env=env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "Sync succeeded" in again.stdout
    assert fingerprint(db) == reference
    assert statuses(db)[-1] == "succeeded"
