"""`jirakit serve` mounts the dashboard at /ui (and says where), a tenant logs in with
its API key; a bad dashboard setting stops it with one line before it listens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jirakit.sandbox.serve import free_port


def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jirakit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
    )


def test_jirakit_serve_has_the_dashboard_at_ui(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'service.db'}"
    env = {
        "JIRAKIT_JOBS_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
        "JIRAKIT_BACKGROUND": "false",
    }
    made = run("tenants", "create", "acme", "--db", db, env=env)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jirakit", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert proc.stdout is not None
        first, second = proc.stdout.readline(), proc.stdout.readline()
        assert first.startswith(f"jirakit serve on http://127.0.0.1:{port}"), first
        assert second.strip() == f"dashboard on http://127.0.0.1:{port}/ui/", second
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(base + "/ui/connections", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "jirakit serve did not listen"
                time.sleep(0.1)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/login?next=%2Fconnections"
        page = httpx.get(base + "/ui/connections", headers={"Authorization": f"Bearer {key}"})
        assert page.status_code == 200 and "You have no connection yet" in page.text
        syncs = httpx.get(base + "/ui/syncs", headers={"Authorization": f"Bearer {key}"})
        assert syncs.status_code == 200  # the job queue is there: the page is offered
        assert httpx.get(base + "/healthz").json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_a_bad_dashboard_setting_is_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'service.db'}"
    done = run("serve", "--db", db, "--port", str(free_port()), env={"JIRAKIT_UI_POLL": "soon"})
    assert done.returncode == 1
    assert done.stderr.strip() == "error: JIRAKIT_UI_POLL must be seconds, such as 2 (got 'soon')"
    assert done.stdout == ""


def test_one_inbox_for_every_connection_is_refused(tmp_path: Path) -> None:
    """An inbox URL without {connection} would show every tenant's deliveries on each
    tenant's page: refused before serving, in one line; a bad jobs URL's password is not
    printed."""
    db = f"sqlite:///{tmp_path / 'service.db'}"
    inbox = f"sqlite:///{tmp_path / 'inbox.db'}"
    done = run("serve", "--db", db, "--port", str(free_port()), env={"JIRAKIT_UI_INBOX": inbox})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: JIRAKIT_UI_INBOX must name each connection's inbox")
    assert len(done.stderr.strip().splitlines()) == 1
    jobs = "mysql://jira:S3cretPw@db.internal/jirakit"
    done = run("serve", "--db", db, "--port", str(free_port()), "--jobs", jobs, env={})
    assert done.returncode == 1
    assert "S3cretPw" not in done.stderr and "mysql://jira@db.internal/jirakit" in done.stderr


def test_without_the_ui_extra_jirakit_serve_serves_the_api_and_says_so(tmp_path: Path) -> None:
    block = "import sys; sys.modules['jinja2'] = None; from jirakit.cli import main; main()"
    port = free_port()
    db = f"sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-c", block, "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JIRAKIT_BACKGROUND": "false"},
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        said = proc.stdout.readline().strip()
        assert said == "no dashboard: pip install 'jirakit[ui]' to have it at /ui/"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "jirakit serve did not listen"
                time.sleep(0.1)
        assert health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/ui/login").status_code == 404
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
