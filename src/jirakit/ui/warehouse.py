"""The warehouse-backed providers: project health, sync runs and schema drift, read from
one warehouse (a DuckDB file or a Postgres schema) that `jirakit sync` fills.

Every request opens its own read-only connection and closes it before answering: a
DuckDB file is then held for milliseconds. That matters, because DuckDB lets one process
write a file and no other process open it meanwhile, while a reader holding it open makes
a writer's open fail. So while the sync's progress file (`jirakit.sync.progress`) says a
sync is running into this DuckDB file, nothing here opens it: the pages say so, and the
syncs page shows the run's live progress with the runs last read. Postgres has no such
limit; there each request's connection is read-only (``default_transaction_read_only``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jirakit.sync.destination import Warehouse
from jirakit.sync.drift import DriftEvent
from jirakit.sync.progress import SyncProgress, read_progress
from jirakit.ui import health
from jirakit.ui.providers import (
    DriftEventRow,
    FilterChoices,
    HealthFilters,
    LiveRun,
    ProjectHealth,
    SyncActivity,
    SyncRun,
    Unavailable,
    Viewer,
)

__all__ = ["WarehouseSource"]

# What project health reads (the models and the tables they join).
HEALTH_TABLES = (
    "issue_enhanced",
    "issue_status_transitions",
    "daily_issue_field_history",
    "sprint_enhanced",
    "worklogs",
    "users",
    "statuses",
    "projects",
    "boards",
)


def _one_line(exc: BaseException) -> str:
    """A database error's message on one line, without the query echo DuckDB and
    Postgres add below it."""
    lines: list[str] = []
    for line in str(exc).splitlines():
        text = line.strip()
        if text.startswith("LINE ") or text == "^":
            break
        if text:
            lines.append(text)
    return " ".join(lines) or type(exc).__name__


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Reader:
    """One read-only connection: ``rows(sql, params)`` with ``{s}`` for the schema and
    ``?`` for parameters on either database."""

    def __init__(self, conn: Any, dialect: str, schema: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.schema = schema
        if dialect == "duckdb":
            catalog = conn.execute("SELECT current_catalog()").fetchone()[0]
            self.qualified = f"{_quote(str(catalog))}.{_quote(schema)}"
        else:
            self.qualified = _quote(schema)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text = sql.replace("{s}", self.qualified)
        if self.dialect == "postgres":
            text = text.replace("%", "%%").replace("?", "%s")
        return [tuple(r) for r in self.conn.execute(text, list(params)).fetchall()]

    def tables(self) -> set[str]:
        return {
            str(r[0])
            for r in self.rows(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [self.schema],
            )
        }


def _live(progress: SyncProgress | None) -> LiveRun | None:
    if progress is None:
        return None
    return LiveRun(
        status=progress.status,
        phase=progress.phase,
        site=progress.site,
        started_at=progress.started_at,
        phase_started_at=progress.phase_started_at,
        updated_at=progress.updated_at,
        rows=dict(progress.rows),
        expected=dict(progress.expected),
        requests=progress.requests,
        rate_limited=progress.rate_limited,
        waited_seconds=progress.waited_seconds,
        finished_at=progress.finished_at,
        error=progress.error,
        vanished=progress.vanished,
    )


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _type_label(value: Any) -> str:
    """A field type as the drift snapshot records it (``[type, items, custom type]``), in
    words: ``number (float)``, ``array of option (multiselect)``."""
    if not isinstance(value, list | tuple) or not value:
        return str(value)
    kind, items, custom = [*value, None, None][:3]
    text = str(kind)
    if items:
        text += f" of {items}"
    if custom:
        text += f" ({str(custom).rsplit(':', 1)[-1]})"
    return text


def _describe(kind: str, field_id: Any, name: Any, before: Any, after: Any, column: Any) -> str:
    """What changed, in a sentence (the sync's own wording, types in words)."""
    if kind == "field_type_changed":
        label = f"'{name}' ({field_id})" if field_id else f"'{name}'"
        return f"Field {label} changed type: {_type_label(before)} → {_type_label(after)}."
    return DriftEvent(kind, field_id, name, before, after, column).describe()  # type: ignore[arg-type]


class WarehouseSource:
    """Project health, sync runs and schema drift of one warehouse, for every viewer
    (the standalone dashboard has one user; the service scopes warehouses per tenant
    before it builds one of these).

    ``now`` is injectable (tests); ``connect_timeout`` bounds a Postgres connection;
    ``busy`` says (in a few words) that a writer this source cannot see through a
    progress file is writing the DuckDB file now (the service: a sync job of the queue),
    else None: then, as during a `jirakit sync`, the file is not opened at all."""

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        connect_timeout: int = 5,
        busy: Callable[[], str | None] | None = None,
    ) -> None:
        if warehouse.dialect not in ("duckdb", "postgres"):
            raise ValueError(
                f"the dashboard reads DuckDB or Postgres warehouses, not {warehouse.dialect!r}"
            )
        self.warehouse = warehouse
        self.now = now
        self.connect_timeout = connect_timeout
        self.busy = busy
        self._lock = threading.Lock()
        self._runs: tuple[SyncRun, ...] = ()
        self._runs_at: datetime | None = None
        self._runs_stamp: tuple[int, ...] | None = None

    # -- connections ---------------------------------------------------------------

    @property
    def path(self) -> Path:
        return Path(self.warehouse.location or "jira.duckdb")

    def describe(self) -> str:
        if self.warehouse.dialect == "duckdb":
            return str(self.path)
        where = self.warehouse.describe()
        return f"{where} (schema {self.warehouse.dataset})"

    def running_sync(self) -> SyncProgress | None:
        """The sync writing into this warehouse now, from its progress file."""
        progress = read_progress(self.warehouse)
        return progress if progress is not None and progress.running else None

    @contextmanager
    def reader(self) -> Iterator[_Reader]:
        """A read-only connection for one request; `Unavailable` (with a message for the
        page) when the warehouse cannot be read now."""
        if self.warehouse.dialect == "duckdb":
            conn, errors = self._duckdb()
        else:
            conn, errors = self._postgres()
        try:
            yield _Reader(conn, self.warehouse.dialect, self.warehouse.dataset)
        except errors as exc:
            raise Unavailable(f"Reading the warehouse failed: {_one_line(exc)}") from exc
        finally:
            conn.close()

    def _duckdb(self) -> tuple[Any, tuple[type[BaseException], ...]]:
        import duckdb

        running = self.running_sync()
        if running is not None:
            raise Unavailable(
                f"A sync is writing {self.path} ({running.phase}), and DuckDB lets no "
                "other program read a file while one writes it. These pages come back "
                "when the sync ends; the Syncs page follows it meanwhile.",
                retry_after=5,
            )
        writer = self.busy() if self.busy is not None else None
        if writer is not None:
            raise Unavailable(
                f"{writer} is writing {self.path}, and DuckDB lets no other program read a "
                "file while one writes it. These pages come back when it ends; the Syncs "
                "page follows it meanwhile.",
                retry_after=5,
            )
        if not self.path.is_file():
            raise Unavailable(
                f"{self.path} does not exist yet: run `jirakit sync --dest "
                f"duckdb:///{self.path}` first.",
                retry_after=30,
            )
        try:
            conn = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:
            text = _one_line(exc)
            if "lock" in text.lower():
                raise Unavailable(
                    f"{self.path} is locked by another program writing it (a `jirakit "
                    "sync` started elsewhere, or a DuckDB shell); these pages come back "
                    f"when it lets go. DuckDB says: {text}",
                    retry_after=5,
                ) from exc
            raise Unavailable(f"Cannot open {self.path}: {text}", retry_after=30) from exc
        try:
            conn.execute("SET TimeZone = 'UTC'")
            if self.warehouse.dataset != "main":
                conn.execute(
                    f"SET schema = '{self.warehouse.dataset.replace(chr(39), chr(39) * 2)}'"
                )
        except duckdb.Error as exc:
            conn.close()
            raise Unavailable(f"Dataset {self.warehouse.dataset!r}: {_one_line(exc)}") from exc
        return conn, (duckdb.Error,)

    def _postgres(self) -> tuple[Any, tuple[type[BaseException], ...]]:
        import psycopg

        try:
            conn = psycopg.connect(
                self.warehouse.conninfo(),
                autocommit=True,
                connect_timeout=self.connect_timeout,
                options="-c default_transaction_read_only=on -c TimeZone=UTC",
            )
        except psycopg.Error as exc:  # names host and port, never the password
            raise Unavailable(
                f"Cannot reach Postgres ({self.warehouse.describe()}): {_one_line(exc)}",
                retry_after=10,
            ) from exc
        return conn, (psycopg.Error,)

    def _require(self, reader: _Reader, tables: Sequence[str]) -> None:
        missing = [t for t in tables if t not in reader.tables()]
        if missing:
            raise Unavailable(
                f"{self.describe()} has no {', '.join(missing)} yet: run `jirakit sync` "
                "into it (the models are built after each load).",
                retry_after=30,
            )

    # -- project health ------------------------------------------------------------

    def filter_choices(self, viewer: Viewer, connection: str | None = None) -> FilterChoices:
        with self.reader() as r:
            self._require(r, ("projects", "boards", "issue_enhanced"))
            projects = tuple(
                (str(k), str(n or k))
                for k, n in r.rows("SELECT key, name FROM {s}.projects ORDER BY key")
            )
            boards = tuple(
                (int(i), str(n or f"Board {i}"), None if k is None else str(k))
                for i, n, k in r.rows(
                    "SELECT b.id, b.name, p.key FROM {s}.boards AS b"
                    " LEFT JOIN {s}.projects AS p ON p.id = b.project_id ORDER BY b.name, b.id"
                )
            )
            first = r.rows(
                "SELECT min(CAST(created_at AT TIME ZONE 'UTC' AS DATE)) FROM {s}.issue_enhanced"
            )[0][0]
        return FilterChoices(projects, boards, first, self.now().astimezone(UTC).date())

    def project_health(
        self, viewer: Viewer, filters: HealthFilters, connection: str | None = None
    ) -> ProjectHealth:
        with self.reader() as r:
            self._require(r, HEALTH_TABLES)
            return health.build(r.rows, filters, now=self.now())

    # -- syncs ---------------------------------------------------------------------

    def sync_activity(
        self, viewer: Viewer, connection: str | None = None, *, limit: int = 50
    ) -> SyncActivity:
        progress = read_progress(self.warehouse)
        live = _live(progress)
        writer = self.busy() if self.busy is not None else None
        if self.warehouse.dialect == "duckdb" and writer is not None:
            with self._lock:
                runs, at = self._runs, self._runs_at
            when = f" (read at {at:%H:%M:%S} UTC)" if at else ""
            return SyncActivity(
                runs,
                live,
                notice=(
                    f"{writer} is writing the DuckDB file, which no other program can open "
                    f"meanwhile: the runs below are as last read{when}, and the list "
                    "refreshes when it ends."
                ),
                runs_as_of=at,
            )
        if self.warehouse.dialect == "duckdb" and progress is not None and progress.running:
            with self._lock:
                runs, at = self._runs, self._runs_at
            when = f" (read at {at:%H:%M:%S} UTC)" if at else ""
            return SyncActivity(
                runs,
                live,
                notice=(
                    "A sync is writing the DuckDB file, which no other program can open "
                    f"meanwhile: the runs below are as last read{when}, and the list "
                    "refreshes when the sync ends."
                ),
                runs_as_of=at,
            )
        stamp = self._file_stamp()
        with self._lock:
            if stamp is not None and stamp == self._runs_stamp:
                # The file has not changed since the runs were read: no need to open it
                # (each open would hold off a sync starting at that moment).
                return SyncActivity(self._runs, live)
        try:
            runs = self._read_runs(limit)
        except Unavailable as exc:
            with self._lock:
                cached, at = self._runs, self._runs_at
            return SyncActivity(cached, live, notice=exc.message, runs_as_of=at)
        with self._lock:
            self._runs, self._runs_at, self._runs_stamp = runs, self.now(), stamp
        return SyncActivity(runs, live)

    def _file_stamp(self) -> tuple[int, ...] | None:
        """The DuckDB file's (and its WAL's) size and change time, None on Postgres."""
        if self.warehouse.dialect != "duckdb":
            return None
        stamp: list[int] = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                info = path.stat()
            except OSError:
                stamp.extend((-1, -1))
            else:
                stamp.extend((info.st_size, info.st_mtime_ns))
        return tuple(stamp)

    def _read_runs(self, limit: int) -> tuple[SyncRun, ...]:
        with self.reader() as r:
            if "_sync_runs" not in r.tables():
                return ()
            columns = {
                str(c[0])
                for c in r.rows(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = '_sync_runs'",
                    [r.schema],
                )
            }
            # Runs recorded before they carried rate-limit figures: none to show.
            waits = ", ".join(
                c if c in columns else "NULL" for c in ("rate_limited", "waited_seconds")
            )
            rows = r.rows(
                "SELECT run_id, site, status, started_at, finished_at, full_refresh,"
                f" requests, rows, skipped, error, cursor_from, {waits} FROM {{s}}._sync_runs"
                f" ORDER BY started_at DESC NULLS LAST, run_id LIMIT {int(limit)}"
            )
        runs = []
        for row in rows:
            run_id, site, status, started, finished, full, requests, rows_, skipped = row[:9]
            error = row[9]
            counts = _json(rows_) or {}
            skipped_items = _json(skipped) or []
            runs.append(
                SyncRun(
                    run_id=str(run_id),
                    site=None if site is None else str(site),
                    status=str(status or "unknown"),
                    started_at=started,
                    finished_at=finished,
                    full_refresh=bool(full),
                    requests=None if requests is None else int(requests),
                    rows={str(k): int(v) for k, v in dict(counts).items() if v is not None},
                    skipped=len(skipped_items) if isinstance(skipped_items, list) else 0,
                    error=None if error is None else str(error),
                    cursor_from=row[10],
                    rate_limited=None if row[11] is None else int(row[11]),
                    waited_seconds=None if row[12] is None else float(row[12]),
                )
            )
        return tuple(runs)

    # -- drift ---------------------------------------------------------------------

    def drift_events(
        self, viewer: Viewer, connection: str | None = None, *, limit: int = 500
    ) -> tuple[DriftEventRow, ...]:
        with self.reader() as r:
            if "_drift_events" not in r.tables():
                return ()
            rows = r.rows(
                "SELECT id, run_id, detected_at, kind, field_id, field_name, column_name,"
                " before, after FROM {s}._drift_events"
                f" ORDER BY detected_at DESC NULLS LAST, id LIMIT {int(limit)}"
            )
        events = []
        for id_, run_id, detected, kind, field_id, name, column, before, after in rows:
            before_v, after_v = _json(before), _json(after)
            events.append(
                DriftEventRow(
                    id=str(id_),
                    run_id=None if run_id is None else str(run_id),
                    detected_at=detected,
                    kind=str(kind),
                    field_id=None if field_id is None else str(field_id),
                    field_name=None if name is None else str(name),
                    column_name=None if column is None else str(column),
                    before=before_v,
                    after=after_v,
                    description=_describe(kind, field_id, name, before_v, after_v, column),
                )
            )
        return tuple(events)
