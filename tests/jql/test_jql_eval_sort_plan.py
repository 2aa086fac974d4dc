"""ORDER BY keys (null ordering, mixed field types) and the query planner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jirakit.jql.ast import Clause, Field, Operator, Query, Value
from jirakit.jql.context import EvalContext
from jirakit.jql.evaluator import sort_key
from jirakit.jql.parser import parse
from jirakit.jql.planner import Bound, Constraints, constraints

CTX = EvalContext(now=datetime(2024, 6, 1, 12, 0, tzinfo=UTC))


def issue(key: str, issue_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": issue_id, "key": key, "fields": fields}


def order(jql: str, issues: list[dict[str, Any]], ctx: EvalContext = CTX) -> list[str]:
    return [i["key"] for i in sorted(issues, key=sort_key(parse(jql), ctx))]


ISSUES = [
    issue("ABC-2", "12", priority={"name": "Low", "id": "4"}, duedate="2024-03-01",
          status={"name": "in progress"}, assignee={"accountId": "z", "displayName": "Zed"},
          customfield_10016=3, created="2024-01-02T10:00:00.000+0000"),
    issue("ABC-10", "15", priority={"name": "Highest", "id": "1"}, duedate=None,
          status={"name": "Done"}, assignee=None, customfield_10016=13,
          created="2024-01-02T10:00:30.000+0000"),
    issue("ABC-1", "10", priority=None, duedate="2024-02-01",
          status={"name": "To Do"}, assignee={"accountId": "a", "displayName": "amy"},
          customfield_10016=None, created="2023-12-31T23:00:00.000+0000"),
    issue("XYZ-3", "11", priority={"name": "High", "id": "2"}, duedate="2024-02-01",
          status={"name": "backlog"}, assignee={"accountId": "b", "displayName": "Bob"},
          customfield_10016=3.5, created="2024-05-01T00:00:00.000+0000"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # keys: by project, then number (ABC-2 < ABC-10)
        ("ORDER BY key", ["ABC-1", "ABC-2", "ABC-10", "XYZ-3"]),
        ("ORDER BY key DESC", ["XYZ-3", "ABC-10", "ABC-2", "ABC-1"]),
        # EMPTY last for ASC, first for DESC; ties (ABC-1/XYZ-3, same date) by id ascending
        ("ORDER BY duedate ASC", ["ABC-1", "XYZ-3", "ABC-2", "ABC-10"]),
        ("ORDER BY duedate DESC", ["ABC-10", "ABC-2", "ABC-1", "XYZ-3"]),
        ("ORDER BY duedate DESC, key DESC", ["ABC-10", "ABC-2", "XYZ-3", "ABC-1"]),
        ("ORDER BY duedate ASC, key DESC", ["XYZ-3", "ABC-1", "ABC-2", "ABC-10"]),
        # priority by rank: Highest is the largest
        ("ORDER BY priority DESC", ["ABC-1", "ABC-10", "XYZ-3", "ABC-2"]),
        ("ORDER BY priority ASC", ["ABC-2", "XYZ-3", "ABC-10", "ABC-1"]),
        # status by name, case-insensitively
        ("ORDER BY status", ["XYZ-3", "ABC-10", "ABC-2", "ABC-1"]),
        # users by display name
        ("ORDER BY assignee", ["ABC-1", "XYZ-3", "ABC-2", "ABC-10"]),
        ("ORDER BY assignee DESC", ["ABC-10", "ABC-2", "XYZ-3", "ABC-1"]),
        # numbers numerically (3 < 3.5 < 13), EMPTY last
        ("ORDER BY cf[10016]", ["ABC-2", "XYZ-3", "ABC-10", "ABC-1"]),
        # datetimes at full precision (10:00:00 < 10:00:30)
        ("ORDER BY created", ["ABC-1", "ABC-2", "ABC-10", "XYZ-3"]),
        ("ORDER BY created DESC", ["XYZ-3", "ABC-10", "ABC-2", "ABC-1"]),
        # no ORDER BY: newest (highest id) first
        ("project = ABC OR project != ABC", ["ABC-10", "ABC-2", "XYZ-3", "ABC-1"]),
    ],
)
def test_order_by(jql: str, expected: list[str]) -> None:
    assert order(jql, ISSUES) == expected


def test_sort_by_version_and_labels() -> None:
    issues = [
        issue("A-1", "1", fixVersions=[{"name": "1.10"}], labels=["b"]),
        issue("A-2", "2", fixVersions=[{"name": "1.9"}, {"name": "2.0"}], labels=["a", "z"]),
        issue("A-3", "3", fixVersions=[], labels=[]),
    ]
    assert order("ORDER BY fixVersion", issues) == ["A-2", "A-1", "A-3"]
    assert order("ORDER BY labels", issues) == ["A-2", "A-1", "A-3"]


def test_sort_key_on_query_method() -> None:
    query = parse("ORDER BY key")
    assert sorted(ISSUES, key=query.sort_key(CTX))[0]["key"] == "ABC-1"


# --- planner -------------------------------------------------------------------------------


def test_no_where_means_no_restriction() -> None:
    assert constraints(Query()) == Constraints()
    assert Constraints().unrestricted
    assert constraints(parse("ORDER BY created")).unrestricted


def test_projects_and_keys_from_top_level_and() -> None:
    plan = constraints(
        parse('project in (ABC, "Xylo") AND key in (ABC-1, ABC-2) AND status = Done')
    )
    assert plan.projects == frozenset({"abc", "xylo"})
    assert plan.issues == frozenset({"abc-1", "abc-2"})
    assert plan.allows_project({"key": "ABC", "id": "1", "name": "Alpha"})
    assert plan.allows_project({"key": "XY", "id": "2", "name": "Xylo"})
    assert not plan.allows_project({"key": "NOPE", "id": "3"})
    assert plan.allows_issue("ABC-2")
    assert not plan.allows_issue("ABC-3")


def test_several_project_clauses_intersect() -> None:
    plan = constraints(parse("project in (A, B) AND (project = B AND issuekey = B-1)"))
    assert plan.projects == frozenset({"b"})
    assert plan.issues == frozenset({"b-1"})


@pytest.mark.parametrize(
    "jql",
    [
        "project = A OR status = Done",
        "NOT project = A",
        "project != A",
        "project not in (A)",
        "project in projectsLeadByUser()",
        "project is EMPTY",
        "status = Done AND (project = A OR project = B)",
    ],
)
def test_no_project_restriction_when_not_implied(jql: str) -> None:
    assert constraints(parse(jql)).projects is None


def test_date_bounds_are_kept_raw_and_resolved_later() -> None:
    plan = constraints(
        parse(
            'project = A AND updated >= "2024-05-01" AND updated < startOfDay() AND created > -7d'
        )
    )
    assert plan.updated == (
        Bound("lower", Value("2024-05-01", quoted=True), inclusive=True),
        Bound("upper", parse("updated < startOfDay()").where.operand, inclusive=False),  # type: ignore[union-attr]
    )
    assert len(plan.created) == 1
    ctx = EvalContext(now=datetime(2024, 6, 1, 15, 0, tzinfo=UTC), tz=ZoneInfo("America/New_York"))
    start, end = plan.time_range("updated", ctx)
    assert start == datetime(2024, 5, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    assert end == datetime(2024, 6, 1, 4, 0, tzinfo=UTC)
    created_start, created_end = plan.time_range("created", ctx)
    # > is exclusive at minute granularity: from the next minute on
    assert created_start == datetime(2024, 5, 25, 15, 1, tzinfo=UTC)
    assert created_end is None


def test_date_equality_and_inclusive_upper_bound() -> None:
    ctx = EvalContext(now=CTX.now)
    plan = constraints(parse('updated = "2024-01-01 10:00" AND createdDate <= "2024-01-02"'))
    assert plan.time_range("updated", ctx) == (
        datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 10, 1, tzinfo=UTC),
    )
    assert plan.time_range("created", ctx) == (None, datetime(2024, 1, 2, 0, 1, tzinfo=UTC))


def test_query_method_delegates() -> None:
    query = Query(Clause(Field("project"), Operator.EQUALS, Value("ABC")))
    assert query.constraints().projects == frozenset({"abc"})


def test_constraints_are_a_superset_filter() -> None:
    # Every issue the evaluator accepts must pass the planner's filter.
    from jirakit.jql.evaluator import compile

    jql = 'project in (ABC, XYZ) AND key != ABC-1 AND created >= "2024-01-02"'
    plan = constraints(parse(jql))
    predicate = compile(parse(jql), CTX)
    start, end = plan.time_range("created", CTX)
    for candidate in ISSUES:
        candidate = {
            **candidate,
            "fields": {**candidate["fields"], "project": {"key": candidate["key"].split("-")[0]}},
        }
        if predicate(candidate):
            assert plan.allows_project(candidate["fields"]["project"])
            created = datetime.fromisoformat(candidate["fields"]["created"])
            assert start is not None and created >= start
            assert end is None
