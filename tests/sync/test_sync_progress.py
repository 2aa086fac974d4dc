"""The progress file a running `jirakit sync` keeps for the dashboard: written whole, read
back, a killed run told from a live one, and the CLI's final word in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jirakit.cli import app
from jirakit.client import ClientStats
from jirakit.sandbox import Sandbox
from jirakit.sync.destination import warehouse_for
from jirakit.sync.progress import ProgressWriter, progress_path, read_progress, state_dir


def test_where_the_file_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIRAKIT_STATE_DIR", str(tmp_path / "state"))
    one = warehouse_for(f"duckdb:///{tmp_path / 'a.duckdb'}")
    other_dataset = warehouse_for(f"duckdb:///{tmp_path / 'a.duckdb'}", "acme")
    other_file = warehouse_for(f"duckdb:///{tmp_path / 'b.duckdb'}")
    paths = {progress_path(w) for w in (one, other_dataset, other_file)}
    assert len(paths) == 3
    assert all(p.parent == tmp_path / "state" / "syncs" for p in paths)
    # A relative path names the same file as its absolute form.
    monkeypatch.chdir(tmp_path)
    assert progress_path(warehouse_for("duckdb:///a.duckdb")) == progress_path(one)

    monkeypatch.delenv("JIRAKIT_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "jirakit"


def test_a_run_written_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIRAKIT_STATE_DIR", str(tmp_path / "state"))  # this test's alone
    warehouse = warehouse_for(f"duckdb:///{tmp_path / 'jira.duckdb'}")
    assert read_progress(warehouse) is None
    stats = ClientStats()
    with ProgressWriter(warehouse, interval=0.05) as live:
        live.connected(stats, "https://acme.atlassian.net")
        live.phase("issues")
        stats.count(200)
        stats.count(429)
        stats.throttled_seconds = 1.25
        live.rows("issues", 100, 250)
        live.rows("issues", 50, None)
        seen = read_progress(warehouse)
        assert seen is not None and seen.running and seen.phase == "issues"
        live.phase("loading")  # a phase is written at once
        now = read_progress(warehouse)
        assert now is not None and now.phase == "loading"
        assert now.rows == {"issues": 150} and now.expected == {"issues": 250}
        assert (now.requests, now.rate_limited, now.waited_seconds) == (2, 1, 1.25)
        assert now.site == "https://acme.atlassian.net" and now.pid == os.getpid()
        live.finish("succeeded")
    done = read_progress(warehouse)
    assert done is not None and done.status == "succeeded" and not done.running
    assert done.finished_at is not None and done.finished_at >= done.started_at
    # Only whole files were ever renamed into place: no temporary file is left.
    assert [p.name for p in progress_path(warehouse).parent.iterdir()] == [
        progress_path(warehouse).name
    ]


def test_leaving_on_an_exception_records_it(tmp_path: Path):
    warehouse = warehouse_for(f"duckdb:///{tmp_path / 'jira.duckdb'}")
    with pytest.raises(RuntimeError), ProgressWriter(warehouse):
        raise RuntimeError("the site went away")
    seen = read_progress(warehouse)
    assert seen is not None and (seen.status, seen.error) == ("failed", "the site went away")
    with pytest.raises(KeyboardInterrupt), ProgressWriter(warehouse):
        raise KeyboardInterrupt
    seen = read_progress(warehouse)
    assert seen is not None and seen.status == "interrupted"


def test_a_killed_run_is_told_from_a_live_one(tmp_path: Path):
    warehouse = warehouse_for(f"duckdb:///{tmp_path / 'jira.duckdb'}")
    code = (
        "import sys, time\n"
        "from jirakit.sync.destination import warehouse_for\n"
        "from jirakit.sync.progress import ProgressWriter\n"
        "w = ProgressWriter(warehouse_for(sys.argv[1])).__enter__()\n"
        "w.phase('issues')\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, f"duckdb:///{tmp_path / 'jira.duckdb'}"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            alive = read_progress(warehouse)
            assert alive is not None and alive.running and not alive.vanished
            assert alive.pid == proc.pid
        finally:
            proc.kill()
            proc.wait()
    gone = read_progress(warehouse)
    assert gone is not None and gone.status == "running"  # it never said otherwise
    assert not gone.running and gone.vanished


def test_an_unreadable_file_counts_as_none(tmp_path: Path):
    warehouse = warehouse_for(f"duckdb:///{tmp_path / 'jira.duckdb'}")
    path = progress_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert read_progress(warehouse) is None
    path.write_text(json.dumps({"dest": "x"}))
    assert read_progress(warehouse) is None


def test_the_cli_sync_leaves_its_final_word(tmp_path: Path):
    db = tmp_path / "jira.duckdb"
    warehouse = warehouse_for(f"duckdb:///{db}")
    env = {"JIRAKIT_EMAIL": "admin@example.com", "JIRAKIT_API_TOKEN": "sandbox-token"}
    args = ["--dest", f"duckdb:///{db}", "--pipelines-dir", str(tmp_path / "state")]
    with Sandbox(seed=4, issues=20).serve() as url:
        ok = CliRunner().invoke(app, ["sync", "--url", url, *args], env=env)
        assert ok.exit_code == 0, ok.output
        done = read_progress(warehouse)
        assert done is not None and done.status == "succeeded" and done.phase == "done"
        assert done.site == url and done.rows["issues"] == 20 and done.requests > 0
        bad = CliRunner().invoke(
            app, ["sync", "--url", url, *args], env={**env, "JIRAKIT_API_TOKEN": "wrong-token"}
        )
    assert bad.exit_code == 1
    failed = read_progress(warehouse)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and "401" in failed.error
