"""What a run achieved: the rows that reached the warehouse, what a stopped or failed run
committed (in one sentence a user can act on), and the run's record in ``_sync_runs``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dlt

from jirakit.errors import HTTPError, JiraError, TransportError
from jirakit.sync.destination import Warehouse
from jirakit.sync.schema import TABLES
from jirakit.sync.source import UNIQUE_PER_LOAD, FatalSyncError
from jirakit.sync.state import DestinationState, table_columns

if TYPE_CHECKING:
    from jirakit.sync.pipeline import SyncResult
    from jirakit.sync.source import SyncOptions

# The phases of a run, in order (`RunContext.enter`). Up to "normalizing" nothing of the
# run is in the warehouse; "loading" commits it table by table and its cursor last; from
# "fix-ups" on, data and cursor are committed.
PHASES = (
    "checking the warehouse",
    "connecting",
    "loading an interrupted run's rows",
    "metadata",
    "issues",
    "worklogs",
    "normalizing",
    "loading",
    "fix-ups",
    "models",
)
_COMMITTED = frozenset({"fix-ups", "models"})


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def loaded_rows(warehouse: Warehouse, load_ids: Sequence[str]) -> dict[str, int]:
    """Rows per contract table carrying one of ``load_ids``: what these loads left in the
    warehouse (merges replace rows, so a row with the load's id is a row it wrote). Empty
    for destinations jirakit has no SQL access to, or when nothing was loaded."""
    if not load_ids or warehouse.dialect not in ("duckdb", "postgres"):
        return {}
    conn = warehouse.connect()
    try:
        mark = "%s" if warehouse.dialect == "postgres" else "?"
        present = {
            str(r[0])
            for r in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = "
                f"{mark} AND column_name = '_dlt_load_id'",
                (warehouse.dataset,),
            ).fetchall()
        }
        counts: dict[str, int] = {}
        marks = ", ".join([mark] * len(load_ids))
        for table in TABLES:
            if table not in present:
                continue
            row = conn.execute(
                f"SELECT count(*) FROM {_q(warehouse.dataset)}.{_q(table)} "
                f"WHERE _dlt_load_id IN ({marks})",
                tuple(load_ids),
            ).fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts
    finally:
        conn.close()


def shortfall(extracted: Mapping[str, int], loaded: Mapping[str, int], *, sql: bool) -> str:
    """What the warehouse lacks against what the run read, as ``"loaded 1,490 of 1,500
    issues"`` (empty when nothing is missing). Tables whose rows are unique per load must
    match exactly; others (links, which both ends carry) may be fewer but not none."""
    if not sql:
        return ""
    gaps = []
    for table, read in sorted(extracted.items()):
        got = loaded.get(table, 0)
        exact = table in UNIQUE_PER_LOAD
        if (exact and got != read) or (read and not got):
            gaps.append(f"loaded {got:,} of {read:,} {table}")
    return "; ".join(gaps)


def interruption(exc: BaseException) -> int | None:
    """The signal number when ``exc`` is (or wraps) a stop by SIGINT/SIGTERM."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return int(getattr(seen, "signal_code", 0) or 2)
        seen = seen.__cause__ or seen.__context__
    return None


def _root(exc: BaseException) -> BaseException:
    """The first jirakit error in the chain (dlt wraps what the source raised in its
    ``PipelineStepFailed``), else the innermost cause."""
    seen: BaseException | None = exc
    last = exc
    while seen is not None:
        if isinstance(seen, (JiraError, FatalSyncError)):
            return seen
        last = seen
        seen = seen.__cause__ or seen.__context__
    return last


def describe(exc: BaseException) -> str:
    """One line: which endpoint answered what (Jira's status and words), or what else
    failed; never a traceback."""
    root = _root(exc)
    if isinstance(root, HTTPError):
        path = urlsplit(root.url).path or root.url
        rid = f" (request id {root.request_id})" if root.request_id else ""
        return f"{root.method} {path} answered {root.status}: {root.message}{rid}"
    if isinstance(root, TransportError):
        return str(root)
    if isinstance(root, (JiraError, FatalSyncError)):
        return str(root)
    text = " ".join(str(root).split())
    first = text[:300] + ("…" if len(text) > 300 else "")
    return f"{type(root).__name__}: {first}" if first else type(root).__name__


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def committed(
    warehouse: Warehouse,
    name: str,
    phase: str,
    before: DestinationState,
    loaded: bool,
) -> str:
    """What the warehouse holds after a run stopped in ``phase``, and where the next run
    resumes, in one sentence."""
    if phase in _COMMITTED or (phase == "loading" and loaded):
        return (
            "This run's data and cursor were committed; the models were not all rebuilt, "
            "and the next run rebuilds them."
        )
    from jirakit.sync.state import inspect

    try:
        now = inspect(warehouse, name)
    except Exception:  # the warehouse may be what failed
        now = before
    if phase == "loading":
        head = (
            "The load was cut short: this run's cursor was not committed, and the next run "
            "finishes loading what it read, then syncs on from the last committed cursor"
        )
    else:
        head = "Nothing from this run was committed"
    if now.last_run is not None:
        started, cursor = now.last_run
        return (
            f"{head}; {warehouse.describe()} keeps the sync of {_when(started)} and the next "
            f"run resumes from its cursor ({_when(cursor)})."
        )
    if now.committed:
        return f"{head}; the next run resumes from the cursor committed in {warehouse.describe()}."
    return (
        f"{head}; {warehouse.describe()} has no committed sync yet, so the next run is a full load."
    )


def run_row(result: SyncResult, options: SyncOptions, finished: datetime) -> dict[str, Any]:
    run = result.run
    return {
        "run_id": run.run_id,
        "site": run.site,
        "started_at": run.started_at,
        "finished_at": finished,
        "status": result.status,
        "full_refresh": options.full_refresh,
        "cursor_from": run.cursor_from,
        "cursor_to": run.cursor_to,
        "requests": result.requests,
        "rows": dict(result.rows or run.rows),
        "skipped": list(run.skipped),
        "error": result.error,
        "rate_limited": result.rate_limited,
        "waited_seconds": result.waited_seconds,
    }


def record_run(pipeline: Any, row: dict[str, Any]) -> None:
    """Load a failed or interrupted run's row, through a pipeline of its own (the sync's
    name + ``_runs``): the sync's pipeline may hold a package the failure left half
    loaded, which a run of it would load first (committing a cursor the failure was
    meant to leave alone), and may carry ``drop_sources`` (a full refresh)."""
    spec = TABLES["_sync_runs"]
    columns = {c.name: {"data_type": c.type, "nullable": c.nullable} for c in spec.columns}
    resource = dlt.resource(  # type: ignore[call-overload]  # dlt's column TypedDict
        [row], name="_sync_runs", write_disposition="merge", primary_key="run_id", columns=columns
    )
    recorder = dlt.pipeline(
        pipeline_name=f"{pipeline.pipeline_name}_runs",
        destination=pipeline.destination,
        dataset_name=pipeline.dataset_name,
        pipelines_dir=pipeline.pipelines_dir,
    )
    recorder.run(resource)


# The run history a sync keeps in the warehouse. A full refresh reloads every table of the
# source, and dlt drops them first (``refresh="drop_sources"``): these are read before the
# run and loaded again with it (`RunContext.kept`), so a full refresh keeps the history of
# runs and drift (the failure alert's count, the dashboard's syncs and drift pages).
HISTORY = ("_sync_runs", "_drift_events")


def history(warehouse: Warehouse) -> dict[str, list[dict[str, Any]]]:
    """The rows of the `HISTORY` tables ``warehouse`` holds, by table, with the declared
    columns it has (DuckDB and Postgres; others: none kept)."""
    if warehouse.dialect not in ("duckdb", "postgres"):
        return {}
    kept: dict[str, list[dict[str, Any]]] = {}
    conn = warehouse.connect()
    try:
        have = table_columns(conn, warehouse.dialect, warehouse.dataset)
        for table in HISTORY:
            columns = [c for c in TABLES[table].columns if c.name in have.get(table, ())]
            if not columns:
                continue
            names = ", ".join(_q(c.name) for c in columns)
            rows = conn.execute(
                f"SELECT {names} FROM {_q(warehouse.dataset)}.{_q(table)}"
            ).fetchall()
            # DuckDB gives JSON columns back as their text (Postgres, as the documents).
            texts = (
                {c.name for c in columns if c.type == "json"}
                if warehouse.dialect == "duckdb"
                else set()
            )
            kept[table] = [
                {
                    c.name: json.loads(v) if c.name in texts and isinstance(v, str) else v
                    for c, v in zip(columns, row, strict=True)
                }
                for row in rows
            ]
    finally:
        conn.close()
    return kept


def update_run_rows(warehouse: Warehouse, run_id: str, rows: Mapping[str, int]) -> None:
    """Put the rows read back from the warehouse on the run's ``_sync_runs`` row."""
    conn = warehouse.connect()
    try:
        table = f"{_q(warehouse.dataset)}.{_q('_sync_runs')}"
        if warehouse.dialect == "postgres":
            conn.execute(
                f"UPDATE {table} SET rows = %s::jsonb WHERE run_id = %s",
                (json.dumps(dict(rows)), run_id),
            )
            conn.commit()
        else:
            conn.execute(
                f"UPDATE {table} SET rows = ? WHERE run_id = ?", (json.dumps(dict(rows)), run_id)
            )
    finally:
        conn.close()


def unfinished_runs(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    """The ``_sync_runs`` rows of runs that did not succeed: (run_id, status, finished_at,
    error). None yet (no table): an empty list."""
    conn = warehouse.connect()
    try:
        table = f"{_q(warehouse.dataset)}.{_q('_sync_runs')}"
        try:
            rows = conn.execute(
                f"SELECT run_id, status, finished_at, error FROM {table} "
                "WHERE status <> 'succeeded'"
            ).fetchall()
        except Exception:  # no table yet
            if warehouse.dialect == "postgres":
                conn.rollback()
            return []
        return [tuple(r) for r in rows]
    finally:
        conn.close()


def keep_unfinished(warehouse: Warehouse, runs: Sequence[tuple[Any, ...]]) -> None:
    """Put back the record of runs that were interrupted or failed after their package
    was made: the package carries the run's row as ``succeeded`` (it is loaded with the
    data it describes), and the next run, loading that package, merged it over the
    record. The data is now in; the run still did not finish."""
    if not runs:
        return
    conn = warehouse.connect()
    try:
        table = f"{_q(warehouse.dataset)}.{_q('_sync_runs')}"
        mark = "%s" if warehouse.dialect == "postgres" else "?"
        for run_id, status, finished_at, error in runs:
            conn.execute(
                f"UPDATE {table} SET status = {mark}, finished_at = {mark}, error = {mark} "
                f"WHERE run_id = {mark} AND status = 'succeeded'",
                (status, finished_at, error, run_id),
            )
        if warehouse.dialect == "postgres":
            conn.commit()
    finally:
        conn.close()


def update_run_waits(warehouse: Warehouse, run_id: str, limited: int, waited: float) -> None:
    """Put the run's rate-limit figures (429 answers, seconds waited on limits and
    retries) on its ``_sync_runs`` row, loaded with the data before they were final.
    Best effort: a warehouse whose ``_sync_runs`` lacks the columns (none of this run's
    rows carried them) is left alone."""
    conn = warehouse.connect()
    try:
        table = f"{_q(warehouse.dataset)}.{_q('_sync_runs')}"
        mark = "%s" if warehouse.dialect == "postgres" else "?"
        try:
            conn.execute(
                f"UPDATE {table} SET rate_limited = {mark}, waited_seconds = {mark} "
                f"WHERE run_id = {mark}",
                (limited, waited, run_id),
            )
            if warehouse.dialect == "postgres":
                conn.commit()
        except Exception:  # no such columns: the figures stay in the run's result
            if warehouse.dialect == "postgres":
                conn.rollback()
    finally:
        conn.close()


def consecutive_failures(pipeline: Any) -> int:
    """Failed runs since the last success (interrupted runs neither count nor break it)."""
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                f"SELECT status FROM {client.make_qualified_table_name('_sync_runs')} "
                "ORDER BY started_at DESC LIMIT 50"
            )
    except Exception:  # no table yet, or a destination without SQL
        return 0
    count = 0
    for (status,) in rows or []:
        if status == "interrupted":
            continue
        if status != "failed":
            break
        count += 1
    return count
