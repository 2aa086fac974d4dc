"""`jirakit report`: summary tables and charts from the synced warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from jirakit.cli._extras import require_extra


def report(
    dest: Annotated[
        str | None, typer.Option(help="The warehouse: duckdb:///file.duckdb or postgres://...")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset (schema) name.")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the charts and index.html.")] = Path(
        "jira-report"
    ),
) -> None:
    """Print summary tables and write charts (PNG) plus a static HTML page."""
    require_extra("report", ("duckdb", "matplotlib"))
    from jirakit.cli.sql import open_read_only
    from jirakit.sync.destination import DestinationError, warehouse_for
    from jirakit.sync.report import ReportError, build_report

    try:
        warehouse = warehouse_for(dest, dataset)
    except DestinationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dest") from None
    if warehouse.dialect not in ("duckdb", "postgres"):
        raise typer.BadParameter("reports read DuckDB or Postgres warehouses", param_hint="--dest")
    if warehouse.dialect == "duckdb" and not Path(warehouse.location or "").exists():
        raise typer.BadParameter(
            f"{warehouse.location} does not exist: run `jirakit sync` first", param_hint="--dest"
        )
    console = Console()
    conn, _ = open_read_only(dest, dataset)  # reading only; a locked file is one line
    try:
        dialect: Any = warehouse.dialect
        result = build_report(conn, dialect=dialect, schema=warehouse.dataset, out_dir=out)
    except ReportError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        conn.close()
    result.print(console)  # ends with where index.html is
    for path in result.charts.values():
        console.print(f"  {path}", highlight=False)
