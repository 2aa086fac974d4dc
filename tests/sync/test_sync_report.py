"""`build_report` on the hand-made dataset: tables, PNG charts and the HTML page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from jirakit.sync.models import run_models
from jirakit.sync.report import CHARTS, ReportError, build_report

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # the dataset's "now" (see conftest.py)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(modelled: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The report of the dataset with its models built (conftest `modelled`), per dialect."""
    out = tmp_path_factory.mktemp(f"report-{modelled.dialect}") / "out"
    return build_report(
        modelled.conn, dialect=modelled.dialect, schema=modelled.schema, out_dir=out
    )


def test_charts_are_png_files_linked_from_the_page(report: Any):
    out = report.index_html.parent
    assert out.name == "out" and out.is_dir()
    assert list(report.charts) == list(CHARTS)
    for name, path in report.charts.items():
        assert path.parent == out and path.name == f"{name}.png"
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000
        # The IHDR chunk: width and height of a 9 x 4.8 inch figure at 100 dpi.
        assert int.from_bytes(data[16:20], "big") == 900
        assert int.from_bytes(data[20:24], "big") == 480
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
    assert [(r[0], r[3], r[4], r[8], r[9]) for r in velocity.rows] == [
        ("S1", "3", "16.0", "5.0", "5.0"),
        ("S2", "2", "6.0", "0.0", "0.0"),
    ]
    status = {r[0]: r for r in report.tables["time_in_status"].rows}
    # Stays ended in To Do: A-1 1d, A-2 2d, A-3 9d, A-6 1d, B-1 1d, B-2 3d, B-3 10d.
    assert status["To Do"][1:5] == ("new", "7", f"{27 / 7:.1f}", "2.0")
    # In Progress: A-1 3d, A-2 3d, A-6 1.25d; Done: A-2 3d (the reopen).
    assert status["In Progress"][2:4] == ("3", f"{7.25 / 3:.1f}")
    assert status["Done"][2:4] == ("1", "3.0") and status["Done"][5] == "5"

    console = Console(record=True, width=160)
    report.print(console)
    text = console.export_text()
    assert "Projects" in text and "Sprint velocity" in text and "index.html" in text


def test_missing_models_are_reported(make_warehouse: Any, tmp_path: Path):
    wh = make_warehouse("duckdb")
    with pytest.raises(ReportError, match="run_models"):
        build_report(wh.conn, dialect="duckdb", schema=wh.schema, out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


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
