"""Evaluator over real Jira responses (../shared/jira/fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jirakit.jql.context import EvalContext
from jirakit.jql.evaluator import compile, sort_key
from jirakit.jql.parser import parse
from needs import shared_json


def load(relative: str) -> Any:
    return shared_json("jira", "fixtures", *relative.split("/"))


def select(jql: str, issues: list[dict[str, Any]], ctx: EvalContext) -> list[str]:
    predicate = compile(parse(jql), ctx)
    return [issue["key"] for issue in issues if predicate(issue)]


# --- jira-ruby: a Server search page (users with "name", +1300 timestamps) ----------------

RUBY_CTX = EvalContext(now=datetime(2012, 1, 1, tzinfo=UTC), tz=ZoneInfo("Pacific/Auckland"))


@pytest.fixture(scope="module")
def ruby() -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = load("jira-ruby/issue.json")["issues"]
    return issues


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = SAMPLEPROJECT AND status = Open", 11),
        ("project = 10001 AND status = 1", 11),
        ('project = "Sample Project for Developing RoR RESTful API"', 11),
        ("project = SAMPLEPROJECT AND status = Closed", 0),
        ("assignee = admin AND priority = Major", 11),
        ('assignee = "admin@example.com"', 11),
        ("assignee != admin", 0),
        ("issuetype = Task AND resolution = Unresolved", 11),
        ("summary ~ blarg", 8),
        ('summary ~ "ninja*"', 1),
        ("key > SAMPLEPROJECT-10", 3),
        ("key in (SAMPLEPROJECT-1, SAMPLEPROJECT-13)", 2),
        # created 2011-12-15 in +13:00 (Auckland summer time)
        ('created >= "2011-12-15"', 6),
        ('created >= "2011/12/15 15:30"', 3),
        # minute granularity: 15:35:06 counts as 15:35
        ('created >= "2011/12/15 15:35"', 1),
        ('created > "2011/12/15 15:35"', 0),
        ("labels is EMPTY AND fixVersion is EMPTY", 11),
        ('duedate = "2011-12-14"', 1),
        ("duedate is EMPTY", 10),
        ("watchers = 0 AND votes = 0", 11),
    ],
)
def test_jira_ruby_search_page(ruby: list[dict[str, Any]], jql: str, expected: int) -> None:
    assert len(select(jql, ruby, RUBY_CTX)) == expected


def test_jira_ruby_ordering(ruby: list[dict[str, Any]]) -> None:
    ordered = sorted(ruby, key=sort_key(parse("ORDER BY key ASC"), RUBY_CTX))
    assert [i["key"] for i in ordered][:4] == [
        "SAMPLEPROJECT-1",
        "SAMPLEPROJECT-4",
        "SAMPLEPROJECT-5",
        "SAMPLEPROJECT-6",
    ]
    newest = sorted(ruby, key=sort_key(parse("ORDER BY created DESC"), RUBY_CTX))
    assert newest[0]["key"] == "SAMPLEPROJECT-13"


# --- Cloud v3: one issue with ADF, components, links, subtasks ----------------------------

CLOUD_CTX = EvalContext(
    now=datetime(2023, 5, 1, tzinfo=UTC),
    tz=ZoneInfo("Asia/Jerusalem"),
    current_user="dummy_account_id",
)


@pytest.fixture(scope="module")
def cloud() -> list[dict[str, Any]]:
    return [load("cloud-v3-demisto/get_issue_test/raw_response.json")]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('project = COMPANYSA AND status = "In Progress"', True),
        ("statusCategory = indeterminate AND statusCategory != done", True),
        ("issuetype = Story AND priority = Low", True),
        ("priority > Medium", False),
        ('assignee = currentUser() AND reporter = "Example User"', True),
        ('assignee = "admin@demistodev.com"', True),
        ("component = Almost-Done AND component in (Integration, nope)", True),
        ("labels = xsoar AND labels in (Demisto)", True),
        ("description ~ xsoar", True),
        ('description ~ "\\"description stam\\""', True),
        ("comment ~ hello", True),
        ("summary ~ mirror", True),  # "mirroring"
        ('issueLinkType = "is blocked by"', True),
        ('issue in linkedIssues("TSTPRD-6")', True),
        ("duedate = 2024-12-30", True),
        ('duedate > "2024-12-30"', False),
        ('created >= "2023-03-01 11:34" AND created < "2023-03-01 11:35"', True),
        ('originalEstimate = "15w 2d 6m"', True),  # 2217960 s in 8 h days / 5 d weeks
        ("remainingEstimate > 15w", True),
        ("timespent is EMPTY", True),
        ("attachments is not EMPTY", True),
        ("resolution is EMPTY AND resolved is EMPTY", True),
        ("issue in watchedIssues()", True),
    ],
)
def test_cloud_issue(cloud: list[dict[str, Any]], jql: str, expected: bool) -> None:
    assert bool(select(jql, cloud, CLOUD_CTX)) is expected


def test_cloud_search_page() -> None:
    issues = load("cloud-v3-demisto/issue_query_test/raw_response.json")["issues"]
    ctx = EvalContext(now=datetime(2019, 1, 1, tzinfo=UTC))
    assert select("project = SOC", issues, ctx) == ["SOC-5"]
    assert select("statusCategory = new ORDER BY key", issues, ctx) == ["DEM-158", "SOC-5"]
    assert select("priority = Low OR status = Backlog", issues, ctx) == ["SOC-5"]
    assert select("assignee is EMPTY", issues, ctx) == ["DEM-158", "SOC-5"]


# --- Webhook payloads: their changelog becomes the issue's history -------------------------


def with_history(payload: dict[str, Any]) -> dict[str, Any]:
    when = datetime.fromtimestamp(payload["timestamp"] / 1000, UTC)
    issue: dict[str, Any] = payload["issue"]
    history = {
        "id": payload["changelog"].get("id", "1"),
        "created": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "author": payload["user"],
        "items": payload["changelog"]["items"],
    }
    return {**issue, "changelog": {"histories": [history]}}


def test_webhook_changelog_resolved() -> None:
    payload = load("webhooks-mattermost/webhook-issue-updated-resolved.json")
    issue = with_history(payload)
    ctx = EvalContext(now=datetime(2019, 3, 1, tzinfo=UTC), tz=ZoneInfo("America/Los_Angeles"))
    account = payload["user"]["accountId"]
    assert select('status WAS "In Progress"', [issue], ctx)
    assert select(f'status CHANGED FROM "In Progress" TO Done BY {account}', [issue], ctx)
    assert select("resolution CHANGED FROM EMPTY TO Done", [issue], ctx)
    assert select("resolution WAS EMPTY", [issue], ctx)
    # changed 2019-02-15 19:15 PST (03:15Z on the 16th)
    assert select('status CHANGED ON "2019-02-15"', [issue], ctx)
    assert not select('status CHANGED ON "2019-02-16"', [issue], ctx)
    assert not select('status WAS "In Progress" AFTER "2019-02-16"', [issue], ctx)
    assert select(f"issue in updatedBy({account})", [issue], ctx)


def test_webhook_changelog_fix_version_swap() -> None:
    payload = load("webhooks-mattermost/webhook-issue-updated-fix-version.json")
    issue = with_history(payload)
    # the payload's issue has no fixVersions; the item swapped v1 for v2
    ctx = EvalContext(now=datetime(2019, 3, 1, tzinfo=UTC))
    assert select("fixVersion CHANGED FROM v1 TO v2", [issue], ctx)
    assert select("fixVersion WAS v1", [issue], ctx)
    assert not select("fixVersion CHANGED TO v1", [issue], ctx)
