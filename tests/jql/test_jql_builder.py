"""The safe builder `J`: AST nodes whose str() is correctly quoted JQL."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jirakit.jql import (
    And,
    Clause,
    Direction,
    Empty,
    Field,
    Function,
    History,
    J,
    Not,
    Operator,
    Or,
    OrderBy,
    Predicate,
    PredicateKind,
    Query,
    Value,
    ValueList,
    parse,
)


@pytest.mark.parametrize(
    ("built", "jql"),
    [
        (J.project == "ABC", "project = ABC"),
        (J.project != "ABC", "project != ABC"),
        (J.field("Story Points") > 3, '"Story Points" > 3'),
        (J.field("Story Points") >= 2.5, '"Story Points" >= 2.5'),
        (J.created < dt.date(2024, 1, 31), "created < 2024-01-31"),
        (J.created <= dt.datetime(2024, 1, 31, 9, 30), 'created <= "2024-01-31 09:30"'),
        (J.summary.contains("login error"), 'summary ~ "login error"'),
        (J.summary.not_contains("x"), "summary !~ x"),
        (J.status.in_("To Do", "Done"), 'status IN ("To Do", Done)'),
        (J.status.not_in("Done"), "status NOT IN (Done)"),
        (J.assignee.in_(J.fn("membersOf", "jira users")), 'assignee IN membersOf("jira users")'),
        (J.assignee.is_empty(), "assignee IS EMPTY"),
        (J.assignee.is_not_empty(), "assignee IS NOT EMPTY"),
        (J.assignee == None, "assignee = EMPTY"),  # noqa: E711
        (J.assignee == J.EMPTY, "assignee = EMPTY"),
        (J.updated > J.fn("startOfDay", "-1"), "updated > startOfDay(-1)"),
        (J.assignee == J.fn("currentUser"), "assignee = currentUser()"),
        (J.status.was("Done").before("2024-01-01"), "status WAS Done BEFORE 2024-01-01"),
        (
            J.status.changed().from_("To Do").to("Done"),
            'status CHANGED FROM "To Do" TO Done',
        ),
        (
            J.status.was_in("Open", "Done").during("2024-01-01", "2024-02-01").by("jane", "joe"),
            "status WAS IN (Open, Done) DURING (2024-01-01, 2024-02-01) BY (jane, joe)",
        ),
        (
            J.status.was_not("Done").after(J.fn("startOfWeek")),
            "status WAS NOT Done AFTER startOfWeek()",
        ),
        (J.status.was_not_in("Done").on("2024-01-01"), "status WAS NOT IN (Done) ON 2024-01-01"),
        (J.cf(10042) == "x", "cf[10042] = x"),
        (J.prop("issue.property", "the key", "a", "b") == 1, 'issue.property["the key"].a.b = 1'),
        (J.project == "select", 'project = "select"'),
        (J.project == "", 'project = ""'),
        (J.field("order") == "x", '"order" = x'),
        (J.project.eq("ABC"), "project = ABC"),
    ],
)
def test_builds(built: object, jql: str) -> None:
    assert str(built) == jql
    node = built.clause if isinstance(built, History) else built
    assert parse(jql).where == node


def test_combinators() -> None:
    a, b, c = J.a == 1, J.b == 2, J.c == 3
    assert (a & b & c) == And((a, b, c))
    assert (a | b | c) == Or((a, b, c))
    assert ~a == Not(a)
    assert str(a & (b | c)) == "a = 1 AND (b = 2 OR c = 3)"
    assert str((a & b) | c) == "a = 1 AND b = 2 OR c = 3"
    assert str(~(a | b)) == "NOT (a = 1 OR b = 2)"
    assert J.all_of(a) == a
    assert J.any_of(a, b) == Or((a, b))
    assert J.not_(a) == Not(a)
    history = J.status.was("Done")
    assert (a & history) == And((a, history.clause))
    assert (history | a) == Or((history.clause, a))
    assert ~history == Not(history.clause)
    assert history == history.clause


def test_order_by() -> None:
    query = ((J.project == "ABC") & J.summary.contains("x")).order_by(J.updated.desc(), J.key)
    assert isinstance(query, Query)
    assert str(query) == "project = ABC AND summary ~ x ORDER BY updated DESC, key"
    assert J.order_by(J.rank.asc(), "created") == Query(
        None, (OrderBy(Field("rank"), Direction.ASC), OrderBy(Field("created")))
    )
    assert J.status.was("Done").order_by("key").where == Clause(
        Field("status"), Operator.WAS, Value("Done")
    )


def test_builder_rejects_what_jql_cannot_say() -> None:
    with pytest.raises(ValueError, match="empty"):
        J.field("")
    with pytest.raises(TypeError):
        J.project == True  # noqa: E712, B015
    with pytest.raises(TypeError):
        J.project == object()  # noqa: B015
    with pytest.raises(ValueError, match="at least one"):
        J.status.in_()
    with pytest.raises(ValueError, match="CHANGED"):
        J.status.was("Done").from_("x")
    with pytest.raises(ValueError):
        J.cf(-1)
    with pytest.raises(TypeError):
        J.cf(True)
    with pytest.raises(ValueError):
        J.fn("")
    with pytest.raises(ValueError):
        J.prop("issue.property", "k", "a.b")
    with pytest.raises(AttributeError):
        J.__wrapped__  # noqa: B018


def test_builder_returns_plain_ast_nodes() -> None:
    built = J.status.in_("a", J.fn("f", 1), ["b", None])
    assert built == Clause(
        Field("status"),
        Operator.IN,
        ValueList((Value("a"), Function("f", ("1",)), ValueList((Value("b"), Empty())))),
    )
    assert J.status.changed().by("x").clause.predicates == (
        Predicate(PredicateKind.BY, Value("x")),
    )


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_string_is_one_contains_clause(text: str) -> None:
    where = parse(str(J.summary.contains(text))).where
    assert isinstance(where, Clause)
    assert where.operator is Operator.LIKE
    assert isinstance(where.operand, Value)
    assert where.operand.text == text


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1), st.text())
def test_any_field_name_and_value_is_one_equals_clause(name: str, text: str) -> None:
    built = J.field(name) == text
    where = parse(str(built)).where
    assert where == built
    assert isinstance(where, Clause)
    assert where.field.name == name
    assert where.operand == Value(text, quoted=where.operand.quoted)  # type: ignore[union-attr]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=4), st.text())
def test_any_strings_make_a_safe_list_and_history(items: list[str], user: str) -> None:
    built = J.status.was_in(*items).by(user)
    assert parse(str(built)).where == built.clause
