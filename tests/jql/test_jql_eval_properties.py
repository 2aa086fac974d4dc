"""Property tests: planner soundness, =/!= partitioning, null ordering; and the docs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jirakit.jql.context import EvalContext
from jirakit.jql.evaluator import compile, sort_key
from jirakit.jql.parser import parse
from jirakit.jql.planner import constraints

CTX = EvalContext(now=datetime(2024, 6, 1, tzinfo=UTC))
BASE = datetime(2024, 1, 1, tzinfo=UTC)
USERS = [None, {"accountId": "a", "displayName": "Ann"}, {"accountId": "b", "displayName": "Ben"}]


@st.composite
def issues(draw: st.DrawFn) -> dict[str, Any]:
    number = draw(st.integers(1, 30))
    project = draw(st.sampled_from(["ABC", "XYZ"]))
    created = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
    updated = created + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
    return {
        "id": str(draw(st.integers(1, 10_000))),
        "key": f"{project}-{number}",
        "fields": {
            "project": {"key": project, "id": "1" if project == "ABC" else "2"},
            "status": {"name": draw(st.sampled_from(["To Do", "Done"])), "id": "9"},
            "assignee": draw(st.sampled_from(USERS)),
            "labels": draw(st.lists(st.sampled_from(["x", "y", "z"]), unique=True, max_size=2)),
            "duedate": draw(st.sampled_from([None, "2024-01-05", "2024-01-20"])),
            "created": created.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "updated": updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        },
    }


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).strftime('"%Y-%m-%d"')


CLAUSES = st.one_of(
    st.sampled_from(["ABC", "XYZ"]).map(lambda p: f"project = {p}"),
    st.just("project in (ABC, XYZ)"),
    st.sampled_from(["To Do", "Done"]).map(lambda s: f'status = "{s}"'),
    st.sampled_from(["a", "b"]).map(lambda u: f"assignee = {u}"),
    st.sampled_from(["a", "b"]).map(lambda u: f"assignee != {u}"),
    st.just("assignee is EMPTY"),
    st.sampled_from(["x", "y"]).map(lambda label: f"labels = {label}"),
    st.integers(1, 30).map(lambda n: f"key = ABC-{n}"),
    st.integers(1, 30).map(lambda n: f"key in (ABC-{n}, XYZ-{n})"),
    st.tuples(st.sampled_from(["created", "updated"]), st.sampled_from([">", ">=", "<", "<=", "="]),
              st.integers(0, 40)).map(lambda t: f"{t[0]} {t[1]} {day(t[2])}"),
)  # fmt: skip


def queries() -> st.SearchStrategy[str]:
    return st.recursive(
        CLAUSES,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) AND ({pair[1]})"),
            st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) OR ({pair[1]})"),
            inner.map(lambda q: f"NOT ({q})"),
        ),
        max_leaves=4,
    )


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(jql=queries(), batch=st.lists(issues(), min_size=1, max_size=8))
def test_planner_is_a_superset_filter(jql: str, batch: list[dict[str, Any]]) -> None:
    query = parse(jql)
    plan = constraints(query)
    predicate = compile(query, CTX)
    created = plan.time_range("created", CTX)
    updated = plan.time_range("updated", CTX)
    for issue in batch:
        if not predicate(issue):
            continue
        fields = issue["fields"]
        assert plan.allows_project(fields["project"])
        assert plan.allows_issue(issue["key"]) or plan.allows_issue(issue["id"])
        for (start, end), name in ((created, "created"), (updated, "updated")):
            moment = datetime.fromisoformat(fields[name])
            assert start is None or moment >= start
            assert end is None or moment < end


@FAST
@given(
    issue=issues(),
    clause=st.sampled_from(
        [("assignee", "a"), ("labels", "x"), ("status", '"Done"'), ("duedate", '"2024-01-05"'),
         ("project", "ABC")]
    ),
)  # fmt: skip
def test_equals_and_not_equals_partition_non_empty_values(
    issue: dict[str, Any], clause: tuple[str, str]
) -> None:
    field, value = clause
    equal = compile(parse(f"{field} = {value}"), CTX)(issue)
    unequal = compile(parse(f"{field} != {value}"), CTX)(issue)
    negated = compile(parse(f"NOT {field} = {value}"), CTX)(issue)
    empty = compile(parse(f"{field} is EMPTY"), CTX)(issue)
    assert unequal == negated
    if empty:
        assert not equal and not unequal
    else:
        assert equal != unequal


@settings(FAST, max_examples=25)
@given(batch=st.lists(issues(), min_size=2, max_size=8), descending=st.booleans())
def test_empty_sorts_largest(batch: list[dict[str, Any]], descending: bool) -> None:
    direction = "DESC" if descending else "ASC"
    ordered = sorted(batch, key=sort_key(parse(f"ORDER BY duedate {direction}, key"), CTX))
    dues = [i["fields"]["duedate"] for i in ordered]
    present = [d for d in dues if d is not None]
    if descending:
        assert dues == [None] * (len(dues) - len(present)) + present
        assert present == sorted(present, reverse=True)
    else:
        assert dues == present + [None] * (len(dues) - len(present))
        assert present == sorted(present)
