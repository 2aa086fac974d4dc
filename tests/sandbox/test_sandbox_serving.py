"""Serving on a real port, persistence (``--data``), the CLI and the pytest plugin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from jirakit.cli.app import app
from jirakit.sandbox import Sandbox
from jirakit.testing.plugin import SandboxServer


def test_serve_context_manager_starts_and_stops() -> None:
    sb = Sandbox(seed=1, issues=20)
    with sb.serve() as url:
        assert url.startswith("http://127.0.0.1:")
        r = httpx.get(f"{url}/rest/api/3/issue/ENG-1", auth=sb.auth)
        assert r.status_code == 200
        assert r.json()["self"] == f"{url}/rest/api/3/issue/{r.json()['id']}"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/rest/api/3/myself", auth=sb.auth, timeout=2)


def test_save_and_load_keeps_state(tmp_path: Path) -> None:
    sb = Sandbox(seed=3, issues=30)
    with sb.serve() as url:
        r = httpx.post(
            f"{url}/rest/api/2/issue",
            auth=sb.auth,
            json={
                "fields": {
                    "project": {"key": "ENG"},
                    "issuetype": {"name": "Task"},
                    "summary": "Persist me",
                }
            },
        )
        key = r.json()["key"]
    path = tmp_path / "state.json"
    sb.save(path)
    again = Sandbox.load(path)
    rec = again.store.issue(key)
    assert rec is not None and rec.fields["summary"] == "Persist me"
    assert json.dumps(again.store.to_json(), sort_keys=True) == json.dumps(
        sb.store.to_json(), sort_keys=True
    )
    new_key = again.store.next_issue_key("ENG")
    assert int(new_key.split("-")[1]) == int(key.split("-")[1]) + 1


def test_cli_help_lists_options() -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--help"])
    assert result.exit_code == 0
    for option in (
        "--port",
        "--issues",
        "--projects",
        "--seed",
        "--flavour",
        "--search-lag",
        "--data",
        "--legacy-search",
    ):
        assert option in result.output


def test_cli_serves_and_persists(tmp_path: Path) -> None:
    data = tmp_path / "site.json"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jirakit",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--issues",
            "25",
            "--data",
            str(data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(4)]
            url = next(line.split()[-1] for line in lines if "base URL" in line)
            assert any("sandbox-token" in line for line in lines)
            deadline = time.monotonic() + 15
            while True:
                try:
                    r = httpx.get(
                        f"{url}/rest/api/3/myself", auth=("admin@example.com", "sandbox-token")
                    )
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert r.status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)
    assert data.exists()
    assert len(json.loads(data.read_text())["issues"]) == 25


@pytest.mark.jira_sandbox(issues=12, seed=4, projects=2)
def test_plugin_fixture_honours_marker(jira_sandbox: Sandbox) -> None:
    assert len(jira_sandbox.store.issues) == 12
    assert len(jira_sandbox.store.projects) == 2


def test_plugin_fixture_is_fresh_per_test(jira_sandbox: Sandbox) -> None:
    assert all(r.version >= 1 for r in jira_sandbox.store.issues.values())
    assert jira_sandbox.store.generation == 0  # nothing mutated yet


def test_plugin_server_fixture(jira_sandbox_server: SandboxServer) -> None:
    r = httpx.get(f"{jira_sandbox_server.url}/rest/api/3/myself", auth=jira_sandbox_server.auth)
    assert r.status_code == 200
