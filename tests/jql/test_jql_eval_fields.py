"""Evaluator: operators over system and custom fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jirakit.jql.ast import Clause, Field, Operator, Query, Value
from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlValidationError
from jirakit.jql.evaluator import compile, matches
from jirakit.jql.parser import parse

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)

ALICE = {"accountId": "acc-alice", "displayName": "Alice Smith", "emailAddress": "alice@x.io"}
BOB = {"accountId": "acc-bob", "displayName": "Bob Jones", "emailAddress": "bob@x.io"}
CAROL = {"accountId": "acc-carol", "displayName": "Carol King", "emailAddress": "carol@x.io"}

FIELDS = [
    {"id": "customfield_10020", "name": "Sprint", "custom": True,
     "schema": {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020}},
    {"id": "customfield_10016", "name": "Story Points", "custom": True, "clauseNames": ["cf[10016]", "Story Points"],
     "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10016}},
    {"id": "customfield_10030", "name": "Team", "custom": True,
     "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"}},
    {"id": "customfield_10031", "name": "Platforms", "custom": True,
     "schema": {"type": "array", "items": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multiselect"}},
    {"id": "customfield_10032", "name": "Reviewer", "custom": True,
     "schema": {"type": "user", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:userpicker"}},
    {"id": "customfield_10033", "name": "Approvers", "custom": True,
     "schema": {"type": "array", "items": "user", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multiuserpicker"}},
    {"id": "customfield_10034", "name": "Go Live", "custom": True,
     "schema": {"type": "date", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"}},
    {"id": "customfield_10035", "name": "Deployed At", "custom": True,
     "schema": {"type": "datetime", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datetime"}},
    {"id": "customfield_10036", "name": "Notes", "custom": True,
     "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea"}},
    {"id": "customfield_10037", "name": "Tags", "custom": True,
     "schema": {"type": "array", "items": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:labels"}},
    {"id": "customfield_10038", "name": "Region", "custom": True,
     "schema": {"type": "option-with-child", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:cascadingselect"}},
]  # fmt: skip

CTX = EvalContext(
    now=NOW,
    current_user="acc-alice",
    users=[ALICE, BOB, CAROL],
    fields=FIELDS,
    groups={"developers": frozenset({"acc-bob", "acc-carol"})},
    projects=[
        {"id": "10000", "key": "ABC", "name": "Alpha Beta", "lead": ALICE},
        {"id": "10001", "key": "XYZ", "name": "Xylophone", "lead": BOB},
    ],
)


def make_issue(key: str, issue_id: str, **fields: Any) -> dict[str, Any]:
    project_key = key.split("-")[0]
    base: dict[str, Any] = {
        "project": {"key": project_key, "id": "10000" if project_key == "ABC" else "10001",
                    "name": "Alpha Beta" if project_key == "ABC" else "Xylophone"},
        "status": {"name": "To Do", "id": "1",
                   "statusCategory": {"key": "new", "name": "To Do", "id": 2}},
        "issuetype": {"name": "Task", "id": "10002", "subtask": False},
        "priority": {"name": "Medium", "id": "3"},
        "resolution": None,
        "assignee": None,
        "reporter": ALICE,
        "creator": ALICE,
        "labels": [],
        "components": [],
        "fixVersions": [],
        "versions": [],
        "created": "2024-01-10T09:30:00.000+0000",
        "updated": "2024-01-11T09:30:00.000+0000",
        "summary": "An issue",
    }  # fmt: skip
    base.update(fields)
    return {"id": issue_id, "key": key, "fields": base}


DONE = {"name": "Done", "id": "3", "statusCategory": {"key": "done", "name": "Done", "id": 3}}
PROGRESS = {
    "name": "In Progress",
    "id": "4",
    "statusCategory": {"key": "indeterminate", "name": "In Progress", "id": 4},
}

ISSUES = [
    make_issue("ABC-1", "1001", assignee=ALICE, labels=["backend", "urgent"]),
    make_issue("ABC-2", "1002", assignee=BOB, status=DONE, resolution={"name": "Fixed", "id": "1"},
               priority={"name": "High", "id": "2"},
               components=[{"name": "API", "id": "500"}],
               fixVersions=[{"name": "1.10", "id": "700", "released": False}],
               customfield_10016=5.0, customfield_10030={"value": "Red", "id": "900"},
               customfield_10031=[{"value": "iOS", "id": "901"}, {"value": "Android", "id": "902"}],
               customfield_10032=CAROL, customfield_10033=[BOB, CAROL],
               customfield_10037=["alpha"], customfield_10038={"value": "EU", "id": "1", "child": {"value": "DE", "id": "2"}},
               timespent=7200, timeoriginalestimate=28800),
    make_issue("ABC-10", "1003", assignee=CAROL, status=PROGRESS, labels=["frontend"],
               fixVersions=[{"name": "1.9", "id": "701", "released": True}],
               priority={"name": "Lowest", "id": "5"}, customfield_10016=13,
               parent={"key": "ABC-1", "id": "1001"}, timespent=1800),
    make_issue("XYZ-1", "2001", issuetype={"name": "Bug", "id": "10004", "subtask": False},
               customfield_10030={"value": "Blue", "id": "903"}),
]  # fmt: skip


def keys(jql: str, ctx: EvalContext = CTX, issues: list[dict[str, Any]] = ISSUES) -> list[str]:
    predicate = compile(parse(jql), ctx)
    return [issue["key"] for issue in issues if predicate(issue)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = ABC", ["ABC-1", "ABC-2", "ABC-10"]),
        ("project = abc", ["ABC-1", "ABC-2", "ABC-10"]),
        ("project = 10001", ["XYZ-1"]),
        ('project = "Xylophone"', ["XYZ-1"]),
        ("project in (XYZ, NOPE)", ["XYZ-1"]),
        ("project != ABC", ["XYZ-1"]),
        ("project not in (ABC)", ["XYZ-1"]),
        ("status = Done", ["ABC-2"]),
        ('status = "in progress"', ["ABC-10"]),
        ("status = 3", ["ABC-2"]),
        ("status in (Done, 4)", ["ABC-2", "ABC-10"]),
        ("statusCategory = done", ["ABC-2"]),
        ('statusCategory = "To Do"', ["ABC-1", "XYZ-1"]),
        ("statusCategory != Done", ["ABC-1", "ABC-10", "XYZ-1"]),
        ("issuetype = Bug", ["XYZ-1"]),
        ("type = bug", ["XYZ-1"]),
        ("resolution = Unresolved", ["ABC-1", "ABC-10", "XYZ-1"]),
        ("resolution is EMPTY", ["ABC-1", "ABC-10", "XYZ-1"]),
        ("resolution = Fixed", ["ABC-2"]),
        ("resolution != Unresolved", ["ABC-2"]),
        ("resolution in (Unresolved, Fixed)", ["ABC-1", "ABC-2", "ABC-10", "XYZ-1"]),
    ],
)
def test_named_fields(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("assignee = acc-bob", ["ABC-2"]),
        ('assignee = "bob@x.io"', ["ABC-2"]),
        ('assignee = "Bob Jones"', ["ABC-2"]),
        ('assignee = "bob jones"', ["ABC-2"]),
        ("assignee = currentUser()", ["ABC-1"]),
        # != never matches EMPTY: the unassigned XYZ-1 is excluded
        ("assignee != acc-bob", ["ABC-1", "ABC-10"]),
        ("assignee not in (acc-bob, acc-carol)", ["ABC-1"]),
        ("NOT assignee = acc-bob", ["ABC-1", "ABC-10"]),
        ("assignee is EMPTY", ["XYZ-1"]),
        ("assignee = EMPTY", ["XYZ-1"]),
        ("assignee is not empty", ["ABC-1", "ABC-2", "ABC-10"]),
        ("assignee in (EMPTY, acc-alice)", ["ABC-1", "XYZ-1"]),
        ('assignee in membersOf("Developers")', ["ABC-2", "ABC-10"]),
        ("assignee in (acc-alice, (acc-bob, (acc-carol)))", ["ABC-1", "ABC-2", "ABC-10"]),
        ("assignee in (currentUser(), acc-bob)", ["ABC-1", "ABC-2"]),
        ("reporter = currentUser()", ["ABC-1", "ABC-2", "ABC-10", "XYZ-1"]),
        ("creator != currentUser()", []),
    ],
)
def test_user_fields(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_current_user_without_a_user_matches_nothing() -> None:
    anonymous = EvalContext(now=NOW, users=[ALICE])
    assert keys("assignee = currentUser()", anonymous) == []


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("labels = urgent", ["ABC-1"]),
        ("labels = URGENT", ["ABC-1"]),
        ("labels in (frontend, backend)", ["ABC-1", "ABC-10"]),
        # multi-valued != : has labels, none of them "urgent"
        ("labels != urgent", ["ABC-10"]),
        ("labels not in (urgent, frontend)", []),
        ("labels is empty", ["ABC-2", "XYZ-1"]),
        ("component = API", ["ABC-2"]),
        ("component = 500", ["ABC-2"]),
        ("component is empty", ["ABC-1", "ABC-10", "XYZ-1"]),
        ('fixVersion = "1.10"', ["ABC-2"]),
        ('fixVersion > "1.9"', ["ABC-2"]),
        ('fixVersion <= "1.9"', ["ABC-10"]),
        ("fixVersion in releasedVersions()", ["ABC-10"]),
        ("fixVersion in unreleasedVersions()", ["ABC-2"]),
        ("affectedVersion is empty", ["ABC-1", "ABC-2", "ABC-10", "XYZ-1"]),
        ("parent = ABC-1", ["ABC-10"]),
        ("parent = 1001", ["ABC-10"]),
        ("parent is empty", ["ABC-1", "ABC-2", "XYZ-1"]),
    ],
)
def test_multi_valued_and_reference_fields(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("key = ABC-2", ["ABC-2"]),
        ("issuekey = abc-2", ["ABC-2"]),
        ("issue in (ABC-1, XYZ-1)", ["ABC-1", "XYZ-1"]),
        ("id = 1003", ["ABC-10"]),
        ("key != ABC-1", ["ABC-2", "ABC-10", "XYZ-1"]),
        # numeric comparison within the project: ABC-10 > ABC-2
        ("key > ABC-2", ["ABC-10"]),
        ("key >= ABC-2", ["ABC-2", "ABC-10"]),
        ("key < ABC-10", ["ABC-1", "ABC-2"]),
        ("id > 1002", ["ABC-10", "XYZ-1"]),
    ],
)
def test_issue_keys(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("priority = High", ["ABC-2"]),
        ("priority > Medium", ["ABC-2"]),
        ("priority >= Medium", ["ABC-1", "ABC-2", "XYZ-1"]),
        ("priority < Medium", ["ABC-10"]),
        ("priority in (Lowest, High)", ["ABC-2", "ABC-10"]),
    ],
)
def test_priority_order(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_priority_order_from_context() -> None:
    # A site whose priorities are ordered differently from their ids.
    ctx = EvalContext(
        now=NOW,
        priorities=[{"name": "Lowest", "id": "5"}, {"name": "High", "id": "2"}],
    )
    assert keys("priority > High", ctx, ISSUES[1:3]) == ["ABC-10"]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('"Story Points" = 5', ["ABC-2"]),
        ("cf[10016] > 5", ["ABC-10"]),
        ('"story points" >= 5', ["ABC-2", "ABC-10"]),
        ("cf[10016] in (5, 13)", ["ABC-2", "ABC-10"]),
        ('"Story Points" is empty', ["ABC-1", "XYZ-1"]),
        ('"Story Points" != 5', ["ABC-10"]),
        ("Team = red", ["ABC-2"]),
        ("Team = 903", ["XYZ-1"]),
        ("Team in (Red, Blue)", ["ABC-2", "XYZ-1"]),
        ("Team != Red", ["XYZ-1"]),
        ("Platforms = Android", ["ABC-2"]),
        ("Platforms in (Windows)", []),
        ("Reviewer = acc-carol", ["ABC-2"]),
        ('Approvers = "bob@x.io"', ["ABC-2"]),
        ("Approvers in membersOf(developers)", ["ABC-2"]),
        ("Tags = alpha", ["ABC-2"]),
        ("Region = EU", ["ABC-2"]),
        ('Region in cascadeOption("EU", "DE")', ["ABC-2"]),
        ('Region in cascadeOption("EU", "FR")', []),
        ('Region in cascadeOption("EU", none)', []),
    ],
)
def test_custom_fields(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_custom_date_and_datetime_fields() -> None:
    issues = [
        make_issue("ABC-1", "1", customfield_10034="2024-03-01",
                   customfield_10035="2024-03-01T23:30:00.000+0000"),
        make_issue("ABC-2", "2", customfield_10034="2024-03-02",
                   customfield_10035="2024-03-02T00:30:00.000+0000"),
    ]  # fmt: skip
    assert keys('"Go Live" = "2024-03-01"', CTX, issues) == ["ABC-1"]
    assert keys('"Go Live" > "2024-03-01"', CTX, issues) == ["ABC-2"]
    assert keys('"Deployed At" >= "2024-03-02"', CTX, issues) == ["ABC-2"]
    assert keys('"Deployed At" < "2024/03/01 23:31"', CTX, issues) == ["ABC-1"]


def test_time_tracking_fields_use_time_tracking_units() -> None:
    # ABC-2: 2h spent, 1d (8h) estimate; ABC-10: 30m spent
    assert keys("timespent = 2h") == ["ABC-2"]
    assert keys("timespent > 60") == ["ABC-2"]  # bare number = minutes
    assert keys("timespent < 1h") == ["ABC-10"]
    assert keys("originalEstimate = 1d") == ["ABC-2"]
    assert keys('originalEstimate = "8h"') == ["ABC-2"]
    assert keys("timespent is empty") == ["ABC-1", "XYZ-1"]


def test_boolean_structure() -> None:
    assert keys("project = ABC AND (status = Done OR labels = urgent)") == ["ABC-1", "ABC-2"]
    assert keys("NOT (project = ABC AND status = Done)") == ["ABC-1", "ABC-10", "XYZ-1"]
    assert keys("NOT (status = Done OR assignee is empty)") == ["ABC-1", "ABC-10"]
    assert keys("") == ["ABC-1", "ABC-2", "ABC-10", "XYZ-1"]
    assert keys("NOT NOT status = Done") == ["ABC-2"]


def test_not_over_a_comparison_excludes_empty_like_jira() -> None:
    # NOT cf > 5 is inverted to cf <= 5: issues without story points are not matched.
    assert keys('NOT "Story Points" > 5') == ["ABC-2"]


def test_watchers_and_voters_from_context() -> None:
    ctx = EvalContext(
        now=NOW,
        current_user="acc-bob",
        users=[ALICE, BOB],
        watchers={"1001": frozenset({"acc-bob"}), "1002": frozenset({"acc-alice"})},
        voters={"1003": frozenset({"acc-bob"})},
    )
    assert keys("watcher = currentUser()", ctx) == ["ABC-1"]
    assert keys('watcher = "Alice Smith"', ctx) == ["ABC-2"]
    assert keys("voter = acc-bob", ctx) == ["ABC-10"]
    assert keys("issue in watchedIssues()", ctx) == ["ABC-1"]
    assert keys("issue in votedIssues()", ctx) == ["ABC-10"]
    assert keys("watcher is empty", ctx) == ["ABC-10", "XYZ-1"]


def test_watch_and_vote_counts() -> None:
    issues = [
        make_issue("ABC-1", "1", watches={"watchCount": 3, "isWatching": True}, votes={"votes": 0}),
        make_issue(
            "ABC-2", "2", watches={"watchCount": 1, "isWatching": False}, votes={"votes": 2}
        ),
    ]
    assert keys("watchers > 2", CTX, issues) == ["ABC-1"]
    assert keys("votes >= 1", CTX, issues) == ["ABC-2"]
    # without a watcher table, watchedIssues() reads the issue's own isWatching flag
    assert keys("issue in watchedIssues()", CTX, issues) == ["ABC-1"]


def test_ast_built_by_hand_matches_parsed() -> None:
    query = Query(Clause(Field("status"), Operator.EQUALS, Value("Done")))
    assert query.matches(ISSUES[1], CTX)
    assert not matches(query, ISSUES[0], CTX)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("assignee in foo()", "Unable to find JQL function 'foo()'."),
        ('status = bar("x")', "Unable to find JQL function 'bar(x)'."),
        ("nosuchfield = 1", "Field 'nosuchfield' does not exist or you do not have permission to view it."),
        ("summary = x", "The operator '=' is not supported by the 'summary' field."),
        ('assignee in membersOf("nobody")', "the group does not exist"),
    ],
)  # fmt: skip
def test_errors_use_jira_wording(jql: str, message: str) -> None:
    with pytest.raises(JqlValidationError) as caught:
        compile(parse(jql), CTX)
    assert message in str(caught.value)


def test_status_category_from_context_when_the_issue_lacks_it() -> None:
    ctx = EvalContext(
        now=NOW,
        statuses=[
            {"id": "3", "name": "Done", "statusCategory": {"key": "done", "name": "Done", "id": 3}},
            {
                "id": "1",
                "name": "To Do",
                "statusCategory": {"key": "new", "name": "To Do", "id": 2},
            },
        ],
    )
    bare = [
        make_issue("ABC-1", "1", status={"name": "Done", "id": "3"}),
        make_issue("ABC-2", "2", status={"name": "to do", "id": "99"}),  # matched by name
        make_issue("ABC-3", "3", status={"name": "Unknown", "id": "77"}),
    ]
    assert keys("statusCategory = Done", ctx, bare) == ["ABC-1"]
    assert keys('statusCategory = "To Do"', ctx, bare) == ["ABC-2"]
    assert keys("statusCategory != Done", ctx, bare) == ["ABC-2"]
    assert keys("statusCategory is EMPTY", ctx, bare) == ["ABC-3"]
