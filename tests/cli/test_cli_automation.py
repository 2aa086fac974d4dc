"""The automation CLI against a served sandbox: real HTTP, real output."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from jirakit.cli import app
from jirakit.sandbox import Sandbox

TOKEN = "cli-token-SECRET"


pytestmark = pytest.mark.usefixtures("no_real_config")


@pytest.fixture(scope="module")
def site() -> Iterator[dict[str, str]]:
    sandbox = Sandbox(seed=3, issues=40, api_token=TOKEN)
    with sandbox.serve() as url:
        yield {"JIRAKIT_URL": url, "JIRAKIT_EMAIL": "admin@example.com", "JIRAKIT_API_TOKEN": TOKEN}


def run(site: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=site, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    return result.output


def test_whoami(site):
    said = run(site, "whoami")
    assert said.startswith("Sandbox Admin <admin@example.com>")
    assert f"at {site['JIRAKIT_URL']} (cloud)" in said  # the flavour asked of the site


def test_search_formats(site):
    rows = list(
        csv.reader(
            io.StringIO(
                run(site, "search", "project = ENG ORDER BY key", "-o", "csv", "--limit", "5")
            )
        )
    )
    assert rows[0] == ["key", "summary", "status", "assignee", "priority", "updated"]
    assert len(rows) == 6 and all(r[0].startswith("ENG-") for r in rows[1:])
    lines = run(
        site, "search", "project = ENG", "-o", "jsonl", "--limit", "3", "-f", "summary"
    ).splitlines()
    assert len(lines) == 3 and all("summary" in json.loads(line)["fields"] for line in lines)
    table = run(site, "search", "project = ENG", "--limit", "2")
    assert "2 issue(s)" in table


def test_issue_lifecycle(site):
    key = run(
        site,
        "issue",
        "create",
        "--project",
        "ENG",
        "--type",
        "Bug",
        "--summary",
        "CLI made me",
        "--description",
        "from the command line",
        "--label",
        "cli",
    ).strip()
    assert key.startswith("ENG-")
    got = json.loads(run(site, "issue", "get", key, "-o", "json", "-f", "summary,labels"))
    assert got[0]["fields"]["summary"] == "CLI made me" and got[0]["fields"]["labels"] == ["cli"]
    run(site, "issue", "edit", key, "--summary", "CLI renamed me")
    assert "ENG" in run(site, "issue", "comment", key, "looks good")
    assert (
        run(site, "issue", "transition", key, "--to", "In Progress").strip()
        == f"{key} -> In Progress"
    )
    assert "unassigned" in run(site, "issue", "assign", key, "none")
    assert "assigned to admin@example.com" in run(site, "issue", "assign", key, "admin@example.com")
    csv_out = run(site, "issue", "get", key, "-o", "csv", "-f", "summary,assignee")
    assert "CLI renamed me" in csv_out and "Sandbox Admin" in csv_out
    run(site, "issue", "delete", key, "--yes")


def test_jira_errors_exit_1_without_traceback(site):
    env = {**os.environ, **site}
    proc = subprocess.run(
        [sys.executable, "-m", "jirakit", "issue", "get", "ENG-99999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Issue does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "jirakit", "search", "project = ENG AND ("],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "Error in the JQL Query" in bad.stderr
    assert TOKEN not in bad.stderr + bad.stdout


def test_missing_settings_are_usage_errors():
    result = CliRunner().invoke(
        app, ["whoami"], env={"JIRAKIT_URL": "", "JIRAKIT_EMAIL": "", "JIRAKIT_API_TOKEN": ""}
    )
    assert result.exit_code == 2
    assert "no site URL" in result.output
    result = CliRunner().invoke(
        app,
        ["whoami", "--url", "http://x.invalid"],
        env={"JIRAKIT_EMAIL": "", "JIRAKIT_API_TOKEN": "", "JIRAKIT_PAT": ""},
    )
    assert result.exit_code == 2 and "no credentials" in result.output
    result = CliRunner().invoke(
        app, ["search", "x", "-o", "xml", "--url", "http://x.invalid", "--pat", "p"]
    )
    assert result.exit_code == 2 and "table, json, jsonl, csv" in result.output


def test_issue_create_and_edit_by_names(site):
    key = run(
        site,
        "issue",
        "create",
        "--project",
        "Engineering Platform",
        "--type",
        "bug",
        "--priority",
        "High",
        "--assignee",
        "ann.tanaka@example.com",
        "--summary",
        "Named from the CLI",
        "--description",
        "Steps:\n\n1. **pay**",
        "--field",
        "Story Points=3",
        "--field",
        "Customer Tier=Gold",
        "--field",
        'Affected Platforms=["iOS", "Web"]',
    ).strip()
    fields = json.loads(run(site, "issue", "get", key, "-o", "json", "-f", "*all"))[0]["fields"]
    assert fields["issuetype"]["name"] == "Bug" and fields["priority"]["name"] == "High"
    assert fields["assignee"]["emailAddress"] == "ann.tanaka@example.com"
    assert fields["customfield_10028"] == 3 and fields["customfield_10030"]["value"] == "Gold"
    assert [o["value"] for o in fields["customfield_10031"]] == ["iOS", "Web"]
    assert fields["description"]["content"][1]["type"] == "orderedList"
    run(site, "issue", "edit", key, "--field", "Story Points=5", "--assignee", "Ben Patel")
    fields = json.loads(run(site, "issue", "get", key, "-o", "json", "-f", "*all"))[0]["fields"]
    assert fields["customfield_10028"] == 5 and fields["assignee"]["displayName"] == "Ben Patel"
    run(site, "issue", "comment", key, "--plain", "a **literal**\nsecond line")
    run(site, "issue", "delete", key, "--yes")


def test_unknown_names_fail_with_the_candidates(site):
    from jirakit.errors import ConfigurationError

    args = ["issue", "create", "--project", "ENG", "--summary", "x", "--field", "Story Pts=1"]
    result = CliRunner().invoke(app, args, env=site)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "did you mean 'Story Points'" in result.stderr
    with pytest.raises(ConfigurationError, match="did you mean 'Story Points'"):
        CliRunner().invoke(app, args, env=site, catch_exceptions=False, standalone_mode=False)
