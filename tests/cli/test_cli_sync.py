"""`jirakit sync` and `jirakit report` as a user runs them, against a served sandbox."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from jirakit.cli import app
from jirakit.sandbox import Sandbox
from sync_process import sync_command

TOKEN = "sync-cli-SECRET"


def test_sync_then_report(tmp_path: Path):
    sandbox = Sandbox(seed=8, issues=50, api_token=TOKEN)
    db = tmp_path / "jira.duckdb"
    env = {"JIRAKIT_URL": "", "JIRAKIT_EMAIL": "admin@example.com", "JIRAKIT_API_TOKEN": TOKEN}
    runner = CliRunner()
    with sandbox.serve() as url:
        args = [
            "sync",
            "--url",
            url,
            "--dest",
            f"duckdb:///{db}",
            "--projects",
            "ENG,OPS",
            "--pipelines-dir",
            str(tmp_path / "state"),
        ]
        result = runner.invoke(app, args, env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Sync succeeded" in result.output and "issues" in result.output
        assert TOKEN not in result.output
        # More DuckDB memory and threads than the bounded default: same result, faster.
        faster = ["--duckdb-memory", "512MB", "--duckdb-threads", "2"]
        again = runner.invoke(
            app, [*args, "--lookback", "10m", *faster], env=env, catch_exceptions=False
        )
        assert again.exit_code == 0, again.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        projects = {r[0] for r in con.sql("select distinct project_key from issues").fetchall()}
        runs = con.sql("select count(*) from _sync_runs where status = 'succeeded'").fetchone()
    finally:
        con.close()
    assert projects == {"ENG", "OPS"}
    assert runs == (2,)

    out = tmp_path / "report"
    report = runner.invoke(
        app, ["report", "--dest", f"duckdb:///{db}", "--out", str(out)], catch_exceptions=False
    )
    assert report.exit_code == 0, report.output
    assert "Sprint velocity" in report.output
    for name in ("velocity", "time_in_status", "cumulative_flow", "created_vs_resolved"):
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "velocity.png" in (out / "index.html").read_text()


def test_sync_usage_errors_are_clear(tmp_path: Path):
    runner = CliRunner()
    env = {"JIRAKIT_URL": "http://127.0.0.1:9", "JIRAKIT_EMAIL": "a@b.c", "JIRAKIT_API_TOKEN": "t"}
    bad_stream = runner.invoke(app, ["sync", "--streams", "issues,bogus"], env=env)
    assert bad_stream.exit_code == 2 and "unknown ['bogus']" in bad_stream.output
    bad_lookback = runner.invoke(app, ["sync", "--lookback", "soon"], env=env)
    assert bad_lookback.exit_code == 2 and "30s, 5m, 2h, 1d" in bad_lookback.output
    bad_memory = runner.invoke(app, ["sync", "--duckdb-memory", "lots"], env=env)
    said = " ".join(bad_memory.output.replace("│", " ").split())  # rich wraps in a box
    assert bad_memory.exit_code == 2 and "'lots' is not a size DuckDB takes" in said
    assert "write it like 128MB, 1GB or 512MiB" in said
    no_threads = runner.invoke(app, ["sync", "--duckdb-threads", "0"], env=env)
    assert no_threads.exit_code == 2 and "--duckdb-threads" in no_threads.output
    missing = runner.invoke(app, ["report", "--dest", f"duckdb:///{tmp_path / 'nope.duckdb'}"])
    assert missing.exit_code == 2 and "run `jirakit sync` first" in missing.output


def test_sync_defaults_are_the_pipelines_bounded_ones():
    """The CLI spells its DuckDB defaults out (importing the pipeline would load dlt for
    `--help`); they must be the ones the memory figures were measured with."""
    import inspect

    from jirakit.cli.sync import sync
    from jirakit.sync.pipeline import DUCKDB_MEMORY, DUCKDB_THREADS

    params = inspect.signature(sync).parameters
    assert params["duckdb_memory"].default == DUCKDB_MEMORY
    assert params["duckdb_threads"].default == DUCKDB_THREADS


def test_progress_shows_the_phases_that_extract_nothing(tmp_path: Path):
    """The live display moves through loading and models (it used to freeze there): the
    run reports every phase in order, and the display's title names the current one."""
    from rich.console import Console

    from jirakit import BasicAuth, Jira
    from jirakit.cli.sync import _Progress
    from jirakit.sync.outcome import PHASES
    from jirakit.sync.pipeline import run_sync, warehouse_for

    sandbox = Sandbox(seed=9, issues=20)
    seen: list[str] = []
    titles: list[str] = []
    with (
        sandbox.serve() as url,
        Jira(url, auth=BasicAuth("admin@example.com", "sandbox-token")) as jira,
    ):
        shown = _Progress(jira.stats)

        def enter(phase: str) -> None:
            seen.append(phase)
            shown.enter(phase)
            titles.append(str(shown.render().title))

        run_sync(
            jira,
            warehouse=warehouse_for(f"duckdb:///{tmp_path / 'j.duckdb'}"),
            pipelines_dir=str(tmp_path / "s"),
            on_phase=enter,
        )
    expected = [p for p in PHASES if p != "loading an interrupted run's rows"]
    assert seen == [*expected, "done"]
    assert any(t.startswith("jirakit sync: loading (") for t in titles)
    assert any(t.startswith("jirakit sync: models (") for t in titles)
    rendered = Console(width=100, record=True)
    rendered.print(shown.render())
    assert "requests" in rendered.export_text()


def test_sync_listen_keeps_the_warehouse_current_from_jiras_webhooks(tmp_path: Path):
    """`jirakit sync --listen`: a full sync, then the receiver on the same warehouse; an
    edit in Jira reaches the warehouse through Jira's own signed webhook, as a sync would
    have written it."""
    import os
    import re
    import signal
    import subprocess
    import time

    import httpx

    secret = "listen-hmac-secret"
    sandbox = Sandbox(seed=12, issues=25)
    db = tmp_path / "j.duckdb"
    env = {
        **os.environ,
        "JIRAKIT_EMAIL": "admin@example.com",
        "JIRAKIT_API_TOKEN": "sandbox-token",
        "JIRAKIT_WEBHOOK_SECRET": secret,
    }
    with sandbox.serve() as url:
        proc = subprocess.Popen(
            sync_command(
                url,
                db,
                tmp_path / "s",
                *("--listen", "--listen-port", "0"),
                *("--store", f"sqlite:///{tmp_path / 'inbox.db'}"),
            ),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            hook = None
            for line in proc.stderr:
                found = re.search(r"Listening: POST (\S+/webhooks/jira)", line)
                if found:
                    hook = found.group(1)
                    break
            assert hook, "the receiver never said where it listens"
            auth = ("admin@example.com", "sandbox-token")
            with httpx.Client(base_url=url, auth=auth) as http:
                made = http.post(
                    "/rest/webhooks/1.0/webhook",
                    json={
                        "name": "w",
                        "url": hook,
                        "events": ["jira:issue_updated"],
                        "secret": secret,
                    },
                )
                assert made.status_code == 201, made.text
                edited = http.put(
                    "/rest/api/3/issue/ENG-3", json={"fields": {"summary": "Heard by webhook"}}
                )
                assert edited.status_code == 204, edited.text
            deadline = time.monotonic() + 60
            summary = None
            while time.monotonic() < deadline and summary != "Heard by webhook":
                time.sleep(0.5)
                try:
                    con = duckdb.connect(str(db), read_only=True)
                except duckdb.Error:  # the receiver is writing it
                    continue
                try:
                    summary = con.sql("select summary from issues where key = 'ENG-3'").fetchone()[
                        0
                    ]
                finally:
                    con.close()
            assert summary == "Heard by webhook"
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    assert "Sync succeeded" in out
    assert "Traceback" not in err
