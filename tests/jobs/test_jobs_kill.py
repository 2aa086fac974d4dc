"""A worker killed with ``kill -9`` mid-sync: another worker runs the job again and the
warehouse ends exactly as an uninterrupted sync leaves it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jirakit.jobs.queue import open_queue
from jirakit.jobs.tasks import SyncTarget
from jirakit.sandbox import Sandbox
from sync_process import EMAIL, TOKEN, fingerprint, sync_command


def start_worker(url: str, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jirakit",
            "worker",
            "--jobs",
            url,
            "--concurrency",
            "1",
            "--heartbeat",
            "0.5",
            "--stalled-after",
            "3",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def sync_job(queue):
    return next(j for j in queue.jobs() if j.task == "sync_connection")


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_sync_killed_with_its_worker_is_finished_by_another(tmp_path: Path, pg_database: str):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "JIRA_API_TOKEN": "sandbox-token"}
    sandbox = Sandbox(seed=5, issues=150)
    with sandbox.serve() as url:
        reference = subprocess.run(
            sync_command(
                url,
                tmp_path / "reference.duckdb",
                tmp_path / "pipelines-reference",
                *("--email", EMAIL, "--token", TOKEN, "--streams", "metadata,issues"),
            ),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert reference.returncode == 0, reference.stderr
        queue = open_queue(pg_database)
        queue.migrate()
        target = SyncTarget(
            "site-a",
            url,
            f"duckdb:///{tmp_path / 'resumed.duckdb'}",
            email="admin@example.com",
            streams=("metadata", "issues"),
            pipelines_dir=str(tmp_path / "pipelines-resumed"),
        )
        queue.add_target(target)
        assert queue.defer("sync_connection", target=target.as_json()) is not None
        log_path = tmp_path / "workers.log"
        log = log_path.open("ab")
        first = start_worker(pg_database, env, log)
        try:
            wait_for(lambda: sync_job(queue).status == "doing", 60, "the first worker to start")
            time.sleep(1.5)  # well into the sync
            assert sync_job(queue).status == "doing", "the sync finished before the kill"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            second = start_worker(pg_database, env, log)
            try:
                wait_for(
                    lambda: sync_job(queue).status in ("succeeded", "failed"), 240, "the retry"
                )
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
            log.close()
        [job] = [j for j in queue.jobs() if j.task == "sync_connection"]
        assert job.status == "succeeded", log_path.read_text()[-3000:]
        assert job.attempts >= 2  # the killed attempt and the one that finished
        queue.close()
    assert fingerprint(tmp_path / "resumed.duckdb") == fingerprint(tmp_path / "reference.duckdb")
