"""Properties of the status models over random status histories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jirakit.sync.models import run_models

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DIALECTS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
STATUSES = {1: ("To Do", 1), 3: ("In Progress", 2), 10: ("In Review", 2), 5: ("Done", 3)}
# One issue: (minutes after T0 it was created, [(minutes since the previous change, to)]).
Issue = tuple[int, list[tuple[int, int]]]

issues_strategy = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.lists(st.tuples(st.integers(0, 5_000), st.sampled_from(sorted(STATUSES))), max_size=8),
    ),
    min_size=1,
    max_size=4,
)


def load(wh: Any, issues: list[Issue]) -> tuple[datetime, dict[int, list[datetime]]]:
    """Insert the issues and their status changes; return "now" and each one's timeline."""
    for table in ("issues", "issue_field_history"):
        wh.conn.execute(f'DELETE FROM "{wh.schema}".{table}')
    wh.commit()
    issue_rows, history_rows, timelines = [], [], {}
    latest = T0
    for n, (created_offset, changes) in enumerate(issues, start=1):
        created = T0 + timedelta(minutes=created_offset)
        at, current, timeline = created, 1, [created]
        for k, (gap, to) in enumerate(changes):
            at += timedelta(minutes=gap)
            history_rows.append(
                {
                    "issue_id": n,
                    "history_id": n * 100 + k,
                    "item_index": 0,
                    "field_id": "status",
                    "field": "status",
                    "from_value": str(current),
                    "from_string": STATUSES[current][0],
                    "to_value": str(to),
                    "to_string": STATUSES[to][0],
                    "changed_at": at,
                }
            )
            current = to
            timeline.append(at)
        timelines[n] = timeline
        latest = max(latest, at)
        issue_rows.append(
            {
                "id": n,
                "key": f"P-{n}",
                "project_id": 1,
                "status_id": current,
                "status": STATUSES[current][0],
                "created_at": created,
                "is_deleted": False,
            }
        )
    wh.insert("issues", issue_rows)
    wh.insert("issue_field_history", history_rows)
    return latest + timedelta(minutes=7), timelines


def check(wh: Any, issues: list[Issue]) -> None:
    now, timelines = load(wh, issues)
    run_models(
        wh.conn,
        dialect=wh.dialect,
        schema=wh.schema,
        now=now,
        models=["issue_field_history_scd", "issue_status_transitions"],
    )
    rows = wh.dicts(
        "SELECT issue_id, transition_index, from_status_id, to_status_id, minutes_in_from_status,"
        " minutes_in_to_status, direction FROM {s}.issue_status_transitions"
        " ORDER BY issue_id, transition_index"
    )
    for n, timeline in timelines.items():
        mine = [r for r in rows if r["issue_id"] == n]
        assert [r["transition_index"] for r in mine] == list(range(len(timeline)))
        created, last = timeline[0], timeline[-1]
        # Time in the "from" statuses adds up to created -> last transition ...
        in_from = sum(r["minutes_in_from_status"] or 0 for r in mine)
        assert in_from == (last - created).total_seconds() / 60
        # ... and time in the "to" statuses (current one up to now) to created -> now.
        assert sum(r["minutes_in_to_status"] for r in mine) == (now - created).total_seconds() / 60
        for r in mine[1:]:
            a, b = STATUSES[r["from_status_id"]][1], STATUSES[r["to_status_id"]][1]
            assert r["direction"] == ("forward" if b > a else "backward" if b < a else "lateral")
    scd = wh.dicts(
        "SELECT issue_id, valid_from, valid_to FROM {s}.issue_field_history_scd"
        " WHERE field_key = 'status' ORDER BY issue_id, valid_from, valid_to NULLS LAST"
    )
    for n, timeline in timelines.items():
        periods = [(r["valid_from"], r["valid_to"]) for r in scd if r["issue_id"] == n]
        # Periods tile [created, now): starts are the timeline (minus a zero-length
        # initial period when the first change happened at creation), ends are the next start.
        starts = [p[0] for p in periods]
        assert starts == (timeline if timeline[1:2] != timeline[:1] else timeline[1:])
        assert [p[1] for p in periods] == [*starts[1:], None]


@settings(max_examples=20, deadline=None)
@given(issues=issues_strategy)
def test_minutes_in_status_add_up(duckdb_warehouse: Any, issues: list[Issue]):
    check(duckdb_warehouse, issues)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_minutes_in_status_add_up_on_a_seeded_random_history(make_warehouse, dialect: str):
    wh = make_warehouse(dialect)
    rng = random.Random(20260320)
    issues = [
        (
            rng.randrange(10_000),
            [(rng.randrange(3_000), rng.choice(sorted(STATUSES))) for _ in range(rng.randrange(9))],
        )
        for _ in range(25)
    ]
    wh.insert(
        "statuses",
        [
            {"id": sid, "name": name, "category_key": ["new", "indeterminate", "done"][rank - 1]}
            for sid, (name, rank) in STATUSES.items()
        ],
    )
    check(wh, issues)
