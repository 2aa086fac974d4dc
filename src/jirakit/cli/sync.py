"""`jirakit sync`: Jira into a warehouse (DuckDB by default)."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from jirakit.cli._connect import Connection, connected
from jirakit.client import ClientStats
from jirakit.sync.schema import STREAMS

if TYPE_CHECKING:  # the sync machinery (dlt) loads when a sync runs, not for `--help`
    from jirakit.sync.drift import AlertSink
    from jirakit.sync.pipeline import SyncResult

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")


def _duckdb_memory(value: str) -> str:
    """``value`` if DuckDB takes it as a memory limit (DuckDB itself is the judge of its
    size syntax: 128MB, 1GiB, 1G ...), else a usage error."""
    import duckdb

    value = value.strip()
    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        raise typer.BadParameter(
            f"{value!r} is not a size DuckDB takes ({exc}); write it like 128MB, 1GB or 512MiB",
            param_hint="--duckdb-memory",
        ) from exc
    return value


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise typer.BadParameter(
            "use a number and a unit: 30s, 5m, 2h, 1d", param_hint="--lookback"
        )
    value, unit = int(match.group(1)), match.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: value})


def _progress_table(
    counts: dict[str, int],
    stats: ClientStats,
    expected: dict[str, int],
    elapsed: float,
) -> Table:
    """Rows per table (with the total and an ETA where the total is known: issues, once
    their ids are listed), requests, and the time spent waiting on Jira's rate limit."""
    table = Table(title="jirakit sync", show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("of", justify="right")
    table.add_column("ETA", justify="right")
    for name, n in counts.items():
        total = expected.get(name)
        eta = ""
        if total and 0 < n < total and elapsed > 0:
            eta = f"{(total - n) * elapsed / n:,.0f}s"
        table.add_row(name, f"{n:,}", f"{total:,}" if total else "", eta)
    waited = stats.throttled_seconds + stats.retry_wait_seconds
    table.caption = (
        f"{stats.requests:,} requests, {stats.by_status.get(429, 0):,} rate-limited (429), "
        f"{waited:,.1f}s waiting on the rate limit and retries"
    )
    return table


def summary(result: SyncResult) -> Table:
    table = Table(title=f"Sync {result.status} in {result.seconds:.1f}s", show_edge=False)
    table.add_column("table")
    table.add_column("rows loaded", justify="right")
    for name, n in sorted(result.rows.items()):
        table.add_row(name, f"{n:,}")
    table.caption = f"{result.requests:,} requests; run {result.run.run_id}"
    if result.run.skipped:
        table.caption += f"; {len(result.run.skipped)} skipped (see _sync_runs)"
    return table


@connected(first=True)
def sync(
    conn: Connection,
    dest: Annotated[
        str | None,
        typer.Option(help="duckdb:///file.duckdb, postgres://..., or a dlt destination name."),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Dataset (schema); default main on DuckDB, jira elsewhere.")
    ] = None,
    projects: Annotated[str | None, typer.Option(help="Comma-separated project keys.")] = None,
    streams: Annotated[
        str | None, typer.Option(help=f"Comma-separated subset of {', '.join(STREAMS)}.")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option(help="Ignore the cursor; reload everything.")
    ] = False,
    lookback: Annotated[str, typer.Option(help="Look back this far before the last run.")] = "5m",
    columns: Annotated[
        Path | None, typer.Option(help="JSON file: field id or name -> column name.")
    ] = None,
    alert_url: Annotated[
        str | None, typer.Option(envvar="JIRAKIT_ALERT_URL", help="Slack-compatible webhook URL.")
    ] = None,
    pipelines_dir: Annotated[
        str | None, typer.Option(help="Where dlt keeps pipeline state.")
    ] = None,
    duckdb_memory: Annotated[
        str,
        typer.Option(
            help="DuckDB's memory limit while loading and modelling, e.g. 1GB (DuckDB only)."
        ),
    ] = "128MB",
    duckdb_threads: Annotated[
        int,
        typer.Option(
            min=1, help="DuckDB's threads: more is faster, with more memory (DuckDB only)."
        ),
    ] = 1,
) -> None:
    """Sync Jira into a warehouse, incrementally; then print what was loaded."""
    from jirakit.sync._memory import arrow_to_system_allocator, limit_arenas
    from jirakit.sync.drift import LogSink, WebhookSink
    from jirakit.sync.pipeline import run_sync, warehouse_for
    from jirakit.sync.source import FatalSyncError, SyncOptions

    # This process is the sync: keep its fetch threads' heaps together, and Arrow's
    # buffers where the trim between phases reaches them.
    limit_arenas()
    arrow_to_system_allocator()
    console = Console()
    chosen = tuple(s.strip() for s in streams.split(",")) if streams else STREAMS
    unknown = set(chosen) - set(STREAMS)
    if unknown:
        raise typer.BadParameter(
            f"unknown {sorted(unknown)}; choose from {', '.join(STREAMS)}", param_hint="--streams"
        )
    overrides: dict[str, str] = {}
    if columns is not None:
        try:
            overrides = dict(json.loads(columns.read_text()))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(
                f"cannot read {columns}: {exc}", param_hint="--columns"
            ) from exc
    options = SyncOptions(
        projects=tuple(p.strip() for p in projects.split(",")) if projects else (),
        streams=chosen,
        lookback=parse_duration(lookback),
        full_refresh=full_refresh,
        column_overrides=overrides,
    )
    warehouse = warehouse_for(
        dest, dataset, duckdb_memory=_duckdb_memory(duckdb_memory), duckdb_threads=duckdb_threads
    )
    sinks: list[AlertSink] = [LogSink()]
    if alert_url:
        sinks.append(WebhookSink(alert_url))
    with conn.open() as jira:
        counts: dict[str, int] = {}
        expected: dict[str, int] = {}
        started = time.monotonic()
        initial = _progress_table(counts, jira.stats, expected, 0.0)
        with Live(initial, console=console, transient=True) as live:

            def progress(table: str, n: int, total: int | None) -> None:
                counts[table] = counts.get(table, 0) + n
                if total is not None:
                    expected[table] = total
                live.update(
                    _progress_table(counts, jira.stats, expected, time.monotonic() - started)
                )

            try:
                result = run_sync(
                    jira,
                    warehouse=warehouse,
                    options=options,
                    sinks=sinks,
                    progress=progress,
                    pipelines_dir=pipelines_dir,
                )
            except FatalSyncError as exc:
                console.print(f"[red]sync failed:[/red] {exc}", highlight=False)
                raise typer.Exit(1) from None
    console.print(summary(result))
    if result.models:
        console.print(
            f"Models rebuilt: {', '.join(f'{k} ({v:,})' for k, v in result.models.items())}",
            highlight=False,
        )
    for event in result.run.drift:
        console.print(f"[yellow]drift:[/yellow] {event.describe()}", highlight=False)
