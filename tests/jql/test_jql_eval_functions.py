"""Evaluator: JQL functions resolved against the EvalContext."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlValidationError
from jirakit.jql.evaluator import compile
from jirakit.jql.parser import parse

ALICE = {"accountId": "acc-alice", "displayName": "Alice", "emailAddress": "alice@x.io"}
BOB = {"accountId": "acc-bob", "displayName": "Bob", "emailAddress": "bob@x.io"}

SPRINTS = [
    {"id": 1, "name": "Sprint 1", "state": "closed"},
    {"id": 2, "name": "Sprint 2", "state": "active"},
    {"id": 3, "name": "Sprint 3", "state": "future"},
]
VERSIONS = [
    {"id": "100", "name": "1.0", "projectId": 10000, "released": True, "releaseDate": "2024-01-01"},
    {"id": "101", "name": "1.1", "projectId": 10000, "released": True, "releaseDate": "2024-03-01"},
    {"id": "102", "name": "1.2", "projectId": 10000, "released": False},
    {"id": "103", "name": "2.0", "projectId": 10000, "released": False},
    {"id": "200", "name": "9.0", "projectId": 10001, "released": True, "releaseDate": "2024-05-01"},
    {"id": "201", "name": "9.1", "projectId": 10001, "released": False, "archived": True},
]  # fmt: skip


def linked(kind: dict[str, str], side: str, key: str, issue_id: str) -> dict[str, Any]:
    return {"type": kind, side: {"key": key, "id": issue_id}}


BLOCKS = {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"}
RELATES = {"name": "Relates", "inward": "relates to", "outward": "relates to"}


def issue(key: str, issue_id: str, **fields: Any) -> dict[str, Any]:
    project = key.split("-")[0]
    base = {
        "project": {"key": project, "id": "10000" if project == "ABC" else "10001"},
        "issuetype": {"name": "Task", "id": "1", "subtask": False},
        "fixVersions": [],
        "customfield_10020": None,
        "issuelinks": [],
        "components": [],
    }
    return {"id": issue_id, "key": key, "fields": {**base, **fields}}


ISSUES = [
    # ABC-1 blocks ABC-2; ABC-3 relates to ABC-1
    issue("ABC-1", "1", customfield_10020=[SPRINTS[0], SPRINTS[1]],
          fixVersions=[{"id": "101", "name": "1.1", "released": True}],
          issuelinks=[linked(BLOCKS, "outwardIssue", "ABC-2", "2"),
                      linked(RELATES, "inwardIssue", "ABC-3", "3")],
          components=[{"id": "50", "name": "API"}]),
    issue("ABC-2", "2", customfield_10020=[SPRINTS[2]],
          fixVersions=[{"id": "102", "name": "1.2", "released": False}],
          issuelinks=[linked(BLOCKS, "inwardIssue", "ABC-1", "1")],
          issuetype={"name": "Sub-task", "id": "5", "subtask": True}),
    issue("ABC-3", "3", customfield_10020=[SPRINTS[0]],
          fixVersions=[{"id": "100", "name": "1.0", "released": True}],
          issuelinks=[linked(RELATES, "outwardIssue", "ABC-1", "1")],
          components=[{"id": "51", "name": "UI"}]),
    issue("XYZ-1", "4", fixVersions=[{"id": "200", "name": "9.0", "released": True}]),
]  # fmt: skip

BY_KEY = {i["key"]: i for i in ISSUES}

CTX = EvalContext(
    now=datetime(2024, 6, 1, tzinfo=UTC),
    current_user="acc-alice",
    users=[ALICE, BOB],
    sprints=SPRINTS,
    versions=VERSIONS,
    projects=[
        {"id": "10000", "key": "ABC", "name": "Alpha", "lead": ALICE},
        {"id": "10001", "key": "XYZ", "name": "Xylo", "lead": BOB},
    ],
    components=[
        {"id": "50", "name": "API", "project": "ABC", "lead": BOB},
        {"id": "51", "name": "UI", "project": "ABC", "lead": ALICE},
    ],
    history=["ABC-3", "XYZ-1"],
    issue_by_key=lambda key: BY_KEY.get(key.upper()),
)


def keys(jql: str, ctx: EvalContext = CTX) -> list[str]:
    predicate = compile(parse(jql), ctx)
    return [i["key"] for i in ISSUES if predicate(i)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("sprint in openSprints()", ["ABC-1"]),
        ("sprint in closedSprints()", ["ABC-1", "ABC-3"]),
        ("sprint in futureSprints()", ["ABC-2"]),
        ("sprint not in closedSprints()", ["ABC-2"]),
        ("sprint = 2", ["ABC-1"]),
        ('sprint = "Sprint 3"', ["ABC-2"]),
        ("sprint is empty", ["XYZ-1"]),
        ("sprint in (openSprints(), futureSprints())", ["ABC-1", "ABC-2"]),
        ("fixVersion in releasedVersions()", ["ABC-1", "ABC-3", "XYZ-1"]),
        ("fixVersion in releasedVersions(XYZ)", ["XYZ-1"]),
        ("fixVersion in unreleasedVersions(ABC)", ["ABC-2"]),
        ("fixVersion = latestReleasedVersion(ABC)", ["ABC-1"]),
        ('fixVersion = latestReleasedVersion("Xylo")', ["XYZ-1"]),
        ("fixVersion = earliestUnreleasedVersion(ABC)", ["ABC-2"]),
        ("component in componentsLeadByUser()", ["ABC-3"]),
        ("component in componentsLeadByUser(acc-bob)", ["ABC-1"]),
        ("project in projectsLeadByUser()", ["ABC-1", "ABC-2", "ABC-3"]),
        ('project in projectsLeadByUser("bob@x.io")', ["XYZ-1"]),
        ("issue in issueHistory()", ["ABC-3", "XYZ-1"]),
        ("issue in linkedIssues(ABC-1)", ["ABC-2", "ABC-3"]),
        ('issue in linkedIssues(ABC-1, "blocks")', ["ABC-2"]),
        ('issue in linkedIssues(ABC-1, "relates to")', ["ABC-3"]),
        ('issue in linkedIssues(ABC-2, "is blocked by")', ["ABC-1"]),
        ('issue in linkedIssues(ABC-2, "blocks")', []),
        ("issue not in linkedIssues(ABC-1)", ["ABC-1", "XYZ-1"]),
        ("issuetype in standardIssueTypes()", ["ABC-1", "ABC-3", "XYZ-1"]),
        ("issuetype in subTaskIssueTypes()", ["ABC-2"]),
        ("issueLinkType = blocks", ["ABC-1", "ABC-2"]),
        ('issueLinkType = "relates to"', ["ABC-1", "ABC-3"]),
    ],
)
def test_functions(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_linked_issues_without_lookup_uses_the_candidates_links() -> None:
    blind = EvalContext(now=CTX.now)
    assert keys("issue in linkedIssues(ABC-1)", blind) == ["ABC-2", "ABC-3"]
    # ABC-2's link says ABC-1 blocks it; from ABC-1's side the description is "blocks"
    assert keys('issue in linkedIssues(ABC-1, "blocks")', blind) == ["ABC-2"]


def test_sprint_functions_fall_back_to_sprint_state_on_the_issue() -> None:
    # No sprints in the context: the sprint objects on the issues carry their state.
    blind = EvalContext(now=CTX.now)
    assert keys("sprint in openSprints()", blind) == ["ABC-1"]


def test_sprint_field_found_by_schema() -> None:
    ctx = EvalContext(
        now=CTX.now,
        fields=[
            {
                "id": "customfield_12345",
                "name": "Sprint",
                "custom": True,
                "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint", "type": "array"},
            }
        ],
    )
    moved = [issue("ABC-9", "9", customfield_12345=[SPRINTS[1]])]
    predicate = compile(parse("sprint in openSprints()"), ctx)
    assert [predicate(i) for i in moved] == [True]
    # the default id is not consulted when the schema names another field
    assert not predicate(ISSUES[0])


def test_server_sprint_strings() -> None:
    server = issue(
        "ABC-7",
        "7",
        customfield_10020=[
            "com.atlassian.greenhopper.service.sprint.Sprint@1f[id=2,rapidViewId=1,state=ACTIVE,"
            "name=Sprint 2,startDate=2024-01-01T00:00:00.000Z]"
        ],
    )
    assert compile(parse("sprint in openSprints()"), EvalContext(now=CTX.now))(server)
    assert compile(parse('sprint = "Sprint 2"'), CTX)(server)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("sprint in nope()", "Unable to find JQL function 'nope()'."),
        ("issue in linkedIssues()", "expected between '1' and '2' arguments"),
        ('assignee in membersOf("ghosts")', "group 'ghosts'"),
    ],
)
def test_function_errors(jql: str, message: str) -> None:
    with pytest.raises(JqlValidationError) as caught:
        compile(parse(jql), CTX)
    assert message in str(caught.value)
