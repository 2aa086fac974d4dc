"""`jirakit report`: summary tables, PNG charts and a static HTML page from the model tables.

Reads only the tables `jirakit.sync.models.run_models` builds (plus ``statuses`` and, for
sprints without a board, ``sprint_issues``), on DuckDB or PostgreSQL, and writes into
``out_dir``::

    velocity.png            committed vs completed per sprint, one panel per board
    time_in_status.png      average days per completed stay in each status that is not done
    cumulative_flow.png     issues per status category per day (daily_issue_field_history)
    created_vs_resolved.png running totals of created and resolved issues, and open issues
    index.html              the tables and the charts (relative links), each chart with a
                            one-line caption; no scripts

Charts are drawn with matplotlib's Agg canvas on `Figure` objects: no pyplot, no global
backend switch, safe in servers and threads. They use matplotlib's constrained layout
(about 80 ms a chart more than fixed margins) so that no label is clipped and no panel
runs into another; sprint names too wide for their slot are wrapped, then thinned, as
measured by the renderer after layout.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from rich import box
from rich.console import Console
from rich.table import Table

from jirakit.sync.models import Connection, Dialect, current_catalog, qualified_schema

__all__ = [
    "CHARTS",
    "CreatedResolved",
    "FlowSeries",
    "ReportError",
    "ReportResult",
    "StatusTime",
    "SummaryTable",
    "VelocityPanel",
    "build_report",
    "created_vs_resolved_figure",
    "cumulative_flow_figure",
    "time_in_status_figure",
    "velocity_figure",
]

CHARTS: tuple[str, ...] = ("velocity", "time_in_status", "cumulative_flow", "created_vs_resolved")
CHART_TITLES: dict[str, str] = {
    "velocity": "Velocity",
    "time_in_status": "Time in status",
    "cumulative_flow": "Cumulative flow",
    "created_vs_resolved": "Created vs resolved",
}
# Jira's own velocity chart shows the last seven sprints of a board.
VELOCITY_SPRINTS = 7
# Panels in the velocity chart (two columns); the boards with the latest sprints win.
VELOCITY_PANELS = 6

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
_CATEGORY_ORDER = {"new": 0, "indeterminate": 1, "done": 2}
_OTHER_COLOR = "#6554c0"
_COMMITTED_COLOR = "#8993a4"
_COMPLETED_COLOR = "#36b37e"
_WIDTH_IN = 9.0
_HEIGHT_IN = 4.8


class ReportError(RuntimeError):
    """The warehouse lacks what the report reads (e.g. the models were never run)."""


@dataclass(frozen=True, slots=True)
class SummaryTable:
    """One summary table: plain strings, rendered both as a rich Table and as HTML.

    ``numeric`` says, per column, whether it holds numbers: those are right-aligned, text
    columns left-aligned, in the terminal and in the HTML (``class="num"`` / ``"text"``).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]

    def __post_init__(self) -> None:
        if len(self.numeric) != len(self.columns):
            raise ValueError(f"{self.title}: one numeric flag per column")

    def to_rich(self) -> Table:
        # Light borders leave the values more room in a narrow terminal.
        table = Table(
            title=self.title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
        )
        for name, numeric in zip(self.columns, self.numeric, strict=True):
            table.add_column(name, justify="right" if numeric else "left")
        for row in self.rows:
            table.add_row(*row)
        return table

    def to_html(self) -> str:
        kinds = ["num" if n else "text" for n in self.numeric]
        head = "".join(
            f'<th class="{k}">{html.escape(c)}</th>'
            for c, k in zip(self.columns, kinds, strict=True)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="{k}">{html.escape(v)}</td>' for v, k in zip(row, kinds, strict=True)
            )
            + "</tr>\n"
            for row in self.rows
        )
        return (
            f"<h2>{html.escape(self.title)}</h2>\n"
            f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"
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
class VelocityPanel:
    """One board's last started sprints (the velocity chart's data, one panel each).

    Sprints whose board is unknown are grouped by the project most of their issues are in
    (``label`` is then ``"Project KEY"``). ``unit`` is ``"story points"``, or ``"issues"``
    for a board whose sprints carry no story points (the counts are then issue counts).
    ``active`` marks sprints still running: their completed figure is so far.
    """

    label: str
    unit: str
    sprints: tuple[str, ...]
    committed: tuple[float, ...]
    completed: tuple[float, ...]
    active: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class StatusTime:
    """Completed stays in one status: how many, average and median minutes, and how many
    issues are in the status now. ``category`` is the status category key (None when the
    status is missing from ``statuses``)."""

    status: str
    category: str | None
    stays: int
    avg_minutes: float | None
    median_minutes: float | None
    issues_now: int

    @property
    def is_done(self) -> bool:
        return self.category == "done"


@dataclass(frozen=True, slots=True)
class CreatedResolved:
    """Running totals per day: issues created, resolved, and open at the end of the day."""

    days: tuple[date, ...]
    created: tuple[int, ...]
    resolved: tuple[int, ...]
    open: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What `build_report` produced: the tables, the charts (files, data and captions) and
    the HTML page. `figure` draws a chart again from its data."""

    tables: dict[str, SummaryTable]
    charts: dict[str, Path]
    index_html: Path
    cumulative_flow: FlowSeries
    velocity: tuple[VelocityPanel, ...] = ()
    velocity_boards: int = 0  # boards (or projects) with started sprints, shown or not
    time_in_status: tuple[StatusTime, ...] = ()
    created_vs_resolved: CreatedResolved = CreatedResolved((), (), (), ())
    captions: dict[str, str] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def rich_tables(self) -> list[Table]:
        return [t.to_rich() for t in self.tables.values()]

    def figure(self, name: str) -> Figure:
        """The chart ``name`` (one of `CHARTS`) as a matplotlib `Figure`."""
        if name == "velocity":
            return velocity_figure(self.velocity)
        if name == "time_in_status":
            return time_in_status_figure(self.time_in_status)
        if name == "cumulative_flow":
            return cumulative_flow_figure(self.cumulative_flow)
        if name == "created_vs_resolved":
            return created_vs_resolved_figure(self.created_vs_resolved)
        raise KeyError(f"no chart {name!r}; the charts are {', '.join(CHARTS)}")

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


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


class _Reader:
    def __init__(self, conn: Connection, dialect: Dialect, schema: str) -> None:
        self.conn = conn
        self.catalog = current_catalog(conn, dialect)
        self.schema = qualified_schema(schema, self.catalog)
        self.raw_schema = schema
        self.present: set[str] = set()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        result = self.conn.execute(sql.replace("{s}", self.schema)).fetchall()
        return [tuple(r) for r in result]

    def check_tables(self) -> None:
        def literal(text: str) -> str:
            return "'" + text.replace("'", "''") + "'"

        where = f"table_schema = {literal(self.raw_schema)}"
        if self.catalog is not None:
            where += f" AND table_catalog = {literal(self.catalog)}"
        self.present = {
            str(r[0])
            for r in self.rows(f"SELECT table_name FROM information_schema.tables WHERE {where}")
        }
        missing = [t for t in _REQUIRED if t not in self.present]
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
        numeric=(False, False, True, True, True, True, True, True),
    )


# -- velocity ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sprint:
    name: str
    state: str
    start: datetime
    group: tuple[str, Any]
    committed_issues: int | None
    committed_points: float | None
    added: int | None
    removed: int | None
    completed_issues: int | None
    completed_points: float | None


def _sprint_projects(reader: _Reader) -> dict[int, str]:
    """For each sprint, the project most of its current issues are in (ties: first key)."""
    if "sprint_issues" not in reader.present:
        return {}
    rows = reader.rows(
        "SELECT si.sprint_id, e.project_key, count(*)"
        " FROM {s}.sprint_issues AS si JOIN {s}.issue_enhanced AS e ON e.issue_id = si.issue_id"
        " GROUP BY si.sprint_id, e.project_key"
    )
    best: dict[int, tuple[int, str]] = {}
    for sprint_id, key, n in rows:
        if key is None:
            continue
        seen = best.get(int(sprint_id))
        if seen is None or (-int(n), str(key)) < (-seen[0], seen[1]):
            best[int(sprint_id)] = (int(n), str(key))
    return {sprint_id: key for sprint_id, (_, key) in best.items()}


def _sprints(reader: _Reader) -> tuple[list[_Sprint], dict[tuple[str, Any], str]]:
    """Started sprints in start order, and a label for each board (or project) group."""
    rows = reader.rows(
        "SELECT s.sprint_id, s.sprint_name, s.state, s.start_at, s.board_id, s.board_name,"
        " s.committed_issue_count, s.committed_story_points, s.added_issue_count,"
        " s.removed_issue_count, s.completed_issue_count, s.completed_story_points"
        " FROM {s}.sprint_enhanced AS s WHERE s.start_at IS NOT NULL"
        " ORDER BY s.start_at, s.sprint_id"
    )
    projects = _sprint_projects(reader) if any(r[4] is None for r in rows) else {}
    labels: dict[tuple[str, Any], str] = {}
    sprints: list[_Sprint] = []
    for sid, name, state, start, board_id, board_name, ci, cp, a, r, ki, kp in rows:
        group: tuple[str, Any]
        if board_id is not None:
            group = ("board", int(board_id))
            labels[group] = str(board_name or f"Board {board_id}")
        elif int(sid) in projects:
            group = ("project", projects[int(sid)])
            labels[group] = f"Project {projects[int(sid)]}"
        else:
            group = ("none", None)
            labels[group] = "No board"
        sprints.append(_Sprint(str(name), str(state or ""), start, group, ci, cp, a, r, ki, kp))
    # Two boards of the same name: tell them apart by id.
    by_label: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for group, label in labels.items():
        by_label[label].append(group)
    for label, groups in by_label.items():
        if len(groups) > 1:
            for group in groups:
                if group[0] == "board":
                    labels[group] = f"{label} (board {group[1]})"
    return sprints, labels


def _sprint_table(sprints: Sequence[_Sprint], labels: dict[tuple[str, Any], str]) -> SummaryTable:
    ordered = sorted(sprints, key=lambda s: (labels[s.group], s.start))
    return SummaryTable(
        "Sprint velocity",
        (
            "board",
            "sprint",
            "state",
            "start",
            "committed",
            "committed pts",
            "added",
            "removed",
            "completed",
            "completed pts",
        ),
        tuple(
            (
                labels[s.group],
                s.name,
                s.state,
                s.start.astimezone(UTC).strftime("%Y-%m-%d"),
                _num(s.committed_issues),
                _num(s.committed_points),
                _num(s.added),
                _num(s.removed),
                _num(s.completed_issues),
                _num(s.completed_points),
            )
            for s in ordered
        ),
        numeric=(False, False, False, False, True, True, True, True, True, True),
    )


def _velocity_panels(
    sprints: Sequence[_Sprint], labels: dict[tuple[str, Any], str]
) -> tuple[VelocityPanel, ...]:
    """The boards with the latest sprints (at most `VELOCITY_PANELS`), by label, each with
    its last `VELOCITY_SPRINTS` started sprints."""
    groups: dict[tuple[str, Any], list[_Sprint]] = defaultdict(list)
    for sprint in sprints:  # in start order
        groups[sprint.group].append(sprint)
    recent = sorted(groups, key=lambda g: (-groups[g][-1].start.timestamp(), labels[g]))
    chosen = sorted(recent[:VELOCITY_PANELS], key=lambda g: labels[g])
    panels = []
    for group in chosen:
        last = groups[group][-VELOCITY_SPRINTS:]
        points = any((s.committed_points or 0) or (s.completed_points or 0) for s in last)
        panels.append(
            VelocityPanel(
                label=labels[group],
                unit="story points" if points else "issues",
                sprints=tuple(s.name for s in last),
                committed=tuple(
                    float((s.committed_points if points else s.committed_issues) or 0) for s in last
                ),
                completed=tuple(
                    float((s.completed_points if points else s.completed_issues) or 0) for s in last
                ),
                active=tuple(s.state == "active" for s in last),
            )
        )
    return tuple(panels)


def _figure(height: float = _HEIGHT_IN) -> Figure:
    fig = Figure(figsize=(_WIDTH_IN, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax: Axes, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _fit_tick_labels(fig: Figure, axes: Sequence[Axes], pad: float = 8.0) -> None:
    """Make the x tick labels of ``axes`` (one tick per unit) fit their slots.

    After a layout pass, a label wider than the distance between ticks is wrapped onto two
    lines at spaces (words are not broken; the rest is elided); if neighbours still
    overlap, every second (third, ...) label is left blank, always keeping the last one.
    """
    # Text extents below come from the renderer of this draw (the figure keeps it).
    fig.draw_without_rendering()
    texts = {ax: [t.get_text() for t in ax.get_xticklabels()] for ax in axes}
    for ax in axes:
        labels = ax.get_xticklabels()
        if len(labels) < 2:
            continue
        slot = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
        wrapped = []
        for label, text in zip(labels, texts[ax], strict=True):
            width = label.get_window_extent().width
            if width + pad > slot and len(text) > 1:
                chars = max(3, int(len(text) * (slot - pad) / width))
                text = textwrap.fill(
                    text,
                    chars,
                    max_lines=2,
                    placeholder=" …",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            wrapped.append(text)
        texts[ax] = wrapped
        ax.set_xticks(list(ax.get_xticks()), wrapped)
    fig.draw_without_rendering()
    for ax in axes:
        boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
        n = len(boxes)

        def fits(step: int, boxes: list[Any] = boxes, n: int = n) -> bool:
            kept = [i for i in range(n) if (n - 1 - i) % step == 0]
            return all(boxes[a].x1 + pad <= boxes[b].x0 for a, b in pairwise(kept))

        step = next((k for k in range(1, n) if fits(k)), max(n, 1))
        if step > 1:
            shown = [t if (n - 1 - i) % step == 0 else "" for i, t in enumerate(texts[ax])]
            ax.set_xticks(list(ax.get_xticks()), shown)


def _common_words(names: Sequence[str]) -> tuple[str, list[str]]:
    """The leading words all ``names`` share (each keeps at least one word of its own),
    and what is left of each: ``ENG Sprint 1``, ``ENG Sprint 2`` -> ``ENG Sprint``, 1, 2."""
    words = [name.split() for name in names]
    if len(words) < 2 or not all(words):
        return "", list(names)
    shared = 0
    while all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
        shared += 1
    if not shared:
        return "", list(names)
    return " ".join(words[0][:shared]), [" ".join(w[shared:]) for w in words]


def _velocity_panel(ax: Axes, panel: VelocityPanel) -> None:
    xs = np.arange(len(panel.sprints))
    ax.bar(xs - 0.2, panel.committed, width=0.4, color=_COMMITTED_COLOR)
    bars = ax.bar(xs + 0.2, panel.completed, width=0.4, color=_COMPLETED_COLOR)
    for bar, active in zip(bars, panel.active, strict=True):
        if active:
            bar.set_hatch("///")
            bar.set_edgecolor("white")
            bar.set_linewidth(0)
    prefix, names = _common_words(panel.sprints)
    ax.set_xticks(list(xs), [_shorten(s, 40) for s in names])
    if prefix:  # said once, under the sprints, rather than in every label
        ax.set_xlabel(_shorten(prefix, 60) + " …", fontsize=8)
    ax.tick_params(axis="x", labelsize=8, length=0)
    ax.set_xlim(-0.6, max(len(xs), 3) - 0.4)
    ax.set_title(_shorten(panel.label, 48), loc="left", fontsize=10)
    ax.set_ylabel(panel.unit)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color="#dfe1e6")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def velocity_figure(panels: Sequence[VelocityPanel]) -> Figure:
    """Committed vs completed per sprint: one panel per board, two panels a row."""
    columns = 1 if len(panels) <= 1 else 2
    rows = max(1, math.ceil(len(panels) / columns))
    fig = _figure(max(_HEIGHT_IN, 1.2 + 2.8 * rows))
    if not panels:
        _no_data(fig.add_subplot(), "Velocity per sprint")
        return fig
    grid = fig.subplots(rows, columns, squeeze=False)
    axes: list[Axes] = list(grid.flat)
    for ax, panel in zip(axes, panels, strict=False):
        _velocity_panel(ax, panel)
    for ax in axes[len(panels) :]:
        fig.delaxes(ax)
    axes = axes[: len(panels)]
    fig.suptitle("Velocity: committed vs completed per sprint")
    # Below the panels: at the top, matplotlib's layout places the legend over the title.
    handles = [
        Patch(color=_COMMITTED_COLOR, label="committed at start"),
        Patch(color=_COMPLETED_COLOR, label="completed"),
    ]
    if any(any(p.active) for p in panels):
        handles.append(
            Patch(
                facecolor=_COMPLETED_COLOR,
                edgecolor="white",
                hatch="///",
                linewidth=0,
                label="completed so far (active sprint)",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    _fit_tick_labels(fig, axes)
    return fig


# -- time in status ---------------------------------------------------------------------


def _status_times(reader: _Reader) -> tuple[StatusTime, ...]:
    rows = reader.rows(
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
    return tuple(
        StatusTime(
            str(s),
            None if c is None else str(c),
            int(n),
            None if a is None else float(a),
            None if m is None else float(m),
            int(k),
        )
        for s, c, n, a, m, k in rows
    )


def _status_tables(statuses: Sequence[StatusTime]) -> dict[str, SummaryTable]:
    """The open statuses' table, and the done statuses' one apart (only when there are
    done stays: an issue leaves a done status only when reopened)."""
    tables = {
        "time_in_status": SummaryTable(
            "Time in status (completed stays; done statuses apart)",
            ("status", "category", "stays", "avg (days)", "median (days)", "issues there now"),
            tuple(
                (
                    s.status,
                    s.category or "",
                    _num(s.stays),
                    _days(s.avg_minutes),
                    _days(s.median_minutes),
                    _num(s.issues_now),
                )
                for s in statuses
                if not s.is_done
            ),
            numeric=(False, False, True, True, True, True),
        )
    }
    done = [s for s in statuses if s.is_done]
    if done:
        tables["time_in_done_status"] = SummaryTable(
            "Time in done statuses (stays ended by a reopen)",
            ("status", "reopened stays", "avg (days)", "median (days)", "issues there now"),
            tuple(
                (
                    s.status,
                    _num(s.stays),
                    _days(s.avg_minutes),
                    _days(s.median_minutes),
                    _num(s.issues_now),
                )
                for s in done
            ),
            numeric=(False, True, True, True, True),
        )
    return tables


def time_in_status_figure(statuses: Sequence[StatusTime]) -> Figure:
    """Average days per completed stay in each status that is not in the done category."""
    shown = sorted(
        (s for s in statuses if not s.is_done and s.avg_minutes is not None),
        key=lambda s: (-(s.avg_minutes or 0.0), s.status),
    )
    fig = _figure(max(_HEIGHT_IN, 1.4 + 0.34 * len(shown)))
    ax = fig.add_subplot()
    title = "Average time in status (done statuses left out)"
    if not shown:
        _no_data(ax, title)
        return fig
    days = [(s.avg_minutes or 0.0) / 1440 for s in shown]
    ys = np.arange(len(shown))
    bars = ax.barh(
        ys,
        days,
        color=[_CATEGORY_COLORS.get(s.category or "", _OTHER_COLOR) for s in shown],
    )
    ax.set_yticks(list(ys), [_shorten(s.status, 32) for s in shown])
    ax.invert_yaxis()  # the longest stay on top
    ax.bar_label(bars, labels=[f"{d:.1f} d" for d in days], padding=3, fontsize=8)
    ax.margins(x=0.1)
    ax.set_xlabel("days (average per completed stay)")
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    categories = list(dict.fromkeys(s.category or "" for s in shown))
    fig.legend(
        handles=[
            Patch(
                color=_CATEGORY_COLORS.get(c, _OTHER_COLOR),
                label=_CATEGORY_LABELS.get(c, "unknown category"),
            )
            for c in sorted(categories, key=lambda c: (_CATEGORY_ORDER.get(c, 3), c))
        ],
        loc="outside right upper",
        frameon=False,
    )
    return fig


# -- cumulative flow, created vs resolved -----------------------------------------------


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


def _date_axis(ax: Axes, days: Sequence[date]) -> None:
    # Concise dates ("Jul", "Sep", "2026") need no rotation to stay apart. matplotlib's
    # stubs leave these two constructors untyped.
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    span = np.array([days[0], days[-1]], dtype="datetime64[D]")
    ax.set_xlim(span[0], span[1])
    ax.spines[["top", "right"]].set_visible(False)


def cumulative_flow_figure(flow: FlowSeries) -> Figure:
    """Issues per status category per day, stacked: done at the bottom, "To Do" on top."""
    fig = _figure()
    ax = fig.add_subplot()
    if not flow.days:
        _no_data(ax, "Cumulative flow")
        return fig
    order = ["done", *reversed([c for c in flow.bands if c != "done"])]
    ax.stackplot(
        np.array(flow.days, dtype="datetime64[D]"),
        [flow.bands[c] for c in order],
        labels=[_CATEGORY_LABELS.get(c, c) for c in order],
        colors=[_CATEGORY_COLORS.get(c, _OTHER_COLOR) for c in order],
    )
    _date_axis(ax, flow.days)
    ax.set_ylabel("issues")
    ax.set_title("Cumulative flow (issues per status category)")
    # The legend lists the bands top to bottom, as they are stacked.
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left")
    return fig


def _created_vs_resolved(reader: _Reader) -> CreatedResolved:
    rows = reader.rows(
        "SELECT date_day, cumulative_created, cumulative_resolved, cumulative_open"
        " FROM {s}.created_vs_resolved_daily ORDER BY date_day"
    )
    return CreatedResolved(
        days=tuple(r[0] for r in rows),
        created=tuple(int(r[1]) for r in rows),
        resolved=tuple(int(r[2]) for r in rows),
        open=tuple(int(r[3]) for r in rows),
    )


def created_vs_resolved_figure(data: CreatedResolved) -> Figure:
    """Running totals of created and resolved issues, and the open issues, per day."""
    fig = _figure()
    ax = fig.add_subplot()
    if not data.days:
        _no_data(ax, "Created vs resolved")
        return fig
    days = np.array(data.days, dtype="datetime64[D]")
    ax.plot(days, data.created, label="created (total)", color="#de350b")
    ax.plot(days, data.resolved, label="resolved (total)", color="#36b37e")
    ax.fill_between(days, data.open, alpha=0.25, color="#0052cc", label="open")
    _date_axis(ax, data.days)
    ax.set_ylabel("issues")
    ax.set_title("Created vs resolved")
    ax.legend(loc="upper left")
    return fig


# -- captions and the page --------------------------------------------------------------


def _captions(panels: Sequence[VelocityPanel], boards: int) -> dict[str, str]:
    if not panels:
        velocity = "Committed vs completed story points per sprint: no sprint has started yet."
    else:
        which = "each board" if boards <= len(panels) else f"{len(panels)} of {boards} boards"
        units = {p.unit for p in panels}
        what = (
            "Story points"
            if units == {"story points"}
            else "Issues"
            if units == {"issues"}
            else "Story points (issues where a board has no estimates)"
        )
        running = "; hatched: sprint still running" if any(any(p.active) for p in panels) else ""
        velocity = (
            f"{what} committed at each sprint's start vs completed by its end, last "
            f"{VELOCITY_SPRINTS} started sprints of {which}{running}."
        )
    return {
        "velocity": velocity,
        "time_in_status": (
            "Average days an issue spent in each status before moving on; done statuses "
            "are left out, as issues stay there until reopened (see the tables)."
        ),
        "cumulative_flow": (
            "Issues in each status category at the end of each day: done at the bottom, "
            "in progress, then to do on top."
        ),
        "created_vs_resolved": (
            "Running totals of issues created and resolved, with the issues still open "
            "on each day shaded."
        ),
    }


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #172b4d; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #dfe1e6; padding: 0.3rem 0.6rem; text-align: left; }}
th {{ background: #f4f5f7; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 0 0 2rem; }}
figure img {{ max-width: 100%; height: auto; display: block; }}
figcaption {{ color: #5e6c84; margin-top: 0.4rem; }}
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
    captions: dict[str, str],
    generated: datetime,
) -> Path:
    chart_html = "\n".join(
        f"<h2>{html.escape(CHART_TITLES[name])}</h2>\n"
        f'<figure id="{name}">\n'
        f'<img src="{html.escape(p.name)}" alt="{html.escape(CHART_TITLES[name])} chart">\n'
        f"<figcaption>{html.escape(captions[name])}</figcaption>\n"
        "</figure>"
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


def _save(draw: Callable[[], Figure], path: Path) -> Path:
    draw().savefig(path, format="png", metadata={"Software": "jirakit"})
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

    sprints, labels = _sprints(reader)
    panels = _velocity_panels(sprints, labels)
    boards = len({s.group for s in sprints})
    statuses = _status_times(reader)
    flow = _cumulative_flow(reader)
    created = _created_vs_resolved(reader)
    tables = {
        "projects": _project_table(reader),
        "sprint_velocity": _sprint_table(sprints, labels),
        **_status_tables(statuses),
    }
    charts = {
        "velocity": _save(lambda: velocity_figure(panels), out_dir / "velocity.png"),
        "time_in_status": _save(
            lambda: time_in_status_figure(statuses), out_dir / "time_in_status.png"
        ),
        "cumulative_flow": _save(
            lambda: cumulative_flow_figure(flow), out_dir / "cumulative_flow.png"
        ),
        "created_vs_resolved": _save(
            lambda: created_vs_resolved_figure(created), out_dir / "created_vs_resolved.png"
        ),
    }
    captions = _captions(panels, boards)
    generated = datetime.now(UTC)
    index = _write_html(
        out_dir / "index.html",
        schema=schema,
        dialect=dialect,
        tables=tables,
        charts=charts,
        captions=captions,
        generated=generated,
    )
    return ReportResult(
        tables=tables,
        charts=charts,
        index_html=index,
        cumulative_flow=flow,
        velocity=panels,
        velocity_boards=boards,
        time_in_status=statuses,
        created_vs_resolved=created,
        captions=captions,
        generated_at=generated,
    )
