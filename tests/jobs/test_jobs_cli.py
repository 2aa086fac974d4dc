"""``jirakit worker`` and ``jirakit jobs``: a scheduled sync end to end on the SQLite queue,
and bad input as one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from jirakit.sandbox import Sandbox


def jirakit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jirakit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_a_target_synced_by_the_in_process_worker(tmp_path: Path):
    jobs = f"sqlite:///{tmp_path / 'jobs.db'}"
    db = tmp_path / "acme.duckdb"
    with Sandbox(seed=4, issues=40) as site, site.serve() as url:
        added = jirakit(
            "jobs",
            "add-target",
            "acme",
            "--url",
            url,
            "--email",
            site.admin_email,
            "--dest",
            f"duckdb:///{db}",
            "--streams",
            "metadata,issues",
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
            "--jobs",
            jobs,
        )
        assert added.returncode == 0, added.stderr
        queued = jirakit("jobs", "sync", "acme", "--jobs", jobs)
        assert queued.stdout.strip() == "job 1 queued"
        again = jirakit("jobs", "sync", "acme", "--jobs", jobs)
        assert again.stdout.strip() == "a sync of acme is already queued"
        ran = jirakit(
            "worker", "--until-idle", "--jobs", jobs, env={"JIRA_API_TOKEN": site.api_token}
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "worker stopped: 1 jobs finished"
    listed = jirakit("jobs", "list", "--json", "--jobs", jobs)
    assert '"status": "succeeded"' in listed.stdout and '"lock": "sync:acme"' in listed.stdout
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.sql("select count(*) from issues").fetchone() == (40,)
    finally:
        con.close()


def test_bad_input_is_one_line(tmp_path: Path):
    jobs = f"sqlite:///{tmp_path / 'jobs.db'}"
    unknown = jirakit("jobs", "sync", "nope", "--jobs", jobs)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "error: no target 'nope' (targets: none yet)"
    scheme = jirakit("worker", "--jobs", "mysql://db/x")
    assert scheme.returncode == 2 and "use postgresql://user@host/db" in scheme.stderr
    assert len(scheme.stderr.strip().splitlines()) == 1
    bad = jirakit(
        "jobs", "add-target", "a b", "--url", "http://x", "--dest", "duckdb", "--jobs", jobs
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: a target's name is letters, digits, - and _: not 'a b'"
