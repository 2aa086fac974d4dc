"""Project health: seven charts from the warehouse models, each with its table.

Reads ``issue_enhanced``, ``issue_status_transitions``, ``daily_issue_field_history``,
``sprint_enhanced``, ``worklogs``, ``users``, ``statuses``, ``projects`` and ``boards``
(docs/sync.md), on DuckDB or PostgreSQL, in the SQL both share. Every day is a UTC day.

Filters:

- ``project``: issues of that project; sprints whose issues are mostly in it;
- ``board``: issues of the board's project, and the board's own sprints;
- ``start``/``end``: UTC days, both included. What falls in the range differs by chart
  and each caption says it: created/resolved on those days, the state at the end of each
  day, stays that ended, issues resolved, sprints started, work logged, open issues
  created in it. Without a range: from the first issue's creation to today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jirakit.ui import charts
from jirakit.ui.providers import BadFilter, Chart, HealthFilters, ProjectHealth, TableData

__all__ = ["OLDEST_OPEN", "VELOCITY_SPRINTS", "WORKLOG_PEOPLE", "Query", "bucket_for", "build"]

# The oldest open issues shown.
OLDEST_OPEN = 15
# Sprints drawn in the velocity chart (the latest started; the table lists all).
VELOCITY_SPRINTS = 12
# People drawn apart in the worklog chart (the most hours); the rest are "others".
WORKLOG_PEOPLE = 8

CATEGORY_LABELS = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
CATEGORY_COLOURS = {"done": "#1f845a", "indeterminate": "#0052cc", "new": "#626f86"}

# A query runner: SQL with ``{s}`` for the schema and ``?`` for parameters.
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def _day(column: str) -> str:
    """The UTC day of a timestamp-with-time-zone column (DuckDB and Postgres alike)."""
    return f"CAST({column} AT TIME ZONE 'UTC' AS DATE)"


def _week(column: str) -> str:
    """The Monday starting the UTC week of a timestamp column."""
    return f"CAST(date_trunc('week', {column} AT TIME ZONE 'UTC') AS DATE)"


def bucket_for(start: date, end: date) -> str:
    """How days are grouped for a range: by day up to about three months, by week up to
    two years, else by month, so that a chart keeps a readable number of points."""
    days = (end - start).days + 1
    if days <= 92:
        return "day"
    if days <= 731:
        return "week"
    return "month"


def _bucket_end(day: date, bucket: str, end: date) -> date:
    if bucket == "week":
        last = day + timedelta(days=6 - day.weekday())
    elif bucket == "month":
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        last = following - timedelta(days=1)
    else:
        last = day
    return min(last, end)


def _sample_days(start: date, end: date, bucket: str) -> list[date]:
    """The last day of each bucket in the range (the range's end for the last one)."""
    out: list[date] = []
    day = start
    while day <= end:
        last = _bucket_end(day, bucket, end)
        out.append(last)
        day = last + timedelta(days=1)
    return out


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _r(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class _Scope:
    """The filters resolved against the warehouse."""

    project_id: int | None
    board_id: int | None
    start: date
    end: date
    label: str  # e.g. "project ENG", "board ENG board (project ENG)", "all projects"

    def issues(self, alias: str, column: str = "project_id") -> tuple[str, list[Any]]:
        if self.project_id is None:
            return "TRUE", []
        return f"{alias}.{column} = ?", [self.project_id]


def _resolve(query: Query, filters: HealthFilters, today: date) -> _Scope:
    project_id: int | None = None
    labels: list[str] = []
    if filters.project:
        rows = query("SELECT id, key FROM {s}.projects WHERE key = ?", [filters.project])
        if not rows:
            known = [r[0] for r in query("SELECT key FROM {s}.projects ORDER BY key", [])]
            raise BadFilter(
                f"There is no project {filters.project!r} in this warehouse; choose one of "
                f"{', '.join(known) or '(none synced yet)'}."
            )
        project_id = int(rows[0][0])
        labels.append(f"project {filters.project}")
    board_id: int | None = None
    if filters.board is not None:
        rows = query(
            "SELECT b.id, b.name, b.project_id, p.key FROM {s}.boards AS b"
            " LEFT JOIN {s}.projects AS p ON p.id = b.project_id WHERE b.id = ?",
            [filters.board],
        )
        if not rows:
            raise BadFilter(f"There is no board {filters.board} in this warehouse.")
        board_id, name, board_project, key = rows[0]
        if board_project is None:
            raise BadFilter(
                f"Board {name!r} is not located in a project, so its issues cannot be told "
                "apart here; filter by project instead."
            )
        if project_id is not None and int(board_project) != project_id:
            raise BadFilter(
                f"Board {name!r} belongs to project {key}, not {filters.project}: choose "
                "one of its boards, or any board."
            )
        project_id = int(board_project)
        labels = [f"board {name} (project {key})"]
    if filters.start and filters.end and filters.start > filters.end:
        raise BadFilter(
            f"The range starts ({filters.start}) after it ends ({filters.end}): swap them."
        )
    start = filters.start
    if start is None:
        where, params = (
            ("e.project_id = ?", [project_id]) if project_id is not None else ("TRUE", [])
        )
        first = query(
            f"SELECT min({_day('e.created_at')}) FROM {{s}}.issue_enhanced AS e WHERE {where}",
            params,
        )
        start = first[0][0] if first and first[0][0] is not None else today
    end = filters.end or today
    if start > end:  # a range that ends before the first issue: one empty day
        start = end
    return _Scope(project_id, board_id, start, end, ", ".join(labels) or "all projects")


def _period(scope: _Scope) -> str:
    return f"between {scope.start:%d %b %Y} and {scope.end:%d %b %Y} (UTC)"


def _table(
    columns: Sequence[str], numeric: Sequence[bool], rows: Sequence[Sequence[str]]
) -> TableData:
    return TableData(tuple(columns), tuple(numeric), tuple(tuple(r) for r in rows))


# -- created vs resolved, cumulative flow ----------------------------------------------


def _per_day(query: Query, scope: _Scope, column: str) -> dict[date, int]:
    where, params = scope.issues("e")
    rows = query(
        f"SELECT {_day('e.' + column)}, count(*) FROM {{s}}.issue_enhanced AS e"
        f" WHERE e.{column} IS NOT NULL AND {_day('e.' + column)} <= ? AND {where}"
        f" GROUP BY {_day('e.' + column)}",
        [scope.end, *params],
    )
    return {r[0]: int(r[1]) for r in rows}


def _created_vs_resolved(
    scope: _Scope, bucket: str, created: dict[date, int], resolved: dict[date, int]
) -> Chart:
    days = _sample_days(scope.start, scope.end, bucket)
    rows: list[tuple[str, ...]] = []
    data: list[dict[str, Any]] = []
    total_c = total_r = 0
    previous = scope.start - timedelta(days=1)
    for last in days:
        new_c = sum(n for d, n in created.items() if previous < d <= last)
        new_r = sum(n for d, n in resolved.items() if previous < d <= last)
        total_c += new_c
        total_r += new_r
        previous = last
        rows.append((last.isoformat(), _num(new_c), _num(new_r), _num(total_c), _num(total_r)))
        data.append({"day": last.isoformat(), "series": "created", "value": total_c})
        data.append({"day": last.isoformat(), "series": "resolved", "value": total_r})
    per = {"day": "day", "week": "week", "month": "month"}[bucket]
    caption = (
        f"Issues created and issues resolved, counted from {scope.start:%d %b %Y} and "
        f"summed up to the end of each {per}, {scope.label}: {total_c:,} created, "
        f"{total_r:,} resolved. Where the resolved line stays below the created one, "
        "the backlog grows."
    )
    spec = charts.line_chart(
        caption,
        data,
        series=("created", "resolved"),
        y_title="issues (running total)",
        colours=("#ae2e24", "#1f845a"),
    )
    table = _table(
        (f"{per} ending", "created", "resolved", "created (total)", "resolved (total)"),
        (False, True, True, True, True),
        rows,
    )
    empty = None if total_c or total_r else "No issue was created or resolved in this range."
    return Chart(
        "created_vs_resolved",
        "Created vs resolved",
        caption,
        spec,
        table,
        ("created", "resolved"),
        empty,
    )


def _cumulative_flow(query: Query, scope: _Scope, bucket: str, created: dict[date, int]) -> Chart:
    where, params = scope.issues("d")
    rows = query(
        "SELECT d.date_day, coalesce(st.category_key, 'unknown'), count(*)"
        " FROM {s}.daily_issue_field_history AS d"
        " LEFT JOIN {s}.statuses AS st ON CAST(st.id AS TEXT) = d.value"
        " WHERE d.field_key = 'status' AND coalesce(st.category_key, '') <> 'done'"
        f" AND d.date_day BETWEEN ? AND ? AND {where}"
        " GROUP BY d.date_day, coalesce(st.category_key, 'unknown')",
        [scope.start, scope.end, *params],
    )
    open_counts: dict[str, dict[date, int]] = defaultdict(dict)
    for day, category, n in rows:
        open_counts[str(category)][day] = int(n)
    categories = ["new", "indeterminate", *sorted(set(open_counts) - {"new", "indeterminate"})]
    # "Done" is every issue created so far that is not open that day: right even where
    # daily_issue_field_history stops following resolved issues (days_after_resolved).
    order = ["done", *reversed(categories)]
    labels = [CATEGORY_LABELS.get(c, c) for c in order]
    days = _sample_days(scope.start, scope.end, bucket)
    running = sorted(created.items())
    data: list[dict[str, Any]] = []
    table_rows: list[tuple[str, ...]] = []
    for last in days:
        so_far = sum(n for d, n in running if d <= last)
        counts = {c: open_counts[c].get(last, 0) for c in categories}
        counts["done"] = max(0, so_far - sum(counts.values()))
        for i, c in enumerate(order):
            data.append(
                {"day": last.isoformat(), "series": labels[i], "value": counts[c], "order": i}
            )
        table_rows.append((last.isoformat(), *(_num(counts[c]) for c in reversed(order))))
    caption = (
        "Issues in each status category at the end of each "
        f"{bucket}, {scope.label}: done at the bottom, in progress above, to do on top. "
        "A widening middle band means work starts faster than it finishes."
    )
    spec = charts.area_chart(
        caption,
        data,
        series=labels,
        y_title="issues",
        colours=[CATEGORY_COLOURS.get(c, "#946f00") for c in order],
    )
    table = _table(
        ("day", *reversed(labels)),
        (False, *([True] * len(labels))),
        table_rows,
    )
    empty = None if any(d["value"] for d in data) else "No issue existed in this range."
    return Chart("cumulative_flow", "Cumulative flow", caption, spec, table, tuple(labels), empty)


# -- time in status, cycle time ------------------------------------------------------


def _time_in_status(query: Query, scope: _Scope) -> Chart:
    where, params = scope.issues("t")
    rows = query(
        "SELECT t.from_status, min(t.from_status_category), count(*),"
        " CAST(avg(t.minutes_in_from_status) AS DOUBLE PRECISION),"
        " CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.minutes_in_from_status)"
        " AS DOUBLE PRECISION)"
        " FROM {s}.issue_status_transitions AS t"
        " WHERE NOT t.is_initial AND t.from_status IS NOT NULL"
        f" AND t.minutes_in_from_status IS NOT NULL AND {_day('t.changed_at')} BETWEEN ? AND ?"
        f" AND {where} GROUP BY t.from_status",
        [scope.start, scope.end, *params],
    )
    stays = sorted(
        (r for r in rows if r[1] != "done"),
        key=lambda r: (-(r[3] or 0.0), str(r[0])),
    )
    statuses = [str(r[0]) for r in stays]
    data: list[dict[str, Any]] = []
    table_rows: list[tuple[str, ...]] = []
    for status, category, n, avg, median in stays:
        avg_d, med_d = _r(avg / 1440), _r(median / 1440)
        data.append({"category": status, "series": "average", "value": avg_d})
        data.append({"category": status, "series": "median", "value": med_d})
        table_rows.append(
            (
                str(status),
                CATEGORY_LABELS.get(category, category or "?"),
                _num(n),
                _num(avg_d),
                _num(med_d),
            )
        )
    caption = (
        "Days an issue spent in each status before it moved on, average and median, over "
        f"the stays that ended {_period(scope)}, {scope.label}. Done statuses are "
        "left out: an issue leaves one only when reopened."
    )
    spec = charts.grouped_bars(
        caption,
        data,
        series=("average", "median"),
        categories=statuses,
        value_title="days",
        horizontal=True,
        colours=("#0052cc", "#e56910"),
    )
    table = _table(
        ("status", "category", "stays", "average (days)", "median (days)"),
        (False, False, True, True, True),
        table_rows,
    )
    empty = None if stays else "No issue left a status in this range."
    return Chart(
        "time_in_status", "Time in status", caption, spec, table, ("average", "median"), empty
    )


_CYCLE_STARTS = (
    "WITH started AS ("
    " SELECT t.issue_id, min(t.changed_at) AS started_at"
    " FROM {s}.issue_status_transitions AS t"
    " WHERE t.to_status_category = 'indeterminate' GROUP BY t.issue_id)"
)
_CYCLE_DAYS = "CAST(EXTRACT(EPOCH FROM (e.resolved_at - c.started_at)) AS DOUBLE PRECISION) / 86400"


def _cycle_time(query: Query, scope: _Scope, bucket: str) -> Chart:
    where, params = scope.issues("e")
    period = (
        _week("e.resolved_at")
        if bucket in ("day", "week")
        else ("CAST(date_trunc('month', e.resolved_at AT TIME ZONE 'UTC') AS DATE)")
    )
    per = "week" if bucket in ("day", "week") else "month"
    percentiles = ", ".join(
        f"CAST(percentile_cont({p}) WITHIN GROUP (ORDER BY {_CYCLE_DAYS}) AS DOUBLE PRECISION)"
        for p in ("0.5", "0.85", "0.95")
    )
    common = (
        " FROM {s}.issue_enhanced AS e JOIN started AS c ON c.issue_id = e.issue_id"
        f" WHERE e.resolved_at IS NOT NULL AND c.started_at <= e.resolved_at"
        f" AND {_day('e.resolved_at')} BETWEEN ? AND ? AND {where}"
    )
    args = [scope.start, scope.end, *params]
    rows = query(
        f"{_CYCLE_STARTS} SELECT {period}, count(*), {percentiles}{common} GROUP BY {period}"
        f" ORDER BY {period}",
        args,
    )
    overall = query(f"{_CYCLE_STARTS} SELECT count(*), {percentiles}{common}", args)[0]
    never = query(
        f"{_CYCLE_STARTS} SELECT count(*) FROM {{s}}.issue_enhanced AS e"
        " LEFT JOIN started AS c ON c.issue_id = e.issue_id"
        f" WHERE e.resolved_at IS NOT NULL AND {_day('e.resolved_at')} BETWEEN ? AND ?"
        f" AND {where} AND (c.started_at IS NULL OR c.started_at > e.resolved_at)",
        args,
    )[0][0]
    names = ("50th percentile", "85th percentile", "95th percentile")
    data: list[dict[str, Any]] = []
    table_rows: list[tuple[str, ...]] = []
    for start, n, p50, p85, p95 in rows:
        values = (_r(p50), _r(p85), _r(p95))
        for name, value in zip(names, values, strict=True):
            data.append({"day": start.isoformat(), "series": name, "value": value})
        table_rows.append((start.isoformat(), _num(n), *(_num(v) for v in values)))
    n_all = int(overall[0])
    if n_all:
        table_rows.append(("all", _num(n_all), *(_num(_r(v)) for v in overall[1:])))
    skipped = (
        f"; {int(never):,} resolved without ever being in progress are left out" if never else ""
    )
    caption = (
        "Cycle time: days from an issue's first move into an in-progress status to its "
        f"resolution, for the {n_all:,} issues resolved {_period(scope)}, "
        f"{scope.label}{skipped}. Per {per} of resolution: half the issues took at most "
        "the 50th percentile, 85 in 100 at most the 85th."
    )
    spec = charts.line_chart(
        caption,
        data,
        series=names,
        y_title="days",
        colours=("#0052cc", "#e56910", "#ae2e24"),
        x_title=f"{per} resolved",
    )
    spec["mark"]["point"] = True
    table = _table(
        (f"{per} starting", "issues", "p50 (days)", "p85 (days)", "p95 (days)"),
        (False, True, True, True, True),
        table_rows,
    )
    empty = (
        None
        if n_all
        else "No issue went through an in-progress status to resolution in this range."
    )
    return Chart("cycle_time", "Cycle time percentiles", caption, spec, table, names, empty)


# -- sprints, worklogs, oldest open ----------------------------------------------------


def _velocity(query: Query, scope: _Scope) -> Chart:
    conditions = ["s.start_at IS NOT NULL", f"{_day('s.start_at')} BETWEEN ? AND ?"]
    params: list[Any] = [scope.start, scope.end]
    if scope.board_id is not None:
        conditions.append("s.board_id = ?")
        params.append(scope.board_id)
    elif scope.project_id is not None:
        conditions.append("s.project_id = ?")
        params.append(scope.project_id)
    rows = query(
        "SELECT s.sprint_id, s.sprint_name, s.board_name, s.state, s.start_at,"
        " s.committed_story_points, s.completed_story_points,"
        " s.committed_issue_count, s.completed_issue_count"
        f" FROM {{s}}.sprint_enhanced AS s WHERE {' AND '.join(conditions)}"
        " ORDER BY s.start_at, s.sprint_id",
        params,
    )
    points = any((r[5] or 0) or (r[6] or 0) for r in rows)
    unit = "story points" if points else "issues"
    shown = rows[-VELOCITY_SPRINTS:]
    names: list[str] = []
    seen: dict[str, int] = {}
    for r in shown:  # two sprints of one name (on two boards) get told apart
        name = str(r[1])
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({r[2] or r[0]})")
    data: list[dict[str, Any]] = []
    for name, r in zip(names, shown, strict=True):
        committed, completed = (r[5], r[6]) if points else (r[7], r[8])
        data.append({"category": name, "series": "committed", "value": _r(committed or 0)})
        data.append({"category": name, "series": "completed", "value": _r(completed or 0)})
    table_rows = [
        (
            str(r[2] or ""),
            str(r[1]),
            str(r[3] or ""),
            r[4].astimezone(UTC).date().isoformat(),
            _num(_r(r[5])),
            _num(_r(r[6])),
            _num(r[7]),
            _num(r[8]),
        )
        for r in rows
    ]
    which = (
        f"the last {len(shown)} of {len(rows)} sprints"
        if len(rows) > len(shown)
        else f"{len(rows)} sprint{'s' if len(rows) != 1 else ''}"
    )
    caption = (
        f"Sprint velocity in {unit}: committed at each sprint's start vs completed by its "
        f"end, {which} started {_period(scope)}, {scope.label} (the table lists "
        "all). A sprint still running shows what is completed so far."
    )
    spec = charts.grouped_bars(
        caption,
        data,
        series=("committed", "completed"),
        categories=names,
        value_title=unit,
        colours=("#626f86", "#1f845a"),
    )
    table = _table(
        (
            "board",
            "sprint",
            "state",
            "started",
            "committed pts",
            "completed pts",
            "committed issues",
            "completed issues",
        ),
        (False, False, False, False, True, True, True, True),
        table_rows,
    )
    empty = None if rows else "No sprint started in this range."
    return Chart(
        "velocity", "Sprint velocity", caption, spec, table, ("committed", "completed"), empty
    )


def _worklog(query: Query, scope: _Scope) -> Chart:
    where, params = scope.issues("e")
    week = _week("w.started_at")
    rows = query(
        f"SELECT {week}, w.author_id, max(coalesce(u.display_name, w.author_id)),"
        " sum(coalesce(w.time_spent_seconds, 0)), count(*)"
        " FROM {s}.worklogs AS w JOIN {s}.issue_enhanced AS e ON e.issue_id = w.issue_id"
        " LEFT JOIN {s}.users AS u ON u.id = w.author_id"
        f" WHERE w.is_deleted IS NOT TRUE AND {_day('w.started_at')} BETWEEN ? AND ?"
        f" AND {where} GROUP BY {week}, w.author_id",
        [scope.start, scope.end, *params],
    )
    totals: dict[str, float] = defaultdict(float)
    names: dict[str, str] = {}
    for _, author, name, seconds, _n in rows:
        key = str(author or "")
        totals[key] += float(seconds or 0)
        names[key] = str(name or "(unknown)")
    ranked = sorted(totals, key=lambda a: (-totals[a], names[a]))
    top = ranked[:WORKLOG_PEOPLE]
    others = len(ranked) > len(top)
    label = {a: names[a] for a in top}
    series = [label[a] for a in top] + (["others"] if others else [])
    hours: dict[tuple[date, str], float] = defaultdict(float)
    for week_start, author, _, seconds, _n in rows:
        name = label.get(str(author or ""), "others")
        hours[(week_start, name)] += float(seconds or 0) / 3600
    data: list[dict[str, Any]] = []
    stacked: dict[date, float] = defaultdict(float)
    for (ws, name), h in sorted(hours.items(), key=lambda i: (i[0][0], series.index(i[0][1]))):
        value = round(h, 2)
        data.append(
            {
                "start": ws.isoformat(),
                "end": (ws + timedelta(days=7)).isoformat(),
                "series": name,
                "value": value,
                "y0": round(stacked[ws], 2),
                "y1": round(stacked[ws] + value, 2),
            }
        )
        stacked[ws] += value
    table_rows = [
        (ws.isoformat(), str(name), _num(_r(float(seconds or 0) / 3600)), _num(n))
        for ws, _author, name, seconds, n in sorted(rows, key=lambda r: (r[0], str(r[2])))
    ]
    total = sum(totals.values()) / 3600
    caption = (
        f"Hours of work logged per person per week (weeks start on Monday), "
        f"{total:,.1f} hours by {len(ranked)} people {_period(scope)}, {scope.label}"
        + (
            f"; beyond the {WORKLOG_PEOPLE} who logged most, people are summed as 'others'."
            if others
            else "."
        )
    )
    spec = charts.ranged_stacked_bars(caption, data, series=series, y_title="hours")
    table = _table(
        ("week starting", "person", "hours", "worklogs"), (False, False, True, True), table_rows
    )
    empty = None if rows else "No work was logged in this range."
    return Chart(
        "worklog", "Work logged by person and week", caption, spec, table, tuple(series), empty
    )


def _oldest_open(query: Query, scope: _Scope, now: datetime) -> Chart:
    where, params = scope.issues("e")
    condition = f"NOT e.is_resolved AND {_day('e.created_at')} BETWEEN ? AND ? AND {where}"
    args = [scope.start, scope.end, *params]
    rows = query(
        "SELECT e.issue_key, e.summary, e.status, e.assignee_name, e.created_at,"
        " e.current_status_since"
        f" FROM {{s}}.issue_enhanced AS e WHERE {condition}"
        f" ORDER BY e.created_at, e.issue_key LIMIT {OLDEST_OPEN}",
        args,
    )
    total = int(
        query(f"SELECT count(*) FROM {{s}}.issue_enhanced AS e WHERE {condition}", args)[0][0]
    )
    data: list[dict[str, Any]] = []
    table_rows: list[tuple[str, ...]] = []
    keys: list[str] = []
    for key, summary, status, assignee, created, since in rows:
        age = _r((now - created).total_seconds() / 86400)
        in_status = None if since is None else _r((now - since).total_seconds() / 86400)
        label = f"{key} {summary or ''}".strip()
        label = label if len(label) <= 48 else label[:47].rstrip() + "…"
        keys.append(label)
        data.append({"category": label, "series": "age", "value": age})
        table_rows.append(
            (
                str(key),
                str(summary or ""),
                str(status or ""),
                str(assignee or "unassigned"),
                created.astimezone(UTC).date().isoformat(),
                _num(age),
                _num(in_status),
            )
        )
    caption = (
        f"The {len(rows)} oldest of {total:,} open issues created {_period(scope)}, "
        f"{scope.label}: their age in days today, oldest on top."
    )
    spec = charts.bar_chart(caption, data, series="age", categories=keys, value_title="days open")
    table = _table(
        ("issue", "summary", "status", "assignee", "created", "age (days)", "in status (days)"),
        (False, False, False, False, False, True, True),
        table_rows,
    )
    empty = None if rows else "No open issue was created in this range."
    return Chart("oldest_open", "Oldest open issues", caption, spec, table, ("age",), empty)


def build(query: Query, filters: HealthFilters, *, now: datetime) -> ProjectHealth:
    """The project health page's charts, from the warehouse ``query`` reads."""
    today = now.astimezone(UTC).date()
    scope = _resolve(query, filters, today)
    bucket = bucket_for(scope.start, scope.end)
    created = _per_day(query, scope, "created_at")
    resolved = _per_day(query, scope, "resolved_at")
    in_range_created = {d: n for d, n in created.items() if d >= scope.start}
    in_range_resolved = {d: n for d, n in resolved.items() if d >= scope.start}
    page = (
        _created_vs_resolved(scope, bucket, in_range_created, in_range_resolved),
        _cumulative_flow(query, scope, bucket, created),
        _time_in_status(query, scope),
        _cycle_time(query, scope, bucket),
        _velocity(query, scope),
        _worklog(query, scope),
        _oldest_open(query, scope, now),
    )
    return ProjectHealth(filters, scope.start, scope.end, bucket, page, now)
