"""One DuckDB connection per run: the file is opened once, every phase uses it, and the
opening waits out a reader that holds the file for a moment (as `check_destination`
does)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sync_truth import client, sync

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sync.destination import check_destination, warehouse_for

STREAMS = ("metadata", "issues", "worklogs")

# Holds the file read-only for a second, then lets go.
HOLD = (
    "import duckdb, sys, time\n"
    "conn = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('holding', flush=True)\n"
    "time.sleep(1.0)\n"
    "conn.close()\n"
)


def test_a_run_opens_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = Sandbox(seed=31, issues=40, clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    db = tmp_path / "jira.duckdb"
    opened: list[str] = []
    real_connect = duckdb.connect

    def counting(database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        if Path(str(database)).resolve() == db.resolve():
            opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    with client(sandbox) as jira:
        first = sync(jira, tmp_path, models=True, streams=STREAMS)
        assert first.models_mode == "full" and opened == [str(db)]
        opened.clear()
        second = sync(jira, tmp_path, models=True, streams=STREAMS)
    # State checks, dlt's state and load, fix-ups, row counts, models, the run's record:
    # all on the one connection.
    assert second.status == "succeeded" and second.models_mode == "incremental"
    assert opened == [str(db)]


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
