"""`jirakit sync`: Jira into a warehouse (DuckDB by default)."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from jirakit.cli._connect import Connection, connected
from jirakit.cli._extras import require_extra
from jirakit.cli._root import error_line
from jirakit.client import ClientStats
from jirakit.sync.schema import STREAMS

if TYPE_CHECKING:  # the sync machinery (dlt) loads when a sync runs, not for `--help`
    from jirakit.sync.drift import AlertSink
    from jirakit.sync.pipeline import SyncResult
    from jirakit.sync.progress import ProgressWriter
    from jirakit.sync.source import StopSignal

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


class _Progress:
    """What the live display shows; rich re-renders it four times a second, so the
    elapsed time keeps moving through the phases that extract nothing (load, models)."""

    def __init__(self, stats: ClientStats, live: ProgressWriter | None = None) -> None:
        self.stats = stats
        self.live = live
        self.counts: dict[str, int] = {}
        self.expected: dict[str, int] = {}
        self.started = time.monotonic()
        self.phase = "starting"
        self.phase_started = self.started

    def rows(self, table: str, n: int, total: int | None) -> None:
        self.counts[table] = self.counts.get(table, 0) + n
        if total is not None:
            self.expected[table] = total
        if self.live is not None:
            self.live.rows(table, n, total)

    def enter(self, phase: str) -> None:
        self.phase, self.phase_started = phase, time.monotonic()
        if self.live is not None:
            self.live.phase(phase)

    def render(self) -> Table:
        """Rows per table (with the total and an ETA where the total is known: issues,
        once their ids are listed), the phase, requests, and the time spent waiting on
        Jira's rate limit."""
        now = time.monotonic()
        elapsed = now - self.started
        table = Table(
            title=f"jirakit sync: {self.phase} ({now - self.phase_started:,.0f}s)", show_edge=False
        )
        table.add_column("table")
        table.add_column("rows", justify="right")
        table.add_column("of", justify="right")
        table.add_column("ETA", justify="right")
        for name, n in self.counts.items():
            total = self.expected.get(name)
            eta = ""
            if total and 0 < n < total and elapsed > 0:
                eta = f"{(total - n) * elapsed / n:,.0f}s"
            table.add_row(name, f"{n:,}", f"{total:,}" if total else "", eta)
        stats = self.stats
        waited = stats.throttled_seconds + stats.retry_wait_seconds
        table.caption = (
            f"{stats.requests:,} requests, {stats.by_status.get(429, 0):,} rate-limited (429), "
            f"{waited:,.1f}s waiting on the rate limit and retries; {elapsed:,.0f}s in all"
        )
        return table


def summary(result: SyncResult) -> Table:
    """The rows this run left in the warehouse (read back from it), per table."""
    table = Table(title=f"Sync {result.status} in {result.seconds:.1f}s", show_edge=False)
    table.add_column("table")
    table.add_column("rows loaded", justify="right")
    for name, n in sorted(result.rows.items()):
        table.add_row(name, f"{n:,}")
    caption = [f"{result.requests:,} requests; run {result.run.run_id}"]
    if result.resumed:
        resumed = sum(result.resumed.values())
        caption.append(f"also loaded {resumed:,} rows an interrupted run had read")
    if result.run.skipped:
        caption.append(f"{len(result.run.skipped)} skipped (see _sync_runs)")
    table.caption = "; ".join(caption)
    return table


def phase_times(result: SyncResult) -> str:
    """Where the run's time went, for the phases that took a tenth of a second or more."""
    shown = {k: v for k, v in result.run.timings.items() if v >= 0.1}
    return ", ".join(f"{phase} {seconds:,.1f}s" for phase, seconds in shown.items())


def _stop_on_signals(stop: StopSignal) -> None:
    """SIGINT and SIGTERM ask the sync to stop at its next safe point (it then says what
    was committed; exit 130 / 143). A second one stops at once, as kill -9 would: the
    next run still resumes from what the warehouse committed."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os.write(
                2, b"Stopped at once (second signal); the next run resumes from the last commit.\n"
            )
            os._exit(128 + signum)
        stop.set(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class _StoppedEarly(KeyboardInterrupt):
    """SIGINT or SIGTERM before the run started: nothing read from Jira, nothing written.
    A KeyboardInterrupt, so that no ``except Exception`` on the way swallows it, and the
    progress file records the command as interrupted."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(
            f"Interrupted ({name}) before the sync started. Nothing from this run was "
            "committed; the next run starts from what the warehouse holds."
        )
        self.signum = signum


def _stops_early(command: Callable[..., None]) -> Callable[..., None]:
    """Until the run itself handles them (`_stop_on_signals`), SIGINT and SIGTERM end the
    command at once with `_StoppedEarly`'s one line (exit 130 / 143): while the
    destination is checked and dlt imported, there is nothing to commit or to wait for."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _StoppedEarly(signum)

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, handler)
        try:
            command(*args, **kwargs)
        except _StoppedEarly as exc:
            _fail(Console(stderr=True), str(exc), 128 + exc.signum)
        finally:  # when the command ended before the run took the signals over
            for sig, was in previous.items():
                if signal.getsignal(sig) is handler:
                    signal.signal(sig, was)

    return run


def _fail(console: Console, message: str, code: int) -> NoReturn:
    """One line on stderr (Jira's words may hold brackets: no markup), then exit."""
    console.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@connected(first=True)
@_stops_early
def sync(
    conn: Connection,
    dest: Annotated[
        str | None,
        typer.Option(
            help="duckdb:///relative.duckdb, duckdb:////absolute.duckdb, "
            "postgresql://user[:password]@host[:port]/db (password also from "
            "JIRAKIT_DEST_PASSWORD or PGPASSWORD), or a dlt destination name. "
            "Default: ./jira.duckdb."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset (schema); default main on DuckDB, jira elsewhere. One site per dataset."
        ),
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
        str | None,
        typer.Option(
            help="Where dlt caches its working state (the warehouse holds the real state)."
        ),
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
    listen: Annotated[
        bool,
        typer.Option(
            "--listen",
            help="After the sync, receive Jira's webhooks on POST /webhooks/jira and keep "
            "the warehouse current (secrets from JIRAKIT_WEBHOOK_SECRET / "
            "JIRAKIT_WEBHOOK_JWT_SECRET; see `jirakit webhooks serve` for every option).",
        ),
    ] = False,
    listen_host: Annotated[str, typer.Option(help="--listen: interface to bind.")] = "127.0.0.1",
    listen_port: Annotated[int, typer.Option(help="--listen: port to bind.")] = 8080,
    store: Annotated[
        str,
        typer.Option(
            envvar="JIRAKIT_WEBHOOK_STORE", help="--listen: the webhook inbox (sqlite:///...)."
        ),
    ] = "sqlite:///inbox.db",
) -> None:
    """Sync Jira into a warehouse, incrementally; then print what was loaded.

    The cursor belongs to the (site, destination, dataset): a new destination or dataset
    gets a full load. A Postgres password can be in the URL or in JIRAKIT_DEST_PASSWORD
    (or PGPASSWORD). Ctrl-C (or SIGTERM) stops cleanly: the next run resumes."""
    require_extra("sync", ("dlt", "duckdb", "pyarrow"))
    from jirakit.sync._memory import arrow_to_system_allocator, limit_arenas
    from jirakit.sync.destination import DestinationError, check_destination
    from jirakit.sync.drift import LogSink, WebhookSink
    from jirakit.sync.pipeline import SyncInterrupted, run_sync, warehouse_for
    from jirakit.sync.progress import ProgressWriter
    from jirakit.sync.source import FatalSyncError, StopSignal, SyncOptions

    console = Console(stderr=True)
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
    # The destination is checked before any request is made to Jira.
    try:
        warehouse = warehouse_for(
            dest,
            dataset,
            duckdb_memory=_duckdb_memory(duckdb_memory),
            duckdb_threads=duckdb_threads,
        )
    except DestinationError as exc:
        _fail(console, f"error: {exc}", 2)
    # Live progress for `jirakit dashboard` in another terminal; written before the
    # warehouse is opened, so that a dashboard stops opening a DuckDB file from then on.
    with ProgressWriter(warehouse) as live:
        try:
            check_destination(warehouse)
        except DestinationError as exc:
            live.finish("failed", str(exc))
            _fail(console, f"error: {exc}", 2)
        stop = StopSignal()
        _stop_on_signals(stop)
        # This process is the sync: keep its fetch threads' heaps together, and Arrow's
        # buffers where the trim between phases reaches them.
        limit_arenas()
        arrow_to_system_allocator()
        sinks: list[AlertSink] = [LogSink()]
        if alert_url:
            sinks.append(WebhookSink(alert_url))
        # A site that does not answer is still a run that started: it fails on its own
        # first request, is recorded in _sync_runs and counts towards the failure alert.
        with conn.open(unreachable="cloud") as jira:
            shown = _Progress(jira.stats, live)
            live.connected(jira.stats, jira.base_url)
            try:
                with Live(get_renderable=shown.render, console=console, transient=True):
                    result = run_sync(
                        jira,
                        warehouse=warehouse,
                        options=options,
                        sinks=sinks,
                        progress=shown.rows,
                        on_phase=shown.enter,
                        pipelines_dir=pipelines_dir,
                        stop=stop,
                    )
            except SyncInterrupted as exc:
                name = signal.Signals(exc.signum).name
                message = f"Interrupted ({name}) during {exc.phase}. {exc.committed}"
                live.finish("interrupted", message)
                _fail(console, message, 128 + exc.signum)
            except FatalSyncError as exc:
                live.finish("failed", f"sync failed: {exc}")
                _fail(console, f"sync failed: {exc}", 1)
        live.finish(result.status, result.error)
    out = Console()
    out.print(summary(result))
    out.print(result.plan.capitalize() + ".", highlight=False)
    out.print(f"Time: {phase_times(result)}", highlight=False)
    if result.models:
        out.print(
            f"Models {'updated' if result.models_mode == 'incremental' else 'rebuilt'}: "
            f"{', '.join(f'{k} ({v:,})' for k, v in result.models.items())}",
            highlight=False,
        )
    for event in result.run.drift:
        out.print(f"[yellow]drift:[/yellow] {event.describe()}", highlight=False)
    if listen:
        _listen(conn, dest, dataset, store, listen_host, listen_port, pipelines_dir)


def _listen(
    conn: Connection,
    dest: str | None,
    dataset: str | None,
    store: str,
    host: str,
    port: int,
    pipelines_dir: str | None,
) -> None:
    """`jirakit sync --listen`: the webhook receiver with the sync's warehouse as its
    destination, until interrupted (issues re-read as the sync reads them, same rows)."""
    from jirakit.webhooks.runtime import ServeOptions, build_receiver
    from jirakit.webhooks.serve import run

    for sig in (signal.SIGINT, signal.SIGTERM):  # the server stops on these itself
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    options = ServeOptions(store=store, dest=dest, dataset=dataset, pipelines_dir=pipelines_dir)
    with conn.open() as jira:
        try:
            receiver = build_receiver(options, jira)
        except ValueError as exc:
            raise error_line(str(exc), 2) from None

        def ready(url: str) -> None:
            typer.echo(
                f"Listening: POST {url}/webhooks/jira keeps {dest or 'jira.duckdb'} current "
                f"(inbox {store}); Ctrl-C stops",
                err=True,
            )

        try:
            run(receiver.app, host, port, on_ready=ready)
        finally:
            receiver.close()
