"""No secret or token reaches a log line, an error or a response: the whole service suite
runs again with recognisable secrets (SQLite), logging at DEBUG to a file and every
response the service sends captured; then all of it is grepped for the secrets, for the
Basic header made from them, and for every OAuth token the sandbox issued."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from service_support import ENCRYPTION_KEY, JIRA_TOKEN, OAUTH_SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_no_secret_in_anything_the_suite_produced(tmp_path: Path):
    capture = tmp_path / "responses.txt"
    log = Path(str(capture) + ".log")
    env = {**os.environ, "JIRAKIT_SECRETS_CAPTURE": str(capture)}
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
            "tests/service", "-k", "not postgres and not test_no_secret_in",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert " passed" in output
    produced = {
        "output": output,
        "log": log.read_text(encoding="utf-8", errors="replace"),
        "responses": capture.read_text(encoding="utf-8", errors="replace"),
    }
    assert len(produced["responses"]) > 100_000  # the suite's answers were captured
    assert '"logger": "jirakit.service"' in produced["log"]  # our logs were written
    issued = Path(str(capture) + ".tokens").read_text(encoding="utf-8").split()
    assert len(issued) > 10  # OAuth tokens were issued during the run
    basic = base64.b64encode(f"admin@example.com:{JIRA_TOKEN}".encode()).decode()
    secrets = [JIRA_TOKEN, OAUTH_SECRET, ENCRYPTION_KEY, basic, *issued]
    leaks = [
        (where, secret[:12] + "...")
        for where, text in produced.items()
        for secret in secrets
        if secret in text
    ]
    assert leaks == []
