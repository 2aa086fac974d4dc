"""A run holds its DuckDB file only where it needs it: a moment for the state checks, not
while it reads Jira, then one connection from the load to the run's record; each opening
waits out a reader that holds the file for a moment (as `check_destination` does)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sync_truth import client, query, sync

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sync.destination import check_destination, warehouse_for
from jirakit.sync.pipeline import SyncResult, run_sync
from jirakit.sync.source import FatalSyncError, SyncOptions

STREAMS = ("metadata", "issues", "worklogs")

# Holds the file read-only for a second, then lets go.
HOLD = (
    "import duckdb, sys, time\n"
    "conn = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('holding', flush=True)\n"
    "time.sleep(1.0)\n"
    "conn.close()\n"
)


def _run(jira: Any, tmp: Path, on_phase: Any, **options: Any) -> SyncResult:
    return run_sync(
        jira,
        models=True,
        warehouse=warehouse_for(f"duckdb:///{tmp / 'jira.duckdb'}"),
        pipelines_dir=str(tmp / "pipelines"),
        options=SyncOptions(streams=STREAMS, **options),
        on_phase=on_phase,
    )


def test_the_file_is_opened_for_the_checks_and_once_from_the_load_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox(seed=31, issues=40, clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    db = tmp_path / "jira.duckdb"
    phase = ["start"]
    opened: list[str] = []  # the phase the run was in at each opening of the file
    real_connect = duckdb.connect

    def counting(database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        if Path(str(database)).resolve() == db.resolve():
            opened.append(phase[0])
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    with client(sandbox) as jira:
        first = _run(jira, tmp_path, _setter(phase))
        first_opened = list(opened)
        opened.clear()
        second = _run(jira, tmp_path, _setter(phase))
    assert first.models_mode == "full"
    assert second.status == "succeeded" and second.models_mode == "incremental"
    # The state checks (jirakit's, then dlt's), nothing while extracting and normalizing,
    # then one connection for the load, fix-ups, row counts, models and the run's record.
    for seen in (first_opened, opened):
        assert seen == ["checking the warehouse", "connecting", "loading"], seen


def _setter(box: list[str]) -> Any:
    def on_phase(name: str) -> None:
        box[0] = name

    return on_phase


# Opens the file read-only from another process and counts the issues, or says why not.
READ = (
    "import duckdb, sys\n"
    "try:\n"
    "    conn = duckdb.connect(sys.argv[1], read_only=True)\n"
    "except duckdb.Error as exc:\n"
    "    print('refused', str(exc).splitlines()[0], flush=True)\n"
    "    sys.exit(3)\n"
    "print('issues', conn.sql('SELECT count(*) FROM issues').fetchone()[0], flush=True)\n"
    "conn.close()\n"
)


def _read(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", READ, str(db)], capture_output=True, text=True, timeout=60
    )


def test_another_process_reads_the_file_while_the_sync_extracts(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=33, issues=30, clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    db = tmp_path / "jira.duckdb"
    reads: dict[str, subprocess.CompletedProcess[str]] = {}

    def on_phase(name: str) -> None:
        # The run waits here while another process opens the file.
        if name in ("issues", "normalizing", "models"):
            reads[name] = _read(db)

    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        again = _run(jira, tmp_path, on_phase, full_refresh=True)
    assert again.status == "succeeded" and again.rows["issues"] == 30
    # Extracting and normalizing: the file is free, and holds the last run's issues.
    for name in ("issues", "normalizing"):
        assert reads[name].returncode == 0, reads[name].stdout + reads[name].stderr
        assert reads[name].stdout.split() == ["issues", "30"]
    # From the load on, the run holds it: a reader waits (as `jirakit sql` says) for the end.
    assert reads["models"].returncode == 3 and "lock" in reads["models"].stdout.lower()


def test_a_run_waits_for_a_reader_to_let_go(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=32, issues=20, clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    db = tmp_path / "jira.duckdb"
    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        with subprocess.Popen(
            [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
        ) as holder:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            check_destination(warehouse_for(f"duckdb:///{db}"))  # waits, then opens
            holder.wait()
        with subprocess.Popen(
            [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
        ) as holder:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            again = sync(jira, tmp_path, streams=STREAMS)
            holder.wait()
    assert again.status == "succeeded"


# Holds the file read-only until told to let go (a line on stdin).
HOLD_UNTIL = (
    "import duckdb, sys\n"
    "conn = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('holding', flush=True)\n"
    "sys.stdin.readline()\n"
    "conn.close()\n"
)


def test_a_reader_that_keeps_the_file_past_the_wait_fails_the_load_not_the_next_run(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox(seed=34, issues=25, clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    db = tmp_path / "jira.duckdb"
    holders: list[subprocess.Popen[str]] = []

    def on_phase(name: str) -> None:
        if name == "normalizing":  # a reader opens the file, and keeps it past the 3 s wait
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLD_UNTIL, str(db)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            holders.append(holder)
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"

    with client(sandbox) as jira:
        sync(jira, tmp_path, streams=STREAMS)
        try:
            with pytest.raises(FatalSyncError, match="lock") as info:
                _run(jira, tmp_path, on_phase, full_refresh=True)
        finally:
            for holder in holders:
                holder.communicate("\n", timeout=30)
        assert len(holders) == 1
        assert "the next run finishes loading what it read" in str(info.value)
        # What the failed run read waits in the pipeline's folder; the next run loads it
        # first, then syncs on.
        again = _run(jira, tmp_path, None)
    assert again.status == "succeeded" and again.resumed.get("issues") == 25
    assert query(tmp_path, "SELECT count(*) FROM issues WHERE NOT is_deleted") == [(25,)]
