"""`jirakit issue list|view|create --parent|delete` against a served sandbox: each output
format is parsed and checked against what the site holds (read back with the client)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from jirakit import BasicAuth, Jira
from jirakit.cli import app
from jirakit.errors import NotFound
from jirakit.sandbox import Sandbox

TOKEN = "issues-token-SECRET"


pytestmark = pytest.mark.usefixtures("no_real_config")


@pytest.fixture(scope="module")
def site() -> Iterator[dict[str, str]]:
    with Sandbox(seed=5, issues=40, api_token=TOKEN).serve() as url:
        yield {
            "JIRAKIT_URL": url,
            "JIRAKIT_EMAIL": "admin@example.com",
            "JIRAKIT_API_TOKEN": TOKEN,
            "COLUMNS": "250",  # tables one row per line
        }


@pytest.fixture(scope="module")
def jira(site) -> Iterator[Jira]:
    with Jira(site["JIRAKIT_URL"], auth=BasicAuth("admin@example.com", TOKEN)) as client:
        yield client


def run(site: dict[str, str], *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), env=site, input=input)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    return result.stdout


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a rich table (one line each at this width)."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_list_by_project_and_status_matches_the_site(site, jira):
    expected = [
        (i.key, i.summary)
        for i in jira.search.iter(
            'project = ENG AND status in ("In Progress", Done) ORDER BY key', fields=["summary"]
        )
    ]
    assert len(expected) > 2
    out = run(
        site,
        "issue", "list", "-p", "ENG", "-s", "In Progress", "-s", "Done",
        "--order-by", "key", "--limit", "100", "-o", "csv", "-f", "summary",
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["key", "summary"]
    assert [tuple(r) for r in rows[1:]] == expected
    table = run(
        site, "issue", "list", "-p", "ENG", "-s", "In Progress", "-s", "Done",
        "--order-by", "key", "--limit", "100", "-f", "summary,status",
    )  # fmt: skip
    body = table_rows(table)
    assert [(r[0], r[1]) for r in body] == expected
    assert {r[2] for r in body} <= {"In Progress", "Done"}
    assert f"{len(expected)} issue(s)" in table


def test_list_assignee_me_none_and_email(site, jira):
    mine = {i.key for i in jira.search.iter("assignee = currentUser()", fields=["key"])}
    out = json.loads(run(site, "issue", "list", "-a", "me", "--limit", "500", "-o", "json"))
    assert {i["key"] for i in out} == mine and mine
    nobody = {
        i.key for i in jira.search.iter("project = ENG AND assignee is EMPTY", fields=["key"])
    }
    out = json.loads(
        run(site, "issue", "list", "-p", "ENG", "-a", "none", "--limit", "500", "-o", "json")
    )
    assert {i["key"] for i in out} == nobody
    some = next(
        i for i in jira.search.iter("project = ENG AND assignee is not EMPTY", fields=["assignee"])
    )
    email = some.assignee.email
    theirs = {i.key for i in jira.search.iter(f'assignee = "{email}"', fields=["key"])}
    out = run(site, "issue", "list", "-a", email, "--limit", "500", "-o", "jsonl")
    assert {json.loads(line)["key"] for line in out.splitlines()} == theirs


def test_list_jql_is_anded_with_filters_and_keeps_its_order(site, jira):
    jql = "labels is not EMPTY ORDER BY key DESC"
    expected = [i.key for i in jira.search.iter(f"project = OPS AND {jql}", fields=["key"])]
    out = run(site, "issue", "list", "-p", "OPS", "-q", jql, "--limit", "200", "-o", "csv")
    assert [r[0] for r in list(csv.reader(io.StringIO(out)))[1:]] == expected
    out = run(site, "issue", "list", "-q", "project = ENG", "--limit", "3", "-o", "csv")
    assert len(out.splitlines()) == 4


def test_list_quotes_hostile_values_instead_of_pasting_them(site):
    hostile = 'x" OR project = OPS OR labels = "y'
    out = run(site, "issue", "list", "-l", hostile, "-o", "json")
    assert json.loads(out) == []  # one odd label, not every OPS issue
    result = CliRunner().invoke(app, ["issue", "list", "-p", hostile], env=site)
    assert result.exit_code == 1
    assert f"The value '{hostile}' does not exist for the field 'project'" in result.stderr


def test_list_needs_a_filter_and_bad_jql_is_a_usage_error(site):
    env = dict(site)
    nothing = CliRunner().invoke(app, ["issue", "list"], env=env)
    assert nothing.exit_code == 2 and "say which issues" in nothing.stderr
    assert len(nothing.stderr.splitlines()) == 1
    bad = CliRunner().invoke(app, ["issue", "list", "-q", "project = ENG AND ("], env=env)
    assert bad.exit_code == 2 and "Error in the JQL Query" in bad.stderr


def test_csv_and_table_headers_use_field_names_not_ids(site, jira):
    key = jira.issues.create(
        project="ENG",
        summary="Headed by names",
        issue_type="Task",
        fields={"Story Points": 8, "Customer Tier": "Gold"},
    ).key
    out = run(
        site, "search", f"key = {key}", "-o", "csv", "-f", "summary,Story Points,customfield_10030"
    )
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["key", "summary", "Story Points", "Customer Tier"]
    assert rows[1] == [key, "Headed by names", "8", "Gold"]
    assert not any(h.startswith("customfield_") for h in rows[0])
    table = run(site, "issue", "get", key, "-f", "customfield_10028")
    assert "Story Points" in table and "customfield_10028" not in table
    assert table_rows(table) == [[key, "8"]]


def test_create_with_parent_makes_a_subtask_or_an_epic_child(site, jira):
    story = next(
        i for i in jira.search.iter("project = ENG AND issuetype = Story", fields=["key"])
    ).key
    sub = run(site, "issue", "create", "--parent", story, "--summary", "a piece").strip()
    got = jira.issues.get(sub, fields=["issuetype", "parent", "project"])
    assert got.issue_type.name == "Sub-task" and got.field("parent")["key"] == story
    assert got.field("project")["key"] == "ENG"  # the parent's project, none given
    epic = next(
        i for i in jira.search.iter("project = ENG AND issuetype = Epic", fields=["key"])
    ).key
    child = run(site, "issue", "create", "--parent", epic, "--summary", "in the epic").strip()
    got = jira.issues.get(child, fields=["issuetype", "parent"])
    assert got.issue_type.name == "Task" and got.field("parent")["key"] == epic
    listed = json.loads(
        run(site, "issue", "list", "--parent", epic, "--limit", "200", "-o", "json")
    )
    assert child in {i["key"] for i in listed}


def test_view_shows_latest_comments_and_history(site, jira):
    key = jira.issues.create(
        project="ENG", summary="[Viewed] issue", issue_type="Bug", description="Steps: **pay**"
    ).key
    for n in range(1, 4):
        jira.comments.add(key, f"comment number {n}")
    jira.transitions.do(key, to="In Progress")
    jira.issues.edit(key, labels=["viewed"])
    out = run(site, "issue", "view", key, "--comments", "2", "--history", "1")
    lines = out.splitlines()
    assert lines[0] == f"{key}  [Viewed] issue"  # brackets kept: no markup
    assert "type: Bug" in out and "status: In Progress" in out and "labels: viewed" in out
    assert "Steps: pay" in out
    assert "Comments (2 of 3, newest last)" in out
    assert "comment number 1" not in out
    assert out.index("comment number 2") < out.index("comment number 3")
    history = [ln for ln in lines[lines.index("History (1 of 2, newest last)") + 1 :] if ln]
    assert len(history) == 1 and "labels: (none) -> viewed" in history[0]

    data = json.loads(run(site, "issue", "view", key, "-o", "json", "--comments", "5"))
    assert data["issue"]["key"] == key and "changelog" not in data["issue"]
    assert data["comments_total"] == 3 and len(data["comments"]) == 3
    everything = list(jira.changelogs.list(key))
    assert data["history_total"] == len(everything)
    assert [h["id"] for h in data["history"]] == [h["id"] for h in everything[-10:]]


def test_view_fetches_comments_beyond_what_the_issue_embeds(site, jira):
    key = jira.issues.create(project="ENG", summary="chatty", issue_type="Task").key
    for n in range(25):  # the sandbox embeds 20 at most (as search/jql does)
        jira.comments.add(key, f"note {n:02d}")
    data = json.loads(run(site, "issue", "view", key, "-o", "json", "--comments", "3"))
    assert data["comments_total"] == 25
    assert [c["body"]["content"][0]["content"][0]["text"] for c in data["comments"]] == [
        "note 22",
        "note 23",
        "note 24",
    ]


def test_view_unknown_issue_is_one_line_exit_1(site):
    result = CliRunner().invoke(app, ["issue", "view", "ENG-99999"], env=site)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "Issue does not exist" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_answering_no_changes_nothing_and_exits_0(site, jira):
    key = jira.issues.create(project="ENG", summary="keep me", issue_type="Task").key
    out = run(site, "issue", "delete", key, input="n\n")
    assert out.strip().endswith("nothing changed")
    assert jira.issues.get(key, fields=["summary"]).summary == "keep me"
    assert "deleted" in run(site, "issue", "delete", key, input="y\n")
    with pytest.raises(NotFound):
        jira.issues.get(key)


def test_changes_made_in_the_same_millisecond_keep_their_order():
    """Cloud embeds the changelog newest first; two changes with one timestamp (a
    transition, then an edit) are ordered by their ids, so the newest really is last."""
    from jirakit.cli.issue_view import latest_history
    from jirakit.client.models import Issue

    at = "2026-12-05T22:37:00.000+0000"
    raw = {
        "id": "1",
        "key": "ENG-1",
        "fields": {},
        "changelog": {
            "total": 2,
            "histories": [
                {"id": "10002", "created": at, "items": [{"field": "labels"}]},
                {"id": "10001", "created": at, "items": [{"field": "status"}]},
            ],
        },
    }
    newest, total = latest_history(Issue.parse(raw), 1)
    assert total == 2 and [h["id"] for h in newest] == ["10002"]
