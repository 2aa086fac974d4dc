"""The analytics models on the hand-made dataset (see conftest.py), on DuckDB and Postgres.

Every expected value below is worked out by hand from the dataset, not read back.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest

from jirakit.sync.models import MODEL_NAMES, load_models, run_models

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # the dataset's "now" (see conftest.py)
DIALECTS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
DAY = 1440.0
Warehouse = Any  # conftest.Warehouse


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    out = {}
    for row in rows:
        key = row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)
        assert key not in out, f"duplicate {key}"
        out[key] = row
    return out


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def test_every_model_is_built_with_its_row_count(modelled: Warehouse):
    assert modelled.counts == {
        "issue_field_history_scd": 56,
        "issue_status_transitions": 20,
        "issue_enhanced": 9,
        "created_vs_resolved_daily": 48,
        "daily_issue_field_ranges": 54,
        "daily_issue_field_history": 804,
        "project_enhanced": 3,
        "sprint_enhanced": 3,
        "user_enhanced": 3,
        "worklog_by_user_week": 4,
    }
    # The view's count is summed from its ranges; reading every day gives the same.
    assert modelled.query("SELECT count(*) FROM {s}.daily_issue_field_history") == [(804,)]
    order = list(modelled.counts)
    for model in load_models():
        for dep in model.depends_on:
            assert order.index(dep) < order.index(model.name)


def test_status_transitions_minutes_and_direction(modelled: Warehouse):
    rows = by(
        modelled.dicts("SELECT * FROM {s}.issue_status_transitions"),
        "issue_key",
        "transition_index",
    )
    assert "ALPHA-5" not in {k for k, _ in rows}
    got = {
        key: (r["from_status"], r["to_status"], r["minutes_in_from_status"], r["direction"])
        for key, r in rows.items()
        if key[0] in ("ALPHA-2", "ALPHA-6")
    }
    assert got == {
        ("ALPHA-2", 0): (None, "To Do", None, None),
        ("ALPHA-2", 1): ("To Do", "In Progress", 2 * DAY, "forward"),
        ("ALPHA-2", 2): ("In Progress", "Done", 3 * DAY, "forward"),
        ("ALPHA-2", 3): ("Done", "In Progress", 3 * DAY, "backward"),
        ("ALPHA-6", 0): (None, "To Do", None, None),
        ("ALPHA-6", 1): ("To Do", "In Progress", DAY, "forward"),
        ("ALPHA-6", 2): ("In Progress", "In Review", 30 * 60.0, "lateral"),
    }
    reopen = rows["ALPHA-2", 3]
    assert reopen["is_reopen"] is True and reopen["is_current"] is True
    assert reopen["from_status_category"] == "done"
    assert reopen["to_status_id"] == 3 and reopen["author_id"] == "u-alice"
    assert utc(reopen["changed_at"]) == ts("2026-03-09 10:00")
    assert reopen["minutes_in_to_status"] == 11 * DAY + 120
    # The initial period: created 03-01 10:00, left 03-03 10:00.
    first = rows["ALPHA-2", 0]
    assert first["is_initial"] is True and first["to_status_category"] == "new"
    assert utc(first["changed_at"]) == ts("2026-03-01 10:00")
    assert utc(first["left_at"]) == ts("2026-03-03 10:00")
    assert first["minutes_in_to_status"] == 2 * DAY
    # An issue that never moved: one initial row, current, since creation.
    (never,) = [r for k, r in rows.items() if k[0] == "ALPHA-4"]
    assert never["to_status"] == "To Do" and never["is_current"] is True
    assert never["minutes_in_to_status"] == 23 * DAY + 120
    assert rows["ALPHA-3", 1]["minutes_in_from_status"] == 9 * DAY
    assert [rows["BETA-" + n, 1]["minutes_in_from_status"] for n in "123"] == [
        DAY,
        3 * DAY,
        10 * DAY,
    ]


def test_scd_intervals(modelled: Warehouse):
    rows = modelled.dicts(
        "SELECT * FROM {s}.issue_field_history_scd ORDER BY issue_id, field_key, valid_from"
    )
    assert {r["issue_id"] for r in rows} == {1, 2, 3, 4, 6, 11, 12, 13, 14}

    def periods(issue_id: int, field_key: str) -> list[tuple[Any, ...]]:
        return [
            (
                r["value"],
                r["value_string"],
                utc(r["valid_from"]),
                utc(r["valid_to"]),
                r["is_current"],
                r["source"],
            )
            for r in rows
            if r["issue_id"] == issue_id and r["field_key"] == field_key
        ]

    assert periods(2, "assignee") == [
        ("u-alice", "Alice", ts("2026-03-01 10:00"), ts("2026-03-04 10:00"), False, "created"),
        ("u-bob", "Bob", ts("2026-03-04 10:00"), ts("2026-03-10 10:00"), False, "history"),
        ("u-carol", "Carol", ts("2026-03-10 10:00"), None, True, "history"),
    ]
    assert periods(1, "assignee") == [
        (None, None, ts("2026-03-01 10:00"), ts("2026-03-01 11:00"), False, "created"),
        ("u-alice", "Alice", ts("2026-03-01 11:00"), None, True, "history"),
    ]
    assert periods(4, "priority") == [
        ("3", "Medium", ts("2026-02-25 10:00"), ts("2026-03-01 10:00"), False, "created"),
        ("1", "High", ts("2026-03-01 10:00"), None, True, "history"),
    ]
    assert periods(4, "sprint") == [
        (None, None, ts("2026-02-25 10:00"), ts("2026-02-28 10:00"), False, "created"),
        ("1", "S1", ts("2026-02-28 10:00"), ts("2026-03-06 10:00"), False, "history"),
        (None, None, ts("2026-03-06 10:00"), None, True, "history"),
    ]
    # No history for a core field: one current row from created_at with today's value.
    assert periods(2, "sprint") == [
        ("1, 2", "S1, S2", ts("2026-03-01 10:00"), None, True, "current"),
    ]
    assert periods(4, "status") == [("1", "To Do", ts("2026-02-25 10:00"), None, True, "current")]
    sprint_row = next(r for r in rows if r["issue_id"] == 4 and r["field_key"] == "sprint")
    assert sprint_row["field_id"] == "customfield_10020" and sprint_row["field_name"] == "Sprint"
    # Per (issue, field) the periods tile time: each ends where the next begins.
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["issue_id"], r["field_key"]), []).append(r)
    for group in groups.values():
        for a, b in itertools.pairwise(group):
            assert a["valid_to"] == b["valid_from"]
        assert group[-1]["valid_to"] is None
        assert [r["is_current"] for r in group] == [False] * (len(group) - 1) + [True]


def test_issue_enhanced(modelled: Warehouse):
    rows = by(modelled.dicts("SELECT * FROM {s}.issue_enhanced"), "issue_key")
    assert sorted(rows) == [
        "ALPHA-1",
        "ALPHA-2",
        "ALPHA-3",
        "ALPHA-4",
        "ALPHA-6",
        "BETA-1",
        "BETA-2",
        "BETA-3",
        "BETA-4",
    ]
    a2 = rows["ALPHA-2"]
    assert (a2["status"], a2["status_category"], a2["assignee_id"], a2["assignee_name"]) == (
        "In Progress",
        "indeterminate",
        "u-carol",
        "Carol",
    )
    assert (a2["current_sprint_id"], a2["current_sprint_name"], a2["sprint_count"]) == (2, "S2", 2)
    assert utc(a2["first_assigned_at"]) == ts("2026-03-01 10:00")
    assert utc(a2["last_assigned_at"]) == ts("2026-03-10 10:00")
    assert a2["resolved_at"] is None and a2["is_resolved"] is False
    assert a2["open_duration_minutes"] == 19 * DAY + 120
    assert (a2["comment_count"], a2["worklog_seconds"], a2["worklog_count"]) == (1, 10800, 2)
    assert (a2["status_change_count"], a2["reopen_count"]) == (3, 1)
    assert a2["days_in_current_status"] == pytest.approx(11 + 2 / 24)

    a1 = rows["ALPHA-1"]
    assert utc(a1["first_assigned_at"]) == utc(a1["last_assigned_at"]) == ts("2026-03-01 11:00")
    assert utc(a1["resolved_at"]) == ts("2026-03-05 10:00") and a1["is_resolved"] is True
    assert a1["open_duration_minutes"] == 4 * DAY
    assert (a1["comment_count"], a1["worklog_seconds"]) == (2, 5400)  # deleted ones excluded
    assert (a1["current_sprint_id"], a1["current_sprint_state"]) == (1, "closed")

    a4 = rows["ALPHA-4"]
    assert a4["current_sprint_id"] is None and a4["sprint_count"] == 0
    assert a4["first_assigned_at"] is None and a4["status_change_count"] == 0
    assert a4["days_in_current_status"] == pytest.approx(23 + 2 / 24)
    assert utc(rows["ALPHA-3"]["first_assigned_at"]) == ts("2026-03-03 10:00")
    assert rows["BETA-4"]["open_duration_minutes"] == 47 * DAY + 720


def test_sprint_enhanced_committed_added_removed_completed(modelled: Warehouse):
    rows = by(modelled.dicts("SELECT * FROM {s}.sprint_enhanced"), "sprint_name")
    cols = [
        "committed_issue_count",
        "committed_story_points",
        "added_issue_count",
        "added_story_points",
        "removed_issue_count",
        "removed_story_points",
        "completed_issue_count",
        "completed_story_points",
        "velocity",
        "issue_count",
        "story_points",
    ]

    def metrics(name: str) -> list[Any]:
        return [rows[name][c] for c in cols]

    # S1: committed, A-4 (3+5+8); A-3 added mid-sprint (2); A-4 removed (8);
    # done at completion: A-1 and A-3 (A-2 was reopened) -> velocity 5.
    assert metrics("S1") == [3, 16.0, 1, 2.0, 1, 8.0, 2, 5.0, 5.0, 3, 10.0]
    # S2 (active, measured up to now): committed, nothing done yet.
    assert metrics("S2") == [2, 6.0, 0, 0.0, 0, 0.0, 0, 0.0, 0.0, 2, 6.0]
    # S3 (future): no window, no scope.
    assert metrics("S3") == [None] * 9 + [0, 0.0]
    assert utc(rows["S1"]["window_end"]) == ts("2026-03-13 10:00")
    assert utc(rows["S2"]["window_end"]) == NOW
    assert (rows["S1"]["board_name"], rows["S1"]["project_id"]) == ("Alpha board", 100)


def test_project_enhanced(modelled: Warehouse):
    rows = by(modelled.dicts("SELECT * FROM {s}.project_enhanced"), "project_key")
    cols = [
        "issue_count",
        "open_issue_count",
        "closed_issue_count",
        "avg_close_minutes",
        "median_close_minutes",
        "created_last_30_days",
        "resolved_last_30_days",
        "open_story_points",
        "worklog_seconds",
    ]
    got = {k: [r[c] for c in cols] for k, r in rows.items()}
    assert got == {
        # closed: A-1 (4 days), A-3 (9 days)
        "ALPHA": [5, 3, 2, 6.5 * DAY, 6.5 * DAY, 5, 2, 14.0, 16800],
        # closed after 1, 3, 10 days; BETA-4 created 47 days ago
        "BETA": [4, 1, 3, 14 / 3 * DAY, 3 * DAY, 3, 3, 0.0, 0],
        "EMPTY": [0, 0, 0, None, None, 0, 0, 0.0, 0],
    }


def test_user_enhanced(modelled: Warehouse):
    rows = by(modelled.dicts("SELECT * FROM {s}.user_enhanced"), "user_id")
    cols = [
        "assigned_open_count",
        "resolved_count",
        "avg_close_minutes",
        "worklog_seconds",
        "worklog_count",
        "comment_count",
    ]
    got = {k: [r[c] for c in cols] for k, r in rows.items()}
    assert got == {
        "u-alice": [0, 1, 4 * DAY, 5400, 2, 1],
        "u-bob": [1, 3, 13 / 3 * DAY, 7800, 2, 1],
        "u-carol": [1, 1, 10 * DAY, 3600, 1, 1],
    }


def test_worklog_by_user_week(modelled: Warehouse):
    rows = modelled.query(
        "SELECT user_id, week_start, seconds, issue_count, worklog_count "
        "FROM {s}.worklog_by_user_week ORDER BY user_id, week_start"
    )
    assert rows == [
        ("u-alice", date(2026, 3, 2), 3600, 1, 1),
        ("u-alice", date(2026, 3, 9), 1800, 1, 1),
        # Sunday 03-08 23:30 still belongs to the week of Monday 03-02.
        ("u-bob", date(2026, 3, 2), 7800, 2, 2),
        ("u-carol", date(2026, 3, 16), 3600, 1, 1),
    ]


def test_created_vs_resolved_daily(modelled: Warehouse):
    rows = by(modelled.dicts("SELECT * FROM {s}.created_vs_resolved_daily"), "date_day")
    assert min(rows) == date(2026, 2, 1) and max(rows) == date(2026, 3, 20) and len(rows) == 48
    pick = ["created", "resolved", "cumulative_created", "cumulative_resolved", "cumulative_open"]
    assert [rows[date(2026, 3, 1)][c] for c in pick] == [5, 0, 7, 0, 7]
    assert [rows[date(2026, 3, 5)][c] for c in pick] == [0, 1, 8, 3, 5]
    assert [rows[date(2026, 3, 20)][c] for c in pick] == [0, 0, 9, 5, 4]


def test_daily_field_history_takes_the_value_at_end_of_day(modelled: Warehouse):
    rows = modelled.dicts("SELECT * FROM {s}.daily_issue_field_history")
    value = {(r["issue_key"], r["field_key"], r["date_day"]): r["value"] for r in rows}
    assert len(value) == len(rows)  # one row per issue, field and day
    d = lambda day: date(2026, 3, day)  # noqa: E731
    assert [value["ALPHA-2", "status", d(n)] for n in (1, 5, 6, 8, 9, 20)] == [
        "1",
        "3",
        "5",
        "5",
        "3",
        "3",
    ]
    assert [value["ALPHA-2", "assignee", d(n)] for n in (3, 4, 9, 10)] == [
        "u-alice",
        "u-bob",
        "u-bob",
        "u-carol",
    ]
    assert value["ALPHA-1", "assignee", d(1)] == "u-alice"
    assert [
        value["ALPHA-4", "sprint", day]
        for day in (date(2026, 2, 27), date(2026, 2, 28), d(5), d(6))
    ] == [None, "1", "1", None]
    # A change at exactly midnight belongs to the day it starts.
    assert (value["BETA-1", "status", d(1)], value["BETA-1", "status", d(2)]) == ("1", "5")
    days = sorted(k[2] for k in value if k[:2] == ("ALPHA-1", "status"))
    assert days[0] == d(1) and days[-1] == d(20) and len(days) == 20
    assert ("ALPHA-5", "status", d(5)) not in value
    assert {k[1] for k in value} == {"status", "assignee", "priority", "sprint"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_daily_fields_and_cutoff_are_configurable(make_warehouse, dialect: str):
    wh = make_warehouse(dialect)
    wh.load_sample()
    counts = run_models(
        wh.conn,
        dialect=dialect,
        schema=wh.schema,
        now=NOW,
        daily_fields=["status"],
        days_after_resolved=2,
    )
    rows = wh.query(
        "SELECT issue_key, min(date_day), max(date_day), count(*) "
        "FROM {s}.daily_issue_field_history GROUP BY issue_key ORDER BY issue_key"
    )
    span = {k: (lo, hi, n) for k, lo, hi, n in rows}
    assert span["ALPHA-1"] == (date(2026, 3, 1), date(2026, 3, 7), 7)  # resolved 03-05 + 2
    assert span["ALPHA-2"] == (date(2026, 3, 1), date(2026, 3, 20), 20)  # open: until today
    assert span["BETA-3"] == (date(2026, 3, 1), date(2026, 3, 13), 13)
    assert counts["daily_issue_field_history"] == sum(n for _, _, n in span.values())
    assert wh.query("SELECT DISTINCT field_key FROM {s}.daily_issue_field_history") == [("status",)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_rerun_replaces_tables_and_failure_rolls_back(make_warehouse, dialect: str):
    wh = make_warehouse(dialect)
    wh.load_sample()
    first = run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    assert run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW) == first
    # A later "now" moves the open durations, not the row identities.
    later = run_models(
        wh.conn, dialect=dialect, schema=wh.schema, now=datetime(2026, 3, 21, 12, 0, tzinfo=UTC)
    )
    assert later["issue_enhanced"] == first["issue_enhanced"]
    assert later["created_vs_resolved_daily"] == first["created_vs_resolved_daily"] + 1
    # An input table goes missing: the run fails naming the model, the old tables survive.
    wh.conn.execute(f'DROP TABLE "{wh.schema}".comments')
    wh.commit()
    with pytest.raises(Exception) as info:
        run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    assert "while building model 'issue_enhanced'" in "".join(info.value.__notes__)
    assert wh.query("SELECT count(*) FROM {s}.created_vs_resolved_daily") == [(49,)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_autocommit_connection_gets_one_transaction_and_is_left_outside_it(
    make_warehouse, dialect: str
):
    """A connection in autocommit mode (DuckDB's only mode; psycopg's on request): the
    models are built in one explicit transaction, committed, and none is left open."""
    wh = make_warehouse(dialect)
    wh.load_sample()
    if dialect == "postgres":
        wh.conn.autocommit = True
    counts = run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    assert counts["issue_enhanced"] == 9
    assert wh.query("SELECT count(*) FROM {s}.sprint_enhanced") == [(3,)]
    # No transaction left open.
    if dialect == "postgres":
        from psycopg.pq import TransactionStatus

        assert wh.conn.info.transaction_status == TransactionStatus.IDLE
    else:
        wh.conn.execute("BEGIN TRANSACTION")  # DuckDB refuses to nest one
        wh.conn.execute("ROLLBACK")
    # A failed run rolls its transaction back and leaves the connection usable.
    wh.conn.execute(f'DROP TABLE "{wh.schema}".comments')
    with pytest.raises(Exception, match="comments"):
        run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    assert wh.query("SELECT count(*) FROM {s}.sprint_enhanced") == [(3,)]


def test_now_must_be_aware_and_arguments_are_checked():
    import duckdb

    conn = duckdb.connect()
    with pytest.raises(ValueError, match="timezone-aware"):
        run_models(conn, dialect="duckdb", now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown models"):
        run_models(conn, dialect="duckdb", models=["nope"])
    with pytest.raises(ValueError, match="dialect"):
        run_models(conn, dialect="sqlite", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="days_after_resolved"):
        run_models(conn, dialect="duckdb", now=NOW, days_after_resolved=-1)
    conn.close()


def test_model_catalogue():
    assert set(MODEL_NAMES) == {
        "issue_enhanced",
        "issue_status_transitions",
        "issue_field_history_scd",
        "daily_issue_field_history",
        "daily_issue_field_ranges",
        "sprint_enhanced",
        "project_enhanced",
        "user_enhanced",
        "worklog_by_user_week",
        "created_vs_resolved_daily",
    }
    for model in load_models():
        assert model.description, f"{model.name} has no header comment"
        assert "CURRENT_TIMESTAMP" not in model.sql.upper()
        assert "now()" not in model.sql.lower()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_empty_warehouse_and_custom_field_columns(make_warehouse, dialect: str):
    wh = make_warehouse(dialect)
    # Custom fields land as extra issues columns; their names must not disturb the models.
    for column in ("status_change_count", "resolved_at_derived", "sprint count", "value"):
        wh.conn.execute(f'ALTER TABLE "{wh.schema}".issues ADD COLUMN "{column}" TEXT')
    wh.commit()
    counts = run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    assert counts == dict.fromkeys(counts, 0) and set(counts) == set(MODEL_NAMES)
    wh.load_sample()
    counts = run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    assert (counts["issue_enhanced"], counts["daily_issue_field_history"]) == (9, 804)
