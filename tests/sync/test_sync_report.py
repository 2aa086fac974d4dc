"""`build_report` on the hand-made dataset: tables, PNG charts and the HTML page, and what
makes them readable (one panel per board, no overlapping text, done statuses apart,
aligned columns, a caption under each chart)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from rich.console import Console

from jirakit.sync.models import run_models
from jirakit.sync.report import (
    CHARTS,
    VELOCITY_SPRINTS,
    ReportError,
    StatusTime,
    VelocityPanel,
    build_report,
    time_in_status_figure,
    velocity_figure,
)

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # the dataset's "now" (see conftest.py)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIALECTS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def report(modelled: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The report of the dataset with its models built (conftest `modelled`), per dialect."""
    out = tmp_path_factory.mktemp(f"report-{modelled.dialect}") / "out"
    return build_report(
        modelled.conn, dialect=modelled.dialect, schema=modelled.schema, out_dir=out
    )


# -- helpers: what a figure draws, what a page says ---------------------------------------


def drawn_texts(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every non-empty text the figure draws, with its extent in pixels (Agg renderer).

    Tick labels count only for the ticks drawn: those the locator placed within the view.
    """
    fig.canvas.draw()
    skipped: set[int] = set()
    for ax in fig.axes:
        for axis, view in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = sorted(view)
            locs = list(axis.get_majorticklocs())
            ticks = axis.get_major_ticks(len(locs))
            for tick in [*axis.majorTicks, *axis.minorTicks]:
                drawn = tick in ticks and lo - 1e-9 <= tick.get_loc() <= hi + 1e-9
                if not drawn:
                    skipped.update({id(tick.label1), id(tick.label2)})
    texts = []
    for text in fig.findobj(Text):
        if id(text) in skipped or not text.get_visible() or not text.get_text().strip():
            continue
        texts.append((text.get_text(), text.get_window_extent()))
    return texts


def assert_no_overlaps(fig: Figure) -> list[tuple[str, Bbox]]:
    texts = drawn_texts(fig)
    box = fig.bbox
    for label, extent in texts:
        assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, f"{label!r} is clipped"
        assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, f"{label!r} is clipped"
    for i, (a, ea) in enumerate(texts):
        for b, eb in texts[i + 1 :]:
            width = min(ea.x1, eb.x1) - max(ea.x0, eb.x0)
            height = min(ea.y1, eb.y1) - max(ea.y0, eb.y0)
            assert width <= 0.5 or height <= 0.5, f"{a!r} overlaps {b!r}"
    return texts


def bar_axes(fig: Figure) -> list[Any]:
    return [ax for ax in fig.axes if ax.get_visible() and ax.containers]


def tick_texts(labels: list[Text]) -> list[str]:
    return [t.get_text() for t in labels]


class Page(HTMLParser):
    """The parts of the report page the tests read: tables, figures and the stylesheet."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self.figures: list[dict[str, Any]] = []
        self.style = ""
        self._cell: list[Any] | None = None
        self._row: list[tuple[str, str, str]] | None = None
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = [tag, a.get("class") or "", ""]
        elif tag == "figure":
            self.figures.append({"id": a.get("id"), "imgs": [], "captions": []})
        elif tag == "img" and self.figures:
            self.figures[-1]["imgs"].append(a.get("src"))
        elif tag in ("figcaption", "style"):
            self._in = tag
            if tag == "figcaption":
                self.figures[-1]["captions"].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append((self._cell[0], self._cell[1], self._cell[2]))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[-1]
            if all(c[0] == "th" for c in self._row):
                table["head"] = self._row
            else:
                table["rows"].append(self._row)
            self._row = None
        elif tag in ("figcaption", "style"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[2] += data
        elif self._in == "figcaption":
            self.figures[-1]["captions"][-1] += data
        elif self._in == "style":
            self.style += data

    def alignment(self, tag: str, cls: str) -> str:
        """The text-align the stylesheet gives a <tag class=cls> cell (CSS specificity:
        a class beats a tag, a later rule beats an earlier one of the same weight)."""
        best = (0, -1, "start")  # browsers' default
        for order, (selectors, body) in enumerate(re.findall(r"([^{}]+)\{([^}]*)\}", self.style)):
            found = re.search(r"text-align:\s*([a-z]+)", body)
            if not found:
                continue
            for selector in (s.strip() for s in selectors.split(",")):
                weight = {tag: 1, f".{cls}": 10, f"{tag}.{cls}": 11}.get(selector, 0)
                if weight and (weight, order) > best[:2]:
                    best = (weight, order, found.group(1))
        return best[2]


# -- the files ------------------------------------------------------------------------------


def test_charts_are_png_files_linked_from_the_page(report: Any):
    out = report.index_html.parent
    assert out.name == "out" and out.is_dir()
    assert list(report.charts) == list(CHARTS)
    for name, path in report.charts.items():
        assert path.parent == out and path.name == f"{name}.png"
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000
        # The IHDR chunk: 9 inches at 100 dpi wide, at least 4.8 inches high.
        assert int.from_bytes(data[16:20], "big") == 900
        assert int.from_bytes(data[20:24], "big") >= 480
    page = report.index_html.read_text()
    assert report.index_html.name == "index.html"
    assert re.findall(r'<img src="([^"]+)"', page) == [f"{c}.png" for c in CHARTS]
    assert "<script" not in page
    for table in report.tables.values():
        assert f"<h2>{table.title}</h2>" in page


def test_summary_tables(report: Any):
    projects = report.tables["projects"]
    assert projects.rows == (
        ("ALPHA", "Alpha", "5", "3", "2", "6.5", "6.5", "5"),
        ("BETA", "Beta", "4", "1", "3", "4.7", "3.0", "3"),
        ("EMPTY", "Empty", "0", "0", "0", "-", "-", "0"),
    )
    velocity = report.tables["sprint_velocity"]
    assert velocity.columns[:2] == ("board", "sprint")
    assert [(r[0], r[1], r[4], r[5], r[9]) for r in velocity.rows] == [
        ("Alpha board", "S1", "3", "16.0", "5.0"),
        ("Alpha board", "S2", "2", "6.0", "0.0"),
    ]
    status = {r[0]: r for r in report.tables["time_in_status"].rows}
    # Stays ended in To Do: A-1 1d, A-2 2d, A-3 9d, A-6 1d, B-1 1d, B-2 3d, B-3 10d.
    assert status["To Do"][1:5] == ("new", "7", f"{27 / 7:.1f}", "2.0")
    # In Progress: A-1 3d, A-2 3d, A-6 1.25d.
    assert status["In Progress"][2:4] == ("3", f"{7.25 / 3:.1f}")
    # Done stays (A-2's 3 days before the reopen) are in a table of their own.
    assert "Done" not in status
    assert report.tables["time_in_done_status"].rows == (("Done", "1", "3.0", "3.0", "5"),)

    console = Console(record=True, width=160)
    report.print(console)
    text = console.export_text()
    assert "Projects" in text and "Sprint velocity" in text and "index.html" in text
    assert "Time in done statuses" in text


def test_html_text_columns_left_and_numbers_right(report: Any):
    page = Page(report.index_html.read_text())
    assert len(page.tables) == len(report.tables)
    text_columns = {
        "projects": ["project", "name"],
        "sprint_velocity": ["board", "sprint", "state", "start"],
        "time_in_status": ["status", "category"],
        "time_in_done_status": ["status"],
    }
    for (key, table), parsed in zip(report.tables.items(), page.tables, strict=True):
        assert [c[2] for c in parsed["head"]] == list(table.columns)
        assert len(parsed["rows"]) == len(table.rows) > 0
        for i, column in enumerate(table.columns):
            side = "left" if column in text_columns[key] else "right"
            head = parsed["head"][i]
            assert page.alignment(head[0], head[1]) == side, (key, column)
            for row in parsed["rows"]:
                tag, cls, value = row[i]
                assert page.alignment(tag, cls) == side, (key, column, value)
                if side == "right":
                    assert value == "-" or re.fullmatch(r"-?\d+(\.\d+)?", value), value
    # A text value that looks like nothing numeric is still left-aligned: the names.
    names = [r[1][2] for r in page.tables[0]["rows"]]
    assert names == ["Alpha", "Beta", "Empty"]


def test_each_chart_has_a_one_line_caption(report: Any):
    page = Page(report.index_html.read_text())
    assert [f["id"] for f in page.figures] == list(CHARTS)
    for figure in page.figures:
        assert figure["imgs"] == [f"{figure['id']}.png"]
        (caption,) = figure["captions"]
        assert caption == report.captions[figure["id"]]
        assert "\n" not in caption and 30 < len(caption) <= 200 and caption.endswith(".")
    assert report.captions["velocity"].startswith("Story points committed")
    assert "each board" in report.captions["velocity"]
    assert "hatched" in report.captions["velocity"]  # S2 is still running
    assert "done statuses are left out" in report.captions["time_in_status"]


def test_missing_models_are_reported(make_warehouse: Any, tmp_path: Path):
    wh = make_warehouse("duckdb")
    with pytest.raises(ReportError, match="run_models"):
        build_report(wh.conn, dialect="duckdb", schema=wh.schema, out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


# -- velocity -------------------------------------------------------------------------------


def test_velocity_one_panel_per_board_committed_vs_completed(report: Any):
    assert report.velocity == (
        VelocityPanel(
            label="Alpha board",
            unit="story points",
            sprints=("S1", "S2"),
            committed=(16.0, 6.0),
            completed=(5.0, 0.0),
            active=(False, True),
        ),
    )
    fig = report.figure("velocity")
    (ax,) = bar_axes(fig)
    assert ax.get_title(loc="left") == "Alpha board"
    committed, completed = ax.containers
    assert isinstance(committed, BarContainer) and isinstance(completed, BarContainer)
    assert [b.get_height() for b in committed] == [16.0, 6.0]
    assert [b.get_height() for b in completed] == [5.0, 0.0]
    assert [b.get_hatch() for b in completed] == [None, "///"]  # S2 is still running
    assert tick_texts(ax.get_xticklabels()) == ["S1", "S2"]
    assert ax.get_ylabel() == "story points"
    (legend,) = fig.legends
    assert tick_texts(legend.get_texts()) == [
        "committed at start",
        "completed",
        "completed so far (active sprint)",
    ]
    assert_no_overlaps(fig)


def _issue(issue_id: int, key: str, status: int, created: str, **extra: Any) -> dict[str, Any]:
    names = {1: ("To Do", "new"), 3: ("In Progress", "indeterminate"), 5: ("Done", "done")}
    at = datetime.fromisoformat(created).replace(tzinfo=UTC)
    return {
        "id": issue_id,
        "key": key,
        "project_id": {"ALPHA": 100, "BETA": 200}[key.split("-")[0]],
        "project_key": key.split("-")[0],
        "issue_type": "Story",
        "status": names[status][0],
        "status_id": status,
        "status_category": names[status][1],
        "summary": key,
        "labels": [],
        "sprint_ids": [],
        "created_at": at,
        "updated_at": at,
        "is_deleted": False,
        "raw": {"key": key},
        **extra,
    }


def _change(issue_id: int, history_id: int, field: str, frm: Any, to: Any, at: str):
    field_id = "customfield_10020" if field == "Sprint" else field
    return {
        "issue_id": issue_id,
        "history_id": history_id,
        "item_index": 0,
        "field_id": field_id,
        "field": field,
        "field_type": "jira",
        "from_value": None if frm is None else str(frm),
        "to_value": None if to is None else str(to),
        "author_id": "u-alice",
        "changed_at": datetime.fromisoformat(at).replace(tzinfo=UTC),
    }


def _add_boards(wh: Any) -> None:
    """Seven more boards of nine sprints each, long sprint names, and two sprints without
    a board whose issues are in BETA (one committed and completed, one committed only)."""
    wh.insert(
        "boards",
        [
            {"id": b, "name": f"Board {b}: platform infrastructure", "type": "scrum"}
            for b in range(2, 9)
        ],
    )
    sprints = []
    for b in range(2, 9):
        for k in range(9):
            start = datetime(2025, 5, 1, 9, tzinfo=UTC) + timedelta(days=14 * k + b)
            end = start + timedelta(days=14)
            sprints.append(
                {
                    "id": b * 100 + k,
                    "board_id": b,
                    "name": f"Platform Team Sprint {k + 1} ({start:%b %d} to {end:%b %d})",
                    "state": "active" if k == 8 else "closed",
                    "start_at": start,
                    "end_at": end,
                    "complete_at": None if k == 8 else end,
                }
            )
    t = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    sprints += [
        {
            "id": 1000,
            "name": "Beta week 6",
            "state": "closed",
            "start_at": t("2026-02-10 09:00"),
            "end_at": t("2026-02-20 09:00"),
            "complete_at": t("2026-02-20 09:00"),
        },
        {
            "id": 1001,
            "name": "Beta week 9",
            "state": "closed",
            "start_at": t("2026-03-01 06:00"),
            "end_at": t("2026-03-05 09:00"),
            "complete_at": t("2026-03-05 09:00"),
        },
    ]
    wh.insert("sprints", sprints)
    wh.insert(
        "sprint_issues", [{"sprint_id": 1000, "issue_id": 14}, {"sprint_id": 1001, "issue_id": 11}]
    )
    wh.insert(
        "issue_field_history",
        [
            # BETA-4 (open) into Beta week 6 before it starts; BETA-1 (done 03-02) into week 9.
            _change(14, 14001, "Sprint", None, 1000, "2026-02-05 00:00"),
            _change(11, 11002, "Sprint", None, 1001, "2026-03-01 01:00"),
        ],
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_velocity_many_boards_and_sprints_without_a_board(
    make_warehouse: Any, tmp_path: Path, dialect: str
):
    wh = make_warehouse(dialect)
    wh.load_sample()
    _add_boards(wh)
    run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    result = build_report(wh.conn, dialect=dialect, schema=wh.schema, out_dir=tmp_path)

    # Nine groups: Alpha board, boards 2-8, and BETA's board-less sprints; the six with the
    # latest sprints are drawn, in name order.
    assert result.velocity_boards == 9
    assert [p.label for p in result.velocity] == [
        "Alpha board",
        "Board 5: platform infrastructure",
        "Board 6: platform infrastructure",
        "Board 7: platform infrastructure",
        "Board 8: platform infrastructure",
        "Project BETA",
    ]
    assert "6 of 9 boards" in result.captions["velocity"]
    board8 = result.velocity[4]
    assert len(board8.sprints) == VELOCITY_SPRINTS == 7
    assert board8.sprints[0].startswith("Platform Team Sprint 3 (")  # the last seven of nine
    assert board8.active == (False,) * 6 + (True,)
    # BETA has no story points: its panel counts issues.
    beta = result.velocity[5]
    assert (beta.unit, beta.sprints) == ("issues", ("Beta week 6", "Beta week 9"))
    assert (beta.committed, beta.completed) == ((1.0, 1.0), (0.0, 1.0))
    # The table lists every started sprint, by board.
    rows = result.tables["sprint_velocity"].rows
    assert len(rows) == 2 + 7 * 9 + 2
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert ("Project BETA", "Beta week 9") in [r[:2] for r in rows]

    fig = result.figure("velocity")
    axes = bar_axes(fig)
    assert len(axes) == 6  # one panel per board
    for ax, panel in zip(axes, result.velocity, strict=True):
        assert ax.get_title(loc="left") == panel.label
        assert len(ax.containers) == 2  # committed, completed
        assert [len(c) for c in ax.containers] == [len(panel.sprints)] * 2
        assert [b.get_height() for b in ax.containers[1]] == list(panel.completed)
        labels = tick_texts(ax.get_xticklabels())
        assert labels[-1]  # the latest sprint is always labelled
    # Long sprint names: the shared words go under the axis, the rest fits or is thinned.
    ax8 = axes[4]
    assert ax8.get_xlabel() == "Platform Team Sprint …"
    assert_no_overlaps(fig)
    png = result.charts["velocity"].read_bytes()
    assert int.from_bytes(png[20:24], "big") > 480  # three rows of panels


def _long_panels(n: int) -> list[VelocityPanel]:
    names = tuple(
        f"Customer Experience Squad {k} / Iteration 2025-{k:02d}-15 to 2025-{k:02d}-29"
        for k in range(1, 8)
    )
    return [
        VelocityPanel(
            label=f"A board with a really rather long and descriptive name, number {i}",
            unit="story points",
            sprints=names,
            committed=tuple(float(10 + k) for k in range(7)),
            completed=tuple(float(k * 3) for k in range(7)),
            active=(False,) * 6 + (True,),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_long_sprint_names_never_overlap(n: int):
    fig = velocity_figure(_long_panels(n))
    axes = bar_axes(fig)
    assert len(axes) == n
    texts = assert_no_overlaps(fig)
    for ax in axes:
        labels = tick_texts(ax.get_xticklabels())
        assert len(labels) == 7 and labels[-1]
        assert all(len(line) < 40 for label in labels for line in label.splitlines())
    # Every panel keeps its title (shortened when too long for the panel).
    titles = [t for t, _ in texts if t.startswith("A board with")]
    assert len(titles) == n


def test_no_sprints_is_said_not_drawn():
    fig = velocity_figure([])
    assert not bar_axes(fig)
    assert "no data" in [t for t, _ in drawn_texts(fig)]


# -- time in status ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_time_in_status_leaves_out_done(make_warehouse: Any, tmp_path: Path, dialect: str):
    wh = make_warehouse(dialect)
    wh.load_sample()
    # ALPHA-7 sat in Done for 432 days before it was reopened.
    wh.insert("issues", [_issue(7, "ALPHA-7", 3, "2025-01-01 00:00")])
    wh.insert(
        "issue_field_history",
        [
            _change(7, 7001, "status", 1, 5, "2025-01-02 00:00"),
            _change(7, 7002, "status", 5, 3, "2026-03-10 00:00"),
        ],
    )
    run_models(wh.conn, dialect=dialect, schema=wh.schema, now=NOW)
    result = build_report(wh.conn, dialect=dialect, schema=wh.schema, out_dir=tmp_path)

    done = [s for s in result.time_in_status if s.is_done]
    assert [(s.status, s.stays) for s in done] == [("Done", 2)]
    assert done[0].avg_minutes == pytest.approx((432 + 3) / 2 * 1440)
    assert [r[0] for r in result.tables["time_in_status"].rows] == ["To Do", "In Progress"]
    assert result.tables["time_in_done_status"].rows[0][:3] == ("Done", "2", "217.5")

    fig = result.figure("time_in_status")
    (ax,) = bar_axes(fig)
    assert tick_texts(ax.get_yticklabels()) == ["To Do", "In Progress"]  # longest first
    (bars,) = ax.containers
    widths = [b.get_width() for b in bars]
    assert widths == pytest.approx([28 / 8, 7.25 / 3])  # days; A-7's To Do day included
    assert ax.get_xlim()[1] < 10  # the 217-day Done average does not set the scale
    assert not any("Done" in t for t, _ in drawn_texts(fig))
    assert_no_overlaps(fig)


def test_many_statuses_stay_legible():
    categories = ["new", "indeterminate", None]
    statuses = [
        StatusTime(
            f"Waiting for customer approval, step {i}", categories[i % 3], 5, i * 600.0, 1.0, 1
        )
        for i in range(1, 31)
    ] + [StatusTime("Closed", "done", 5, 10**6, 10**6, 99)]
    fig = time_in_status_figure(statuses)
    (ax,) = bar_axes(fig)
    assert len(ax.containers[0]) == 30
    (legend,) = fig.legends
    assert tick_texts(legend.get_texts()) == ["To Do", "In Progress", "unknown category"]
    assert_no_overlaps(fig)


def test_every_chart_of_the_report_is_free_of_overlapping_text(report: Any):
    for name in CHARTS:
        texts = assert_no_overlaps(report.figure(name))
        assert texts, name
    with pytest.raises(KeyError, match="velocity"):
        report.figure("burndown")


# -- cumulative flow ----------------------------------------------------------------------


def flow_on(report: Any, day: date) -> dict[str, int]:
    i = report.cumulative_flow.days.index(day)
    return {band: counts[i] for band, counts in report.cumulative_flow.bands.items()}


def test_cumulative_flow_counts_issues_per_category(report: Any):
    flow = report.cumulative_flow
    assert flow.days[0] == date(2026, 2, 1) and flow.days[-1] == date(2026, 3, 20)
    assert set(flow.bands) == {"done", "new", "indeterminate"}
    assert flow_on(report, date(2026, 2, 1)) == {"done": 0, "new": 1, "indeterminate": 0}
    # ALPHA-2 is done on 03-07 and reopened on 03-09.
    assert flow_on(report, date(2026, 3, 7)) == {"done": 4, "new": 4, "indeterminate": 0}
    assert flow_on(report, date(2026, 3, 9)) == {"done": 3, "new": 4, "indeterminate": 1}
    assert flow_on(report, date(2026, 3, 20)) == {"done": 5, "new": 2, "indeterminate": 2}


def test_cumulative_flow_survives_a_daily_cutoff(make_warehouse: Any, report: Any, tmp_path: Path):
    wh = make_warehouse("duckdb")
    wh.load_sample()
    run_models(wh.conn, dialect="duckdb", schema=wh.schema, now=NOW, days_after_resolved=2)
    short = build_report(wh.conn, dialect="duckdb", schema=wh.schema, out_dir=tmp_path)
    assert short.cumulative_flow == report.cumulative_flow


def test_created_vs_resolved_series(report: Any):
    data = report.created_vs_resolved
    assert data.days[0] == date(2026, 2, 1) and data.days[-1] == date(2026, 3, 20)
    assert (data.created[-1], data.resolved[-1], data.open[-1]) == (9, 5, 4)
    fig = report.figure("created_vs_resolved")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["created (total)", "resolved (total)"]


def test_a_database_file_named_like_the_schema(tmp_path: Path, make_warehouse: Any):
    # `jirakit sync` writes ./jira.duckdb with a `jira` dataset: in DuckDB a bare
    # `jira.issues` is then ambiguous (catalog or schema?), so names are catalog-qualified.
    path = tmp_path / "jira.duckdb"
    wh = make_warehouse("duckdb", duckdb_path=str(path), schema="jira", catalog="jira")
    wh.load_sample()
    counts = run_models(wh.conn, dialect="duckdb", schema="jira", now=NOW)
    assert counts["sprint_enhanced"] == 3
    result = build_report(wh.conn, dialect="duckdb", schema="jira", out_dir=tmp_path / "out")
    assert result.tables["projects"].rows[0][:3] == ("ALPHA", "Alpha", "5")
