"""`jirakit report`: summary tables, PNG charts and a static HTML page from the model tables.

Reads only the tables `jirakit.sync.models.run_models` builds (plus ``statuses``), on DuckDB
or PostgreSQL, and writes into ``out_dir``::

    velocity.png            committed vs completed story points per started sprint
    time_in_status.png      average days spent in each status (completed stays)
    cumulative_flow.png     issues per status category per day (daily_issue_field_history)
    created_vs_resolved.png running totals of created and resolved issues, and open issues
    index.html              the tables and the charts (relative links), no scripts

Charts are drawn with matplotlib's Agg canvas on `Figure` objects: no pyplot, no global
backend switch, safe in servers and threads.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from jirakit.sync.models import Connection, Dialect, current_catalog, qualified_schema

__all__ = [
    "CHARTS",
    "FlowSeries",
    "ReportError",
    "ReportResult",
    "SummaryTable",
    "build_report",
]

CHARTS: tuple[str, ...] = ("velocity", "time_in_status", "cumulative_flow", "created_vs_resolved")
_REQUIRED = (
    "project_enhanced",
    "sprint_enhanced",
    "issue_status_transitions",
    "issue_enhanced",
    "daily_issue_field_history",
    "created_vs_resolved_daily",
    "statuses",
)
_CATEGORY_COLORS = {"new": "#8993a4", "indeterminate": "#0052cc", "done": "#36b37e"}
_CATEGORY_LABELS = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}


class ReportError(RuntimeError):
    """The warehouse lacks what the report reads (e.g. the models were never run)."""


@dataclass(frozen=True, slots=True)
class SummaryTable:
    """One summary table: plain strings, rendered both as a rich Table and as HTML."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def to_rich(self) -> Table:
        table = Table(title=self.title, title_justify="left")
        for i, name in enumerate(self.columns):
            table.add_column(name, justify="left" if i == 0 else "right")
        for row in self.rows:
            table.add_row(*row)
        return table

    def to_html(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        return (
            f"<h2>{html.escape(self.title)}</h2>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


@dataclass(frozen=True, slots=True)
class FlowSeries:
    """Issues per status category per day (the cumulative flow chart's data).

    ``bands`` maps a category key (``done``, ``new``, ``indeterminate``, or ``unknown`` for
    statuses missing from ``statuses``) to one count per day in ``days``.
    """

    days: tuple[date, ...]
    bands: dict[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What `build_report` produced: the tables, the chart files and the HTML page."""

    tables: dict[str, SummaryTable]
    charts: dict[str, Path]
    index_html: Path
    cumulative_flow: FlowSeries
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def rich_tables(self) -> list[Table]:
        return [t.to_rich() for t in self.tables.values()]

    def print(self, console: Console | None = None) -> None:
        """Print the tables and where the charts are."""
        out = console or Console()
        for table in self.rich_tables:
            out.print(table)
        out.print(f"Charts and HTML report: {self.index_html}")


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{float(value):.1f}"


def _days(minutes: Any) -> str:
    return "-" if minutes is None else f"{float(minutes) / 1440:.1f}"


class _Reader:
    def __init__(self, conn: Connection, dialect: Dialect, schema: str) -> None:
        self.conn = conn
        self.catalog = current_catalog(conn, dialect)
        self.schema = qualified_schema(schema, self.catalog)
        self.raw_schema = schema

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        result = self.conn.execute(sql.replace("{s}", self.schema)).fetchall()
        return [tuple(r) for r in result]

    def check_tables(self) -> None:
        def literal(text: str) -> str:
            return "'" + text.replace("'", "''") + "'"

        where = f"table_schema = {literal(self.raw_schema)}"
        if self.catalog is not None:
            where += f" AND table_catalog = {literal(self.catalog)}"
        present = {
            str(r[0])
            for r in self.rows(f"SELECT table_name FROM information_schema.tables WHERE {where}")
        }
        missing = [t for t in _REQUIRED if t not in present]
        if missing:
            raise ReportError(
                f"schema {self.raw_schema!r} lacks {', '.join(missing)}: "
                "load it with `jirakit sync` and build the models (run_models) first"
            )


def _project_table(reader: _Reader) -> SummaryTable:
    rows = reader.rows(
        "SELECT project_key, project_name, issue_count, open_issue_count, closed_issue_count,"
        " avg_close_minutes, median_close_minutes, created_last_30_days"
        " FROM {s}.project_enhanced ORDER BY project_key"
    )
    return SummaryTable(
        "Projects",
        (
            "project",
            "name",
            "issues",
            "open",
            "closed",
            "avg close (days)",
            "median close (days)",
            "created 30d",
        ),
        tuple(
            (str(k), str(n or ""), _num(i), _num(o), _num(c), _days(a), _days(m), _num(r))
            for k, n, i, o, c, a, m, r in rows
        ),
    )


def _sprint_rows(reader: _Reader) -> list[tuple[Any, ...]]:
    return reader.rows(
        "SELECT sprint_name, state, start_at, committed_issue_count, committed_story_points,"
        " added_issue_count, removed_issue_count, completed_issue_count,"
        " completed_story_points, velocity"
        " FROM {s}.sprint_enhanced WHERE start_at IS NOT NULL"
        " ORDER BY start_at, sprint_id"
    )


def _sprint_table(rows: Sequence[tuple[Any, ...]]) -> SummaryTable:
    return SummaryTable(
        "Sprint velocity",
        (
            "sprint",
            "state",
            "start",
            "committed",
            "committed pts",
            "added",
            "removed",
            "completed",
            "completed pts",
            "velocity",
        ),
        tuple(
            (
                str(name),
                str(state or ""),
                start.astimezone(UTC).strftime("%Y-%m-%d"),
                _num(ci),
                _num(cp),
                _num(a),
                _num(r),
                _num(ki),
                _num(kp),
                _num(v),
            )
            for name, state, start, ci, cp, a, r, ki, kp, v in rows
        ),
    )


def _status_rows(reader: _Reader) -> list[tuple[Any, ...]]:
    return reader.rows(
        "WITH stays AS ("
        "  SELECT from_status AS status, from_status_category AS category,"
        "         minutes_in_from_status AS minutes"
        "  FROM {s}.issue_status_transitions WHERE NOT is_initial),"
        " now_in AS ("
        "  SELECT status, count(*) AS n FROM {s}.issue_enhanced GROUP BY status)"
        " SELECT s.status, min(s.category), count(*),"
        "  CAST(avg(s.minutes) AS DOUBLE PRECISION),"
        "  CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY s.minutes) AS DOUBLE PRECISION),"
        "  min(coalesce(n.n, 0))"
        " FROM stays AS s LEFT JOIN now_in AS n ON n.status = s.status"
        " GROUP BY s.status ORDER BY CAST(avg(s.minutes) AS DOUBLE PRECISION) DESC, s.status"
    )


def _status_table(rows: Sequence[tuple[Any, ...]]) -> SummaryTable:
    return SummaryTable(
        "Time in status (completed stays)",
        ("status", "category", "stays", "avg (days)", "median (days)", "issues there now"),
        tuple(
            (str(s), str(c or ""), _num(n), _days(a), _days(m), _num(k))
            for s, c, n, a, m, k in rows
        ),
    )


def _no_data(ax: Axes, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _save(draw: Callable[[Figure], None], path: Path, *, left: float = 0.08) -> Path:
    # Fixed margins rather than a layout engine: constrained layout draws everything twice.
    fig = Figure(figsize=(9, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left, right=0.97, bottom=0.17, top=0.91)
    draw(fig)
    fig.savefig(path, format="png", metadata={"Software": "jirakit"})
    return path


def _velocity_chart(rows: Sequence[tuple[Any, ...]], path: Path) -> Path:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        if not rows:
            _no_data(ax, "Velocity per sprint")
            return
        names = [str(r[0]) for r in rows]
        committed = [float(r[4] or 0) for r in rows]
        completed = [float(r[8] or 0) for r in rows]
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], committed, width=0.4, label="committed", color="#8993a4")
        ax.bar([x + 0.2 for x in xs], completed, width=0.4, label="completed", color="#36b37e")
        ax.set_xticks(list(xs), names)
        ax.set_ylabel("story points")
        ax.set_title("Velocity per sprint")
        ax.legend()

    return _save(draw, path)


def _time_in_status_chart(rows: Sequence[tuple[Any, ...]], path: Path) -> Path:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        if not rows:
            _no_data(ax, "Average time in status")
            return
        ordered = list(reversed(rows))
        ax.barh(
            [str(r[0]) for r in ordered],
            [float(r[3] or 0) / 1440 for r in ordered],
            color=[_CATEGORY_COLORS.get(str(r[1]), "#6554c0") for r in ordered],
        )
        ax.set_xlabel("days (average per stay)")
        ax.set_title("Average time in status")

    return _save(draw, path, left=0.2)


def _cumulative_flow(reader: _Reader) -> FlowSeries:
    # Open categories come from the daily status rows; "done" is every issue created so far
    # that is not open that day, so the band stays right when daily_issue_field_history
    # stops resolved issues early (days_after_resolved).
    has_status = reader.rows(
        "SELECT count(*) FROM {s}.daily_issue_field_history WHERE field_key = 'status'"
    )[0][0]
    if not has_status:
        return FlowSeries(days=(), bands={})
    rows = reader.rows(
        "SELECT d.date_day, coalesce(s.category_key, 'unknown'), count(*)"
        " FROM {s}.daily_issue_field_history AS d"
        " LEFT JOIN {s}.statuses AS s ON CAST(s.id AS TEXT) = d.value"
        " WHERE d.field_key = 'status' AND coalesce(s.category_key, '') <> 'done'"
        " GROUP BY d.date_day, coalesce(s.category_key, 'unknown')"
    )
    created = reader.rows(
        "SELECT date_day, cumulative_created FROM {s}.created_vs_resolved_daily ORDER BY date_day"
    )
    open_counts: dict[str, dict[date, int]] = defaultdict(dict)
    for day, category, n in rows:
        open_counts[str(category)][day] = int(n)
    days = tuple(r[0] for r in created)
    categories = ["new", "indeterminate", *sorted(set(open_counts) - {"new", "indeterminate"})]
    bands = {c: tuple(open_counts[c].get(d, 0) for d in days) for c in categories}
    done = tuple(
        int(total) - sum(bands[c][i] for c in categories) for i, (_, total) in enumerate(created)
    )
    return FlowSeries(days=days, bands={"done": done, **bands})


def _cumulative_flow_chart(flow: FlowSeries, path: Path) -> Path:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        if not flow.days:
            _no_data(ax, "Cumulative flow")
            return
        # Done at the bottom, then the open categories, "new" on top.
        order = ["done", *reversed([c for c in flow.bands if c != "done"])]
        ax.stackplot(
            np.array(flow.days, dtype="datetime64[D]"),
            [flow.bands[c] for c in order],
            labels=[_CATEGORY_LABELS.get(c, c) for c in order],
            colors=[_CATEGORY_COLORS.get(c, "#6554c0") for c in order],
        )
        ax.set_ylabel("issues")
        ax.set_title("Cumulative flow (issues per status category)")
        ax.legend(loc="upper left")
        ax.tick_params(axis="x", labelrotation=30)

    return _save(draw, path)


def _created_vs_resolved_chart(reader: _Reader, path: Path) -> Path:
    rows = reader.rows(
        "SELECT date_day, cumulative_created, cumulative_resolved, cumulative_open"
        " FROM {s}.created_vs_resolved_daily ORDER BY date_day"
    )

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        if not rows:
            _no_data(ax, "Created vs resolved")
            return
        days = [r[0] for r in rows]
        ax.plot(days, [int(r[1]) for r in rows], label="created (total)", color="#de350b")
        ax.plot(days, [int(r[2]) for r in rows], label="resolved (total)", color="#36b37e")
        ax.fill_between(days, [int(r[3]) for r in rows], alpha=0.25, color="#0052cc", label="open")
        ax.set_ylabel("issues")
        ax.set_title("Created vs resolved")
        ax.legend(loc="upper left")
        ax.tick_params(axis="x", labelrotation=30)

    return _save(draw, path)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #172b4d; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #dfe1e6; padding: 0.3rem 0.6rem; }}
td {{ text-align: right; }} td:first-child {{ text-align: left; }}
th {{ background: #f4f5f7; }}
img {{ max-width: 100%; display: block; margin-bottom: 1.5rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Schema <code>{schema}</code> ({dialect}), generated {generated}.</p>
{tables}
{charts}
</body>
</html>
"""


def _write_html(
    path: Path,
    *,
    schema: str,
    dialect: str,
    tables: dict[str, SummaryTable],
    charts: dict[str, Path],
    generated: datetime,
) -> Path:
    chart_html = "\n".join(
        f"<h2>{html.escape(name.replace('_', ' ').capitalize())}</h2>\n"
        f'<img src="{html.escape(p.name)}" alt="{html.escape(name)} chart">'
        for name, p in charts.items()
    )
    page = _PAGE.format(
        title="Jira report",
        schema=html.escape(schema),
        dialect=html.escape(dialect),
        generated=html.escape(generated.strftime("%Y-%m-%d %H:%M UTC")),
        tables="\n".join(t.to_html() for t in tables.values()),
        charts=chart_html,
    )
    path.write_text(page, encoding="utf-8")
    return path


def build_report(
    conn: Connection, *, dialect: Dialect, schema: str = "jira", out_dir: Path
) -> ReportResult:
    """Read the model tables in ``schema`` and write the charts and ``index.html``.

    Raises `ReportError` when the model tables are missing. The returned tables are printed
    with `ReportResult.print` (the CLI does this).
    """
    if dialect not in ("duckdb", "postgres"):
        raise ValueError(f"unsupported dialect {dialect!r} (use 'duckdb' or 'postgres')")
    reader = _Reader(conn, dialect, schema)
    reader.check_tables()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    sprint_rows = _sprint_rows(reader)
    status_rows = _status_rows(reader)
    flow = _cumulative_flow(reader)
    tables = {
        "projects": _project_table(reader),
        "sprint_velocity": _sprint_table(sprint_rows),
        "time_in_status": _status_table(status_rows),
    }
    charts = {
        "velocity": _velocity_chart(sprint_rows, out_dir / "velocity.png"),
        "time_in_status": _time_in_status_chart(status_rows, out_dir / "time_in_status.png"),
        "cumulative_flow": _cumulative_flow_chart(flow, out_dir / "cumulative_flow.png"),
        "created_vs_resolved": _created_vs_resolved_chart(
            reader, out_dir / "created_vs_resolved.png"
        ),
    }
    generated = datetime.now(UTC)
    index = _write_html(
        out_dir / "index.html",
        schema=schema,
        dialect=dialect,
        tables=tables,
        charts=charts,
        generated=generated,
    )
    return ReportResult(
        tables=tables,
        charts=charts,
        index_html=index,
        cumulative_flow=flow,
        generated_at=generated,
    )
