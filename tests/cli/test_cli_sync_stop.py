"""Ctrl-C (SIGINT) and SIGTERM stop `jirakit sync` cleanly in every phase: one line that
says what was committed and that the next run resumes, exit 130 / 143, no traceback, the
run recorded as ``interrupted``; the next run completes the warehouse.

Real signals to a real subprocess, sent when the sync reports the phase (its
``jira.sync_phase`` log lines, ``JIRAKIT_LOG=info``), not after a fixed time."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jirakit.sandbox import Sandbox
from jirakit.sync.outcome import PHASES
from sync_process import fingerprint, log_event, signal_at, statuses, sync_command, sync_env


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    # A little latency so that every extraction phase lasts long enough to be hit.
    sandbox = Sandbox(seed=31, issues=240, latency=(15, 25))
    with sandbox.serve() as url:
        yield sandbox, url


def command(url: str, db: Path, state: Path) -> list[str]:
    return sync_command(url, db, state)


def env() -> dict[str, str]:
    return sync_env()


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


def summary_rows(stdout: str) -> dict[str, int]:
    """The sync's closing table: rows loaded per table."""
    rows = [line.split("│") for line in stdout.splitlines() if line.count("│") == 1]
    return {name.strip(): int(n.strip().replace(",", "")) for name, n in rows}


# Every phase, with both signals between them. Two run in `make test` (a stop before the
# load commits nothing, one inside it commits the package); the other four, 7-11 s each,
# in `make slow` (CI runs both).
SLOW = pytest.mark.slow
CASES = [
    pytest.param("metadata", signal.SIGINT, marks=SLOW, id="metadata-SIGINT"),
    pytest.param("issues", signal.SIGTERM, id="issues-SIGTERM"),
    pytest.param("worklogs", signal.SIGINT, marks=SLOW, id="worklogs-SIGINT"),
    pytest.param("normalizing", signal.SIGTERM, marks=SLOW, id="normalizing-SIGTERM"),
    pytest.param("loading", signal.SIGINT, id="loading-SIGINT"),
    pytest.param("models", signal.SIGTERM, marks=SLOW, id="models-SIGTERM"),
]


@pytest.mark.parametrize(("phase", "signum"), CASES)
def test_a_stopped_sync_says_what_was_committed_and_the_next_run_completes(
    site, reference, tmp_path: Path, phase: str, signum: signal.Signals
):
    _, url = site
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    if phase in ("loading", "models"):  # also a stop on top of an incremental state
        first = subprocess.run(command(url, db, state), env=env(), capture_output=True, text=True)
        assert first.returncode == 0, first.stderr

    stopped = signal_at(command(url, db, state), phase, signum)
    code, out, said = stopped.code, stopped.stdout, stopped.said

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
    # Its summary counts what it loaded: everything, when the stopped run committed nothing.
    loaded = summary_rows(again.stdout)
    if committed.startswith("Nothing from this run was committed"):
        assert loaded["issues"] == int(reference["issues"].split(":")[0]), again.stdout
        assert loaded["comments"] == int(reference["comments"].split(":")[0]), again.stdout
    # the stopped run stays recorded as interrupted, even when this run loaded its rows
    # (its package carried its row as succeeded)
    assert statuses(db)[-2:] == ["interrupted", "succeeded"], statuses(db)


def test_a_stop_before_the_run_starts_is_one_line_too(site, tmp_path: Path):
    """While `jirakit sync` waits for a reader to let go of the warehouse (before any
    request to Jira), a signal ends it at once, with one line and 143, no traceback."""
    _, url = site
    db, state_dir = tmp_path / "jira.duckdb", tmp_path / "jirakit-state"
    duckdb.connect(str(db)).close()
    reader = duckdb.connect(str(db), read_only=True)  # as `jirakit sql` holds it a moment
    try:
        proc = subprocess.Popen(
            command(url, db, tmp_path / "state"),
            env=sync_env(JIRAKIT_STATE_DIR=str(state_dir)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The progress file is written just before the warehouse is opened.
        deadline = time.monotonic() + 60
        while not list(state_dir.glob("syncs/*.json")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.poll()
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        reader.close()
    said = [line for line in err.splitlines() if line.strip() and log_event(line) is None]
    assert proc.returncode == 143, err
    assert said == [
        "Interrupted (SIGTERM) before the sync started. Nothing from this run was committed; "
        "the next run starts from what the warehouse holds."
    ], err
    assert "Traceback" not in err + out
    assert not any(
        (log_event(line) or {}).get("event") == "jira.sync_phase" for line in err.splitlines()
    )
    progress = json.loads(next(state_dir.glob("syncs/*.json")).read_text())
    assert progress["status"] == "interrupted", progress


@pytest.mark.slow  # ~20 s: a full load stopped, then the run that completes it
def test_a_stop_inside_dlts_load_is_one_line_too(site, reference, tmp_path: Path):
    """SIGTERM while dlt's loader runs a full load's jobs (sent when dlt reports its first
    job done, at dlt's INFO level): dlt's own warnings about the package it leaves
    part-loaded are not shown; jirakit's one line says what that means."""
    _, url = site
    db, state = tmp_path / "jira.duckdb", tmp_path / "state"
    proc = subprocess.Popen(
        command(url, db, state),
        env=sync_env(RUNTIME__LOG_LEVEL="INFO"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    said, sent = [], False
    for line in proc.stderr:
        if "|dlt|load.py|" in line and "completed in load" in line and not sent:
            proc.send_signal(signal.SIGTERM)
            sent = True
        if log_event(line) is None and "|[INFO]|" not in line and line.strip():
            said.append(line.rstrip("\n"))
    out, _ = proc.communicate(timeout=120)
    assert sent, "dlt never reported a loaded job"
    assert proc.returncode == 143, said
    assert "Traceback" not in out and len(said) == 1, said
    assert said[0].startswith("Interrupted (SIGTERM) during loading. "), said
    assert "next run" in said[0]
    assert statuses(db)[-1] == "interrupted"

    again = subprocess.run(command(url, db, state), env=env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert fingerprint(db) == reference
    assert statuses(db)[-2:] == ["interrupted", "succeeded"], statuses(db)


# Test-only: a signal sent by the process to itself the moment a given module starts to be
# imported, so that it lands inside the command line's start-up imports (not at a time).
_TRIP = """
import os, signal, sys

class _Trip:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["TRIP_ON_IMPORT"]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), getattr(signal, os.environ["TRIP_SIGNAL"]))
        return None

sys.meta_path.insert(0, _Trip())
"""


@pytest.mark.parametrize(
    ("module", "sig", "code"),
    [("typer", "SIGINT", 130), ("httpx", "SIGTERM", 143), ("dlt", "SIGINT", 130)],
)
def test_a_stop_while_the_command_is_loading_is_one_line(
    site, tmp_path: Path, sig: str, code: int, module: str
):
    """Ctrl-C or SIGTERM while Typer, the client (httpx) or the sync (dlt) is still being
    imported: one line, 130 / 143, no traceback."""
    _, url = site
    run = subprocess.run(
        sync_command(url, tmp_path / "w.duckdb", tmp_path / "state"),
        env=trip_env(tmp_path, module, sig),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    # typer and httpx load with the command line (`jirakit._entry`); dlt loads once the
    # sync command runs, which says so itself.
    said = "while jirakit was starting" if module != "dlt" else "before the sync started"
    assert len(lines) == 1 and lines[0].startswith(f"Interrupted ({sig}) {said}"), run.stderr
    assert not (tmp_path / "w.duckdb").exists()


def trip_env(tmp_path: Path, module: str, sig: str) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_TRIP)
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    return sync_env(PYTHONPATH=path, TRIP_ON_IMPORT=module, TRIP_SIGNAL=sig)


def test_a_sigint_the_parent_ignores_stays_ignored_while_loading(tmp_path: Path):
    """Started with SIGINT ignored (nohup, a shell's background job), the command does not
    die of a SIGINT that lands while it loads, and runs to its end."""
    run = subprocess.run(
        [sys.executable, "-m", "jirakit", "--version"],
        env=trip_env(tmp_path, "typer", "SIGINT"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("jirakit "), run.stdout
