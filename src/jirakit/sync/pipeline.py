"""Running a sync end to end: extract + load with dlt, then fix-ups and models in the
warehouse, then the run's record and alerts."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt

from jirakit._logging import get_logger
from jirakit.client import Jira
from jirakit.errors import Unauthorized
from jirakit.sync import outcome
from jirakit.sync import state as sync_state
from jirakit.sync._memory import release_memory
from jirakit.sync.destination import (
    DUCKDB_MEMORY,
    DUCKDB_THREADS,
    DestinationError,
    Warehouse,
    check_destination,
    duckdb_config,
    warehouse_for,
)
from jirakit.sync.drift import AlertSink, LogSink, failure_alert
from jirakit.sync.models import ModelRun
from jirakit.sync.source import (
    FatalSyncError,
    RunContext,
    StopSignal,
    SyncOptions,
    first_then,
    jira_source,
    read_again,
)

__all__ = [
    "DUCKDB_MEMORY",
    "DUCKDB_THREADS",
    "DestinationError",
    "StopSignal",
    "SyncInterrupted",
    "SyncResult",
    "Warehouse",
    "check_destination",
    "duckdb_config",
    "post_load",
    "run_sync",
    "run_warehouse_models",
    "warehouse_for",
]

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
    """One run. ``rows`` counts what reached the warehouse with this run's load (read back
    from the destination where jirakit has SQL access, else what was extracted);
    ``resumed`` what this run loaded for an earlier, interrupted one; ``plan`` says
    whether it was a full or an incremental load, and why; ``models_mode`` whether the
    models were rebuilt ``full`` or ``incremental`` (empty: not built)."""

    run: RunContext
    load_id: str | None
    requests: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    status: str = "succeeded"
    error: str | None = None
    models: dict[str, int] = field(default_factory=dict)
    plan: str = ""
    resumed: dict[str, int] = field(default_factory=dict)
    models_mode: str = ""
    # Jira's 429 answers, and seconds spent waiting on its rate limit and on retries.
    rate_limited: int = 0
    waited_seconds: float = 0.0


class SyncInterrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT or SIGTERM. ``committed`` says, in one sentence, what
    the warehouse holds now and where the next run resumes; the run is recorded in
    ``_sync_runs`` as ``interrupted``. A `KeyboardInterrupt`, so callers that stop on
    Ctrl-C keep doing so."""

    def __init__(self, signum: int, phase: str, committed: str) -> None:
        self.signum = signum
        self.phase = phase
        self.committed = committed
        super().__init__(f"interrupted during {phase}: {committed}")


def run_warehouse_models(
    warehouse: Warehouse,
    *,
    now: datetime | None = None,
    before_each: Callable[[str], None] | None = None,
    incremental: bool = False,
) -> ModelRun | None:
    """Build the analytics models (DuckDB and Postgres; None elsewhere): rebuilt whole,
    or with ``incremental`` for the issues loaded since their last build where that gives
    the same result (`jirakit.sync.models.build_models`)."""
    if warehouse.dialect not in ("duckdb", "postgres"):
        return None
    from jirakit.sync.models import build_models

    conn = warehouse.connect()
    try:
        dialect: Any = warehouse.dialect
        return build_models(
            conn,
            dialect=dialect,
            schema=warehouse.dataset,
            now=now,
            before_each=before_each,
            incremental=incremental,
        )
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


@contextmanager
def _quiet_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM off while a stopped run is recorded (main thread only): a
    second Ctrl-C must not leave the run unrecorded half-way."""
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    except ValueError:  # not the main thread: nothing to hold off
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_sync(
    jira: Jira,
    *,
    warehouse: Warehouse,
    models: bool = True,
    pipeline_name: str | None = None,
    pipelines_dir: str | None = None,
    options: SyncOptions | None = None,
    sinks: Sequence[AlertSink] = (),
    failure_threshold: int = 3,
    progress: Callable[[str, int, int | None], None] | None = None,
    after_load: Callable[[Any], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    stop: StopSignal | None = None,
) -> SyncResult:
    """Sync once.

    The cursor belongs to (site, destination, dataset): the dlt pipeline is named after
    them (``pipeline_name`` overrides), and the destination's committed state decides
    (`jirakit.sync.state`); the local pipelines folder is a cache. A run counts what
    reached the warehouse against what it read, and fails when they differ.

    Raises `FatalSyncError` (after recording the failed run) when the sync cannot go on,
    with a one-line message that says what failed and what was committed; the cursor then
    stays where it was. Raises `SyncInterrupted` on SIGINT/SIGTERM (after recording it).

    ``progress(table, rows, expected)`` is called as rows are extracted (``rows`` new rows
    for ``table``; ``expected`` its total for this run where known, else None);
    ``on_phase(name)`` as the run moves between `outcome.PHASES`. ``stop`` (a
    `StopSignal`, set from a signal handler or another thread) stops the run at its next
    safe point, as SIGINT does.

    On DuckDB the run holds the file only where it needs it: a moment for the state checks
    (and dlt's, and the load of an interrupted run's rows), then not while extracting and
    normalizing, then one connection (`Warehouse.session`) from the load through the
    fix-ups, the models and the run's record. Other processes (`jirakit sql`, the webhook
    receiver) can open the file while the run reads Jira."""
    return _run_sync(
        jira,
        warehouse=warehouse,
        models=models,
        pipeline_name=pipeline_name,
        pipelines_dir=pipelines_dir,
        options=options,
        sinks=sinks,
        failure_threshold=failure_threshold,
        progress=progress,
        after_load=after_load,
        on_phase=on_phase,
        stop=stop,
    )


def _run_sync(jira: Jira, **kwargs: Any) -> SyncResult:
    # The reads every run starts with (serverInfo, myself, field) begin at once, while
    # the warehouse is checked and dlt starts: they were three requests in a row.
    early = ThreadPoolExecutor(max_workers=3, thread_name_prefix="jirakit-start")
    try:
        return _sync_once(jira, early=early, **kwargs)
    finally:
        early.shutdown(wait=False, cancel_futures=True)


def _sync_once(
    jira: Jira,
    *,
    early: ThreadPoolExecutor,
    warehouse: Warehouse,
    models: bool,
    pipeline_name: str | None,
    pipelines_dir: str | None,
    options: SyncOptions | None,
    sinks: Sequence[AlertSink],
    failure_threshold: int,
    progress: Callable[[str, int, int | None], None] | None,
    after_load: Callable[[Any], None] | None,
    on_phase: Callable[[str], None] | None,
    stop: StopSignal | None,
) -> SyncResult:
    options = options or SyncOptions()
    started = time.perf_counter()
    requests_before = jira.stats.requests
    waits_before = _waits(jira)
    run = RunContext(
        progress=progress,
        requests_before=requests_before,
        on_phase=on_phase,
        stop=stop or StopSignal(),
    )
    run.enter("checking the warehouse")
    if jira.base_url is None:  # OAuth: the site is known once its cloudId is resolved
        read_again(jira, jira.server_info)
    server = early.submit(jira.server_info)
    run.early["myself"] = early.submit(jira.myself)
    run.early["fields"] = early.submit(jira.fields.list)
    site = sync_state.site_identity(jira.base_url)
    run.site = site
    name = pipeline_name or sync_state.pipeline_name(site, warehouse)
    with warehouse.session() as held:  # the state checks hold the file a moment
        seen = sync_state.inspect(held, name, recent_within=options.lookback)
    others = sync_state.other_sites(seen, site)
    if others:
        raise FatalSyncError(
            f"{warehouse.describe()} (dataset {warehouse.dataset}) holds data synced from "
            f"{others[0]}; sync {site} into a dataset of its own (--dataset NAME), so the two "
            "sites never mix"
        )
    pipeline = _pipeline(
        name, warehouse, pipelines_dir, refresh="drop_sources" if options.full_refresh else None
    )
    local_state = dict(pipeline.state.get("sources", {}).get("jira", {}))
    how = sync_state.plan(
        seen,
        site=site,
        where=warehouse.describe(),
        local_state=local_state,
        full_refresh=options.full_refresh,
    )
    if how.discarded_cache or (not seen.committed and seen.known and pipeline.has_data):
        pipeline = pipeline.drop()  # a cache of state the destination does not hold
    run.reset_state = how.reset_state
    sinks = list(sinks) or [LogSink()]
    result = SyncResult(run, None, 0, 0.0, plan=how.reason)
    load_ids: list[str] = []
    # The file is held from the load to the run's record (`Warehouse.session`), not while
    # extracting: `wh` is the warehouse to use at each point.
    wh = warehouse
    with ExitStack() as hold:
        try:
            run.enter("connecting")
            try:
                server_time = read_again(jira, first_then(server, jira.server_info)).server_time
            except Unauthorized as exc:
                raise FatalSyncError(
                    "Jira rejected the credentials (401): check the email and API token "
                    f"(or the PAT). {exc}"
                ) from exc
            run.started_at = (server_time or datetime.now(UTC)).astimezone(UTC)
            pipeline.sync_destination()
            run.recent = dict(seen.recent)
            run.existing = dict(seen.columns)
            if pipeline.has_pending_data:
                # The stored rows are about to change under the versions just read.
                run.recent = {}
                run.enter("loading an interrupted run's rows")
                unfinished = outcome.unfinished_runs(warehouse)
                pipeline.normalize()
                resumed = pipeline.load()
                outcome.keep_unfinished(warehouse, unfinished)
                resumed_ids = list(resumed.loads_ids) if resumed is not None else []
                result.resumed = outcome.loaded_rows(warehouse, resumed_ids)
            if options.full_refresh:  # after any resumed package: its rows are history too
                run.kept = outcome.history(warehouse)
            with dlt.config.values(_bounded_memory(warehouse)):
                pipeline.extract(jira_source(jira, options, run))
                release_memory()  # extraction's freed heap, before DuckDB takes its share
                run.enter("normalizing")
                pipeline.normalize()
                run.enter("loading")
                # From here to the run's record, one connection to a DuckDB file (each
                # opening costs a checkpoint and a catalog read); the pipeline is made
                # again on it, and finds its state and normalized packages in its folder.
                wh = hold.enter_context(warehouse.session())
                if wh is not warehouse:
                    pipeline = _pipeline(name, wh, pipelines_dir)
                info = pipeline.load()
            load_ids = list(info.loads_ids) if info is not None else []
            result.load_id = load_ids[-1] if load_ids else None
            result.rows = outcome.loaded_rows(wh, load_ids) or dict(run.rows)
            for table, kept in run.kept.items():  # history loaded again, not this run's
                if table in result.rows:
                    result.rows[table] = max(0, result.rows[table] - len(kept))
            missing = outcome.shortfall(run.rows, result.rows, sql=wh.dialect in _SQL)
            if missing:
                raise FatalSyncError(
                    f"the warehouse holds fewer rows than this run read ({missing}); the run "
                    "is recorded as failed: run it again"
                )
            if result.load_id and wh.dialect in _SQL:
                run.enter("fix-ups")
                post_load(pipeline, result.load_id)
            if models:
                run.enter("models")
                built = run_warehouse_models(
                    wh,
                    now=run.started_at,
                    before_each=lambda _model: run.stop.check(),
                    incremental=not options.full_refresh,
                )
                if built is not None:
                    result.models = built.counts
                    result.models_mode = built.mode
                    log.info("jira.sync_models", mode=built.mode, issues=built.issues)
            if after_load is not None:
                after_load(pipeline)
            run.enter("done")
        except KeyboardInterrupt as exc:
            signum = int(getattr(exc, "signal_code", 0) or signal.SIGINT)
            committed = outcome.committed(wh, name, run.phase, seen, bool(load_ids))
            result.status = "interrupted"
            result.error = f"interrupted ({signal.Signals(signum).name}) during {run.phase}"
            with _quiet_signals():
                _finish_unsuccessful(
                    result,
                    pipeline,
                    options,
                    jira,
                    started,
                    requests_before,
                    sinks,
                    waits=waits_before,
                )
            raise SyncInterrupted(signum, run.phase, committed) from None
        except Exception as exc:
            interrupted = outcome.interruption(exc)
            if interrupted is not None:  # dlt's own signal handling, wrapped in its step error
                committed = outcome.committed(wh, name, run.phase, seen, bool(load_ids))
                result.status = "interrupted"
                result.error = (
                    f"interrupted ({signal.Signals(interrupted).name}) during {run.phase}"
                )
                with _quiet_signals():
                    _finish_unsuccessful(
                        result,
                        pipeline,
                        options,
                        jira,
                        started,
                        requests_before,
                        sinks,
                        waits=waits_before,
                    )
                raise SyncInterrupted(interrupted, run.phase, committed) from None
            result.status = "failed"
            committed = outcome.committed(wh, name, run.phase, seen, bool(load_ids))
            result.error = outcome.describe(exc)
            _finish_unsuccessful(
                result,
                pipeline,
                options,
                jira,
                started,
                requests_before,
                sinks,
                failure_threshold,
                waits=waits_before,
            )
            raise FatalSyncError(f"{result.error}. {committed}") from exc
        result.requests = jira.stats.requests - requests_before
        result.seconds = time.perf_counter() - started
        _count_waits(result, jira, waits_before)
        if result.rows != run.rows and wh.dialect in _SQL:
            outcome.update_run_rows(wh, run.run_id, result.rows)
        if wh.dialect in _SQL:  # the run's row was loaded before the waits were known
            outcome.update_run_waits(wh, run.run_id, result.rate_limited, result.waited_seconds)
        if run.drift:
            for sink in sinks:
                sink.send("Jira schema drift", run.drift)
        return result


_SQL = ("duckdb", "postgres")


def _pipeline(
    name: str, warehouse: Warehouse, pipelines_dir: str | None, *, refresh: str | None = None
) -> Any:
    """The run's dlt pipeline on ``warehouse``'s destination. Made again under the same
    name and folder, it takes up the state and pending packages the last one left."""
    return dlt.pipeline(  # type: ignore[call-overload]  # refresh=None is accepted
        pipeline_name=name,
        destination=warehouse.destination,
        dataset_name=warehouse.dataset,
        pipelines_dir=pipelines_dir,
        refresh=refresh,
    )


def _waits(jira: Jira) -> tuple[int, float]:
    """The client's 429 answers and seconds spent waiting on limits and retries so far."""
    stats = jira.stats
    return stats.by_status.get(429, 0), stats.throttled_seconds + stats.retry_wait_seconds


def _count_waits(result: SyncResult, jira: Jira, before: tuple[int, float]) -> None:
    limited, waited = _waits(jira)
    result.rate_limited = limited - before[0]
    result.waited_seconds = round(max(0.0, waited - before[1]), 3)


def _finish_unsuccessful(
    result: SyncResult,
    pipeline: Any,
    options: SyncOptions,
    jira: Jira,
    started: float,
    requests_before: int,
    sinks: Sequence[AlertSink],
    threshold: int = 0,
    *,
    waits: tuple[int, float] = (0, 0.0),
) -> int:
    """Record a failed or interrupted run in ``_sync_runs`` and alert on repeated
    failures; returns the count of consecutive failures (0 when it cannot be read)."""
    result.requests = jira.stats.requests - requests_before
    result.seconds = time.perf_counter() - started
    _count_waits(result, jira, waits)
    try:
        outcome.record_run(pipeline, outcome.run_row(result, options, datetime.now(UTC)))
    except Exception as record_error:  # the destination may be what failed
        log.warning("jira.sync_record_failed", error=type(record_error).__name__)
        return 0
    failures = outcome.consecutive_failures(pipeline)
    alert = failure_alert(failures, threshold) if result.status == "failed" else None
    if alert is not None:
        for sink in sinks:
            sink.send("Jira sync failing", [alert])
    return failures
