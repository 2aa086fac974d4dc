"""A sync killed with SIGKILL in any phase and run again ends exactly where an uninterrupted
sync ends.

The kill is sent when the sync reports a phase (its ``jira.sync_phase`` log lines,
``JIRAKIT_LOG=info``), not after a fixed time, so it lands at the same point on a fast or a
loaded machine: at the start of metadata, issues, worklogs, normalizing, loading (part of
the run committed) and models (data and cursor committed).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jirakit.sandbox import Sandbox
from jirakit.sync.outcome import PHASES
from sync_process import TABLES, fingerprint, signal_at, statuses, sync_command, sync_env

KILLED_AT = ("metadata", "issues", "worklogs", "normalizing", "loading", "models")
# The warehouse's own tables, and two models, as `sync_process.fingerprint` compares them.
COMPARED = {
    **TABLES,
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
    return sync_command(url, work / "jira.duckdb", work / "pipelines")


def run(url: str, work: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command(url, work), env=sync_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def kill_at(url: str, work: Path, phase: str) -> list[str]:
    """Run a sync and SIGKILL it as soon as it reports ``phase``; the phases it reported."""
    stopped = signal_at(command(url, work), phase, signal.SIGKILL, timeout=60)
    assert stopped.code == -9, f"the sync ended ({stopped.code}) before the kill in {phase!r}"
    return stopped.reported


@pytest.fixture(scope="module")
def reference(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("reference")
    run(site, work)
    found = fingerprint(work / "jira.duckdb", COMPARED)
    assert all(not value.startswith("0:") for value in found.values()), found
    return found


def test_the_phases_killed_at_are_the_syncs_own():
    assert set(KILLED_AT) <= set(PHASES)
    assert [p for p in PHASES if p in KILLED_AT] == list(KILLED_AT)


@pytest.mark.slow
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
    assert fingerprint(db, COMPARED) == reference
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
    assert fingerprint(db, COMPARED) == reference
    assert statuses(db)[-1] == "succeeded"
