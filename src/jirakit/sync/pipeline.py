"""Running a sync end to end: extract + load with dlt, then fix-ups and models in the
warehouse, then the run's record and alerts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt

from jirakit._logging import get_logger
from jirakit.client import Jira
from jirakit.errors import Unauthorized
from jirakit.sync._memory import release_memory
from jirakit.sync.drift import AlertSink, LogSink, failure_alert
from jirakit.sync.schema import TABLES
from jirakit.sync.source import FatalSyncError, RunContext, SyncOptions, jira_source, read_again

log = get_logger("jirakit.sync")

# Child tables refreshed whole with their issue: a child row last loaded before its issue's
# latest load did not come back with it, so it was deleted (or unlinked) in Jira. Comparing
# load ids row by row (not "this load") keeps the step idempotent: a run killed between
# its load and this step is fixed up by the next run.
_NEWER = "CAST({a} AS DOUBLE PRECISION) > CAST({b} AS DOUBLE PRECISION)"
_CHILDREN = {
    "comments": (
        "UPDATE {t} SET is_deleted = true FROM {issues} i WHERE {t}.issue_id = i.id "
        "AND " + _NEWER.format(a="i._dlt_load_id", b="{t}._dlt_load_id") + " AND NOT {t}.is_deleted"
    ),
    "issue_links": (
        "DELETE FROM {t} WHERE EXISTS (SELECT 1 FROM {issues} i WHERE "
        "(i.id = {t}.outward_issue_id OR i.id = {t}.inward_issue_id) AND ("
        + _NEWER.format(a="i._dlt_load_id", b="{t}._dlt_load_id")
        + " OR i.is_deleted))"
    ),
    "sprint_issues": (
        "DELETE FROM {t} WHERE EXISTS (SELECT 1 FROM {issues} i WHERE i.id = {t}.issue_id AND "
        + _NEWER.format(a="i._dlt_load_id", b="{t}._dlt_load_id")
        + ")"
    ),
    "attachments": (
        "DELETE FROM {t} WHERE EXISTS (SELECT 1 FROM {issues} i WHERE i.id = {t}.issue_id AND "
        + _NEWER.format(a="i._dlt_load_id", b="{t}._dlt_load_id")
        + ")"
    ),
}


@dataclass
class SyncResult:
    run: RunContext
    load_id: str | None
    requests: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    status: str = "succeeded"
    error: str | None = None
    models: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Warehouse:
    """Where a sync loads, and how to reach it with SQL afterwards (models, report).

    ``dialect`` is ``duckdb`` or ``postgres`` for the SQL warehouses jirakit models; any
    other dlt destination loads fine but gets no models (``dialect`` is its name).
    ``dataset`` defaults to ``main`` on DuckDB (tables are then plain ``issues``, with no
    ``jira.jira`` ambiguity in a file named ``jira.duckdb``) and ``jira`` elsewhere.
    ``duckdb_memory`` caps DuckDB's memory while loading and building models (DuckDB
    spills what does not fit to a temporary directory beside the file); DuckDB's own
    default is 80% of the machine's RAM, which a sync of 100,000 issues would take.
    ``duckdb_threads`` is DuckDB's thread count (None: one per core).
    """

    destination: Any
    dialect: str
    location: str | None = None
    dataset: str = "jira"
    duckdb_memory: str | None = None
    duckdb_threads: int | None = None

    def connect(self) -> Any:
        if self.dialect == "duckdb":
            import duckdb

            return duckdb.connect(
                self.location or "jira.duckdb",
                config=duckdb_config(self.duckdb_memory, self.duckdb_threads),
            )
        if self.dialect == "postgres":
            import psycopg

            return psycopg.connect(self.location or "")
        raise ValueError(f"no SQL access to a {self.dialect} destination from jirakit")


# Measured at 20,000 and 100,000 issues (docs/benchmarks.md): with one DuckDB thread,
# 128 MB loads and builds the models with no out-of-memory retry, and the whole sync
# peaked at 467-471 MiB at 100,000 issues (446-523 MiB at 20,000, by configuration);
# with two threads each thread's buffers need their share of the
# limit (160 MB failed the load). More of both is faster: `jirakit sync --duckdb-memory
# 1GB --duckdb-threads 2`.
DUCKDB_MEMORY = "128MB"
DUCKDB_THREADS = 1


def duckdb_config(
    memory_limit: str | None, threads: int | None = DUCKDB_THREADS
) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB settings for loading and modelling within ``memory_limit`` (None: DuckDB's
    default) on ``threads`` threads (None: one per core). Row order within a table means
    nothing to jirakit's tables, and keeping it makes DuckDB buffer whole inserts."""
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    return config


def warehouse_for(
    dest: str | None,
    dataset: str | None = None,
    *,
    duckdb_memory: str | None = DUCKDB_MEMORY,
    duckdb_threads: int | None = DUCKDB_THREADS,
) -> Warehouse:
    """``duckdb:///path.duckdb``, ``postgres://...``/``postgresql://...``, or a dlt
    destination name; None writes ``./jira.duckdb``."""
    if not dest or dest.startswith("duckdb:///"):
        path = dest.removeprefix("duckdb:///") if dest else "jira.duckdb"
        config = duckdb_config(duckdb_memory, duckdb_threads)
        return Warehouse(
            dlt.destinations.duckdb({"database": path, "global_config": config}),
            "duckdb",
            path,
            dataset or "main",
            duckdb_memory,
            duckdb_threads,
        )
    if dest.startswith(("postgres://", "postgresql://")):
        dsn = dest.replace("postgres://", "postgresql://", 1)
        return Warehouse(dlt.destinations.postgres(dsn), "postgres", dsn, dataset or "jira")
    return Warehouse(dest, dest, None, dataset or "jira")


def run_warehouse_models(warehouse: Warehouse, *, now: datetime | None = None) -> dict[str, int]:
    """Rebuild the analytics models (DuckDB and Postgres)."""
    if warehouse.dialect not in ("duckdb", "postgres"):
        return {}
    from jirakit.sync.models import run_models

    conn = warehouse.connect()
    try:
        dialect: Any = warehouse.dialect
        return run_models(conn, dialect=dialect, schema=warehouse.dataset, now=now)
    finally:
        conn.close()


def _sql_tables(client: Any, schema: str) -> set[str]:
    rows = client.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", schema
    )
    return {str(r[0]) for r in rows or []}


def post_load(pipeline: Any, load_id: str | None = None) -> None:
    """Soft deletions and stale child rows, in the warehouse (SQL destinations only).

    Idempotent and independent of ``load_id`` (kept for callers): every statement compares
    rows with the current state, so it also completes the fix-ups of an earlier run that
    was killed after loading.
    """
    with pipeline.sql_client() as client:
        schema = pipeline.dataset_name
        tables = _sql_tables(client, schema)
        q = client.make_qualified_table_name
        if "issues" not in tables:
            return
        issues = q("issues")
        if "issue_deletions" in tables:
            # A deletion found after the issue's last load; an issue read again later
            # (restored, moved back into scope) was reloaded with is_deleted = false and
            # stays so.
            client.execute_sql(
                f"UPDATE {issues} SET is_deleted = true, deleted_at = d.deleted_at "
                f"FROM {q('issue_deletions')} d WHERE {issues}.id = d.id "
                f"AND NOT {issues}.is_deleted AND d.deleted_at >= {issues}.synced_at"
            )
        for table, template in _CHILDREN.items():
            if table in tables:
                client.execute_sql(template.format(t=q(table), issues=issues))
        deleted_issues = f"SELECT id FROM {issues} WHERE is_deleted"
        if "comments" in tables:
            client.execute_sql(
                f"UPDATE {q('comments')} SET is_deleted = true WHERE issue_id IN "
                f"({deleted_issues}) AND NOT is_deleted"
            )
        if "worklogs" in tables:
            worklogs = q("worklogs")
            gone = (
                f"SELECT id FROM {q('worklog_deletions')}"
                if "worklog_deletions" in tables
                else "SELECT NULL WHERE false"
            )
            if "worklog_deletions" in tables:
                client.execute_sql(
                    f"UPDATE {worklogs} SET is_deleted = true, deleted_at = d.deleted_at "
                    f"FROM {q('worklog_deletions')} d WHERE {worklogs}.id = d.id "
                    f"AND (NOT {worklogs}.is_deleted OR {worklogs}.deleted_at IS NULL)"
                )
            client.execute_sql(
                f"UPDATE {worklogs} SET is_deleted = true WHERE issue_id IN "
                f"({deleted_issues}) AND NOT is_deleted"
            )
            # Worklogs of an issue that came back, unless deleted themselves.
            client.execute_sql(
                f"UPDATE {worklogs} SET is_deleted = false WHERE is_deleted "
                f"AND issue_id IN (SELECT id FROM {issues} WHERE NOT is_deleted) "
                f"AND id NOT IN ({gone})"
            )


def _run_row(result: SyncResult, options: SyncOptions, finished: datetime) -> dict[str, Any]:
    run = result.run
    return {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "finished_at": finished,
        "status": result.status,
        "full_refresh": options.full_refresh,
        "cursor_from": run.cursor_from,
        "cursor_to": run.cursor_to,
        "requests": result.requests,
        "rows": dict(run.rows),
        "skipped": list(run.skipped),
        "error": result.error,
    }


def _record_run(pipeline: Any, row: dict[str, Any]) -> None:
    """Load a failed run's row. Through a pipeline opened WITHOUT ``refresh``: the failed
    run's pipeline may carry ``drop_sources`` (a full refresh), and running it again would
    drop every table and the cursor that the failure was meant to leave alone."""
    spec = TABLES["_sync_runs"]
    columns = {c.name: {"data_type": c.type, "nullable": c.nullable} for c in spec.columns}
    resource = dlt.resource(  # type: ignore[call-overload]  # dlt's column TypedDict
        [row], name="_sync_runs", write_disposition="merge", primary_key="run_id", columns=columns
    )
    recorder = dlt.pipeline(
        pipeline_name=pipeline.pipeline_name,
        destination=pipeline.destination,
        dataset_name=pipeline.dataset_name,
        pipelines_dir=pipeline.pipelines_dir,
    )
    recorder.run(resource)


def consecutive_failures(pipeline: Any) -> int:
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
        if status != "failed":
            break
        count += 1
    return count


def _bounded_memory(warehouse: Warehouse) -> dict[str, Any]:
    """dlt settings for a run whose memory does not grow with the site.

    - ``data_writer.buffer_max_items``: rows dlt holds per table before writing them out
      (its default 5000 issues, with their raw JSON, is over 100 MB);
    - ``data_writer.file_max_items``: rows per load file, so DuckDB copies bounded files;
    - ``load.workers``: load jobs at once. DuckDB's jobs share the database's
      ``memory_limit`` and its threads, so one job per DuckDB thread, and 2 when DuckDB
      takes a thread per core (dlt's default is 20): with one thread a second job would
      only queue for it and take its share of the memory.
    """
    settings: dict[str, Any] = {
        "data_writer.buffer_max_items": 1000,
        "data_writer.file_max_items": 2000,
    }
    if warehouse.dialect == "duckdb":
        settings["load.workers"] = warehouse.duckdb_threads or 2
    return settings


def run_sync(
    jira: Jira,
    *,
    warehouse: Warehouse,
    models: bool = True,
    pipeline_name: str = "jirakit",
    pipelines_dir: str | None = None,
    options: SyncOptions | None = None,
    sinks: Sequence[AlertSink] = (),
    failure_threshold: int = 3,
    progress: Callable[[str, int, int | None], None] | None = None,
    after_load: Callable[[Any], None] | None = None,
) -> SyncResult:
    """Sync once. Raises `FatalSyncError` (after recording the failed run) when the sync
    cannot go on; the cursor then stays where it was.

    ``progress(table, rows, expected)`` is called as rows are extracted (``rows`` new rows
    for ``table``; ``expected`` its total for this run where known, else None)."""
    options = options or SyncOptions()
    started = time.perf_counter()
    requests_before = jira.stats.requests
    try:
        server_time = read_again(jira, jira.server_info).server_time
    except Unauthorized as exc:
        raise FatalSyncError(
            f"Jira rejected the credentials (401): check the email and API token (or the PAT). {exc}"
        ) from exc
    run = RunContext(
        started_at=(server_time or datetime.now(UTC)).astimezone(UTC),
        progress=progress,
        requests_before=requests_before,
    )
    pipeline = dlt.pipeline(  # type: ignore[call-overload]  # refresh=None is accepted
        pipeline_name=pipeline_name,
        destination=warehouse.destination,
        dataset_name=warehouse.dataset,
        pipelines_dir=pipelines_dir,
        refresh="drop_sources" if options.full_refresh else None,
    )
    sinks = list(sinks) or [LogSink()]
    result = SyncResult(run, None, 0, 0.0)
    try:
        with dlt.config.values(_bounded_memory(warehouse)):
            info = pipeline.run(jira_source(jira, options, run))
        result.load_id = info.loads_ids[-1] if info.loads_ids else None
        release_memory()  # extraction's freed heap, before DuckDB takes its share
        if result.load_id and warehouse.dialect in ("duckdb", "postgres"):
            post_load(pipeline, result.load_id)
        if models:
            result.models = run_warehouse_models(warehouse, now=run.started_at)
        if after_load is not None:
            after_load(pipeline)
    except Exception as exc:
        result.status = "failed"
        cause = _fatal_cause(exc)
        result.error = str(cause or exc)
        result.requests = jira.stats.requests - requests_before
        result.seconds = time.perf_counter() - started
        try:
            _record_run(pipeline, _run_row(result, options, datetime.now(UTC)))
            alert = failure_alert(consecutive_failures(pipeline), failure_threshold)
            if alert is not None:
                for sink in sinks:
                    sink.send("Jira sync failing", [alert])
        except Exception as record_error:  # the destination may be what failed
            log.warning("jira.sync_record_failed", error=type(record_error).__name__)
        if cause is not None:
            raise cause from exc
        raise
    result.requests = jira.stats.requests - requests_before
    result.seconds = time.perf_counter() - started
    result.rows = dict(run.rows)
    if run.drift:
        for sink in sinks:
            sink.send("Jira schema drift", run.drift)
    return result


def _fatal_cause(exc: BaseException) -> FatalSyncError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, FatalSyncError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
