"""Evaluator: WAS / WAS IN / WAS NOT / WAS NOT IN / CHANGED over the changelog."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jirakit.jql.ast import Clause, Field, Operator, Predicate, PredicateKind, Query, Value
from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlValidationError
from jirakit.jql.evaluator import compile
from jirakit.jql.parser import parse

ALICE = {"accountId": "acc-alice", "displayName": "Alice Smith", "emailAddress": "alice@x.io"}
BOB = {"accountId": "acc-bob", "displayName": "Bob Jones", "emailAddress": "bob@x.io"}
CAROL = {"accountId": "acc-carol", "displayName": "Carol King", "emailAddress": "carol@x.io"}

CTX = EvalContext(
    now=datetime(2024, 2, 1, tzinfo=UTC),
    current_user="acc-alice",
    users=[ALICE, BOB, CAROL],
    groups={"leads": frozenset({"acc-carol"})},
)


def item(field: str, field_id: str, old: Any, old_s: Any, new: Any, new_s: Any) -> dict[str, Any]:
    return {
        "field": field,
        "fieldId": field_id,
        "from": old,
        "fromString": old_s,
        "to": new,
        "toString": new_s,
    }


def history(created: str, author: dict[str, Any], *items: dict[str, Any]) -> dict[str, Any]:
    return {"id": created, "created": created, "author": author, "items": list(items)}


CHANGED_ISSUE = {
    "id": "1",
    "key": "H-1",
    "fields": {
        "created": "2024-01-01T10:00:00.000+0000",
        "creator": ALICE,
        "reporter": ALICE,
        "status": {"name": "Done", "id": "3"},
        "assignee": BOB,
        "resolution": {"name": "Fixed", "id": "1"},
        "fixVersions": [{"name": "2.0", "id": "20"}],
        "labels": ["a", "b"],
        "customfield_10020": [{"id": 1, "name": "S1", "state": "closed"},
                              {"id": 2, "name": "S2", "state": "active"}],
        "comment": {"comments": [{"author": CAROL, "created": "2024-01-20T08:00:00.000+0000",
                                  "body": "ok"}]},
    },
    "changelog": {
        "histories": [
            # deliberately out of order: the evaluator sorts by time
            history("2024-01-10T09:00:00.000+0000", CAROL,
                    item("status", "status", "3", "In Progress", "10", "Done"),
                    item("resolution", "resolution", None, None, "1", "Fixed"),
                    item("Fix Version", "fixVersions", None, None, "10", "1.0")),
            history("2024-01-05T12:00:00.000+0000", BOB,
                    item("status", "status", "1", "To Do", "3", "In Progress"),
                    item("assignee", "assignee", None, None, "acc-bob", "Bob Jones")),
            history("2024-01-12T09:00:00.000+0000", ALICE,
                    item("Fix Version", "fixVersions", None, None, "20", "2.0"),
                    item("Fix Version", "fixVersions", "10", "1.0", None, None),
                    item("Sprint", "customfield_10020", "1", "S1", "1, 2", "S1, S2"),
                    item("labels", "labels", None, "a", None, "a b")),
        ]
    },
}  # fmt: skip

UNCHANGED_ISSUE = {
    "id": "2",
    "key": "H-2",
    "fields": {
        "created": "2024-01-03T10:00:00.000+0000",
        "creator": ALICE,
        "status": {"name": "To Do", "id": "1"},
        "assignee": CAROL,
        "resolution": None,
        "fixVersions": [],
        "labels": [],
    },
}

ISSUES = [CHANGED_ISSUE, UNCHANGED_ISSUE]


def keys(jql: str, ctx: EvalContext = CTX) -> list[str]:
    predicate = compile(parse(jql), ctx)
    return [issue["key"] for issue in ISSUES if predicate(issue)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('status WAS "In Progress"', ["H-1"]),
        ("status WAS 3", ["H-1"]),
        # the initial value comes from the first change's "from"
        ('status WAS "To Do"', ["H-1", "H-2"]),
        ('status WAS "to do"', ["H-1", "H-2"]),
        ('status WAS "To Do" AFTER "2024-01-06"', ["H-2"]),
        # H-2 did not exist yet on 2024-01-02
        ('status WAS "To Do" BEFORE "2024-01-02"', ["H-1"]),
        ('status WAS "To Do" BEFORE "2024-01-04"', ["H-1", "H-2"]),
        ('status WAS Done BEFORE "2024-01-10"', []),
        ('status WAS "In Progress" ON "2024-01-07"', ["H-1"]),
        ('status WAS "In Progress" ON "2024-01-05"', ["H-1"]),
        ('status WAS "In Progress" ON "2024-01-11"', []),
        ('status WAS "In Progress" DURING ("2024-01-11", "2024-01-20")', []),
        ('status WAS "In Progress" DURING ("2024-01-09", "2024-01-20")', ["H-1"]),
        ('status WAS "In Progress" BY acc-bob', ["H-1"]),
        ('status WAS "In Progress" BY "Carol King"', []),
        ("status WAS Done BY membersOf(leads)", ["H-1"]),
        ('status WAS "To Do" BY currentUser()', ["H-1", "H-2"]),
        ('status WAS IN ("Done", "Blocked")', ["H-1"]),
        ('status WAS NOT "In Progress"', ["H-2"]),
        ('status WAS NOT IN ("Done", "In Progress")', ["H-2"]),
        ('NOT status WAS "In Progress"', ["H-2"]),
        ('status WAS NOT "To Do" AFTER "2024-01-06"', ["H-1"]),
        ("assignee WAS EMPTY", ["H-1"]),
        ('assignee WAS "Bob Jones"', ["H-1"]),
        ('assignee WAS "bob@x.io"', ["H-1"]),
        ("assignee WAS acc-carol", ["H-2"]),
        ("resolution WAS EMPTY", ["H-1", "H-2"]),
        ("resolution WAS Fixed", ["H-1"]),
        ('fixVersion WAS "1.0"', ["H-1"]),
        ('fixVersion WAS "1.0" AFTER "2024-01-13"', []),
        ('fixVersion WAS "2.0" BEFORE "2024-01-11"', []),
        ('fixVersion WAS EMPTY BEFORE "2024-01-09"', ["H-1", "H-2"]),
    ],
)
def test_was(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("status CHANGED", ["H-1"]),
        ('status CHANGED FROM "To Do" TO "In Progress"', ["H-1"]),
        ('status CHANGED FROM "In Progress" TO "To Do"', []),
        ("status CHANGED TO Done", ["H-1"]),
        ("status CHANGED BY acc-carol", ["H-1"]),
        ("status CHANGED BY currentUser()", []),
        ('status CHANGED AFTER "2024-01-06"', ["H-1"]),
        ('status CHANGED AFTER "2024-01-11"', []),
        ('status CHANGED BEFORE "2024-01-05"', []),
        ('status CHANGED ON "2024-01-10"', ["H-1"]),
        ('status CHANGED DURING ("2024-01-01", "2024-01-04")', []),
        ('status CHANGED FROM "In Progress" BY acc-carol AFTER "2024-01-09"', ["H-1"]),
        ('status CHANGED FROM "In Progress" BY acc-bob', []),
        ("assignee CHANGED FROM EMPTY", ["H-1"]),
        ("assignee CHANGED TO EMPTY", []),
        ("NOT status CHANGED", ["H-2"]),
        ("sprint CHANGED TO 2", ["H-1"]),
        ('sprint CHANGED TO "S2"', ["H-1"]),
        ("labels CHANGED", ["H-1"]),
        ('labels CHANGED TO "b"', ["H-1"]),
        ('fixVersion CHANGED TO "2.0"', ["H-1"]),
        ('fixVersion CHANGED FROM "1.0"', ["H-1"]),
        ('fixVersion CHANGED FROM "2.0"', []),
        ("priority CHANGED", []),
    ],
)
def test_changed(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("issue in updatedBy(acc-carol)", ["H-1"]),  # changelog and comment
        ('issue in updatedBy(acc-carol, "2024-01-21")', []),
        ('issue in updatedBy("Carol King", "2024-01-15", "2024-01-21")', ["H-1"]),
        ("issue in updatedBy(acc-alice)", ["H-1", "H-2"]),  # creating counts
        ("issue in updatedBy(acc-bob)", ["H-1"]),
    ],
)
def test_updated_by(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_change_days_are_read_in_the_users_zone() -> None:
    issue = {
        "id": "9",
        "key": "H-9",
        "fields": {"created": "2024-03-01T00:00:00.000+0000", "status": {"name": "B", "id": "2"}},
        "changelog": {
            "histories": [
                history(
                    "2024-03-10T04:30:00.000+0000",
                    BOB,
                    item("status", "status", "1", "A", "2", "B"),
                )
            ]
        },
    }
    ny = EvalContext(now=CTX.now, tz=ZoneInfo("America/New_York"))
    assert compile(parse('status CHANGED ON "2024-03-09"'), ny)(issue)
    assert not compile(parse('status CHANGED ON "2024-03-10"'), ny)(issue)
    assert compile(parse('status CHANGED ON "2024-03-10"'), CTX)(issue)
    assert compile(parse('status WAS A ON "2024-03-09"'), ny)(issue)
    assert not compile(parse('status WAS A ON "2024-03-10"'), ny)(issue)


def test_was_rejects_change_predicates() -> None:
    # The parser refuses this; a hand-built tree reaches the evaluator.
    query = Query(
        Clause(
            Field("status"),
            Operator.WAS,
            Value("Done"),
            (Predicate(PredicateKind.FROM, Value("To Do")),),
        )
    )
    with pytest.raises(JqlValidationError):
        compile(query, CTX)
