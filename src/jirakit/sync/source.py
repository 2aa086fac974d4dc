"""`jira_source`: Jira as a dlt source.

dlt owns loading, schema evolution, merging, destinations and state-with-data; this module
owns extraction, built for few requests and complete data:

- issue ids through ``search/jql`` with ``fields=id`` (5000 a page), details through
  ``issue/bulkfetch`` (100 a request), full history through ``changelog/bulkfetch``
  (1000 issues a request), concurrently within the client's rate limit;
- a closed-range ``updated >=`` cursor written in the Jira user's time zone, moved back by
  a lookback window (minute granularity, search lag), deduplicated by primary keys, and
  committed with the data (dlt source state), never past the run's start;
- deletions found by reconciling all ids in scope with the ids seen before;
- worklogs through ``worklog/updated`` + ``worklog/list``;
- field drift (new, removed, renamed, retyped fields) recorded as ``_drift_events``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dlt

from jirakit._logging import get_logger
from jirakit.client import Jira
from jirakit.errors import BadRequest, Forbidden, NotFound, ResponseDecodeError, Unauthorized
from jirakit.sync import transform as tf
from jirakit.sync._memory import release_memory
from jirakit.sync.arrow import to_arrow
from jirakit.sync.drift import DriftEvent, detect_drift, field_snapshot
from jirakit.sync.naming import ColumnMap, assign_columns
from jirakit.sync.schema import STREAMS, TABLES


class _JsonAsTextFilter(logging.Filter):
    """dlt warns whenever a column hinted ``json`` arrives in an Arrow table as text; that
    is how dlt itself carries JSON in Arrow (serialized strings), and the destination
    types the column from the hint, so the warning says nothing about jirakit's data."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "when merging arrow schema with dlt schema" in message:
            return False
        # A stop (SIGINT/SIGTERM) during the load: dlt warns that it leaves its package
        # part-loaded; jirakit's own one line says what that means for the next run.
        return not (
            message.startswith("Exiting runner due to signal")
            or ("was not fully loaded" in message and "jobs are left in the package" in message)
        )


logging.getLogger("dlt").addFilter(_JsonAsTextFilter())
_log = get_logger("jirakit.sync")
ID_PAGE = 5000
BULK = 100
CHANGELOG_BATCH = 1000
# A read whose body arrived cut short (a dropped connection mid-body) is read again.
UNREADABLE_ATTEMPTS = 5
# Worklogs of issues newer than any issue seen yet are held back (as ids) for this long,
# in case their issue is not visible to search yet; then they are dropped as out of scope.
PENDING_WORKLOG_MS = 60 * 60 * 1000
# Metadata reads at once (each endpoint has a rate-limit bucket of its own).
_META_WIDTH = 6
Row = dict[str, Any]
T = TypeVar("T")


class FatalSyncError(Exception):
    """The sync cannot go on (bad credentials, no permission); the cursor stays where it was."""


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """What to sync and how.

    - ``projects``: project keys to restrict to (default: every visible project);
    - ``streams``: a subset of ``metadata``, ``issues``, ``worklogs``;
    - ``lookback``: how far before the last run's start the next run looks again;
    - ``full_refresh``: ignore the cursor and read everything;
    - ``column_overrides``: field id or name -> column name;
    - ``concurrency``: parallel requests for bulk fetches;
    - ``list_every``: how long an incremental run may find deletions by comparing counts
      (`Extractor.issues`) before it lists every id in scope again.
    """

    projects: tuple[str, ...] = ()
    streams: tuple[str, ...] = STREAMS
    lookback: timedelta = timedelta(minutes=5)
    full_refresh: bool = False
    column_overrides: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 4
    list_every: timedelta = timedelta(hours=1)


class StopRequested(KeyboardInterrupt):
    """Raised at the sync's next safe point once a stop was asked for (`StopSignal`). A
    `KeyboardInterrupt`, as dlt's own ``SignalReceivedException`` is."""

    def __init__(self, signum: int) -> None:
        self.signal_code = signum
        super().__init__(f"stop requested (signal {signum})")


class StopSignal:
    """A stop asked for by a signal handler or another thread. The sync raises
    `StopRequested` at its next safe point: before a request, between batches, phases and
    model statements. A signal handler that raised there itself could fire inside the HTTP
    client's connection-pool lock and leave it held (a deadlock at close, seen)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum = 0

    def set(self, signum: int = signal.SIGINT) -> None:
        self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise StopRequested(self.signum)


@dataclass
class RunContext:
    """What one run saw, for the summary, alerts and ``_sync_runs``."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    cursor_from: datetime | None = None
    cursor_to: datetime | None = None
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    drift: list[DriftEvent] = field(default_factory=list)
    progress: Callable[[str, int, int | None], None] | None = None
    requests_before: int = 0
    expected: dict[str, int] = field(default_factory=dict)
    site: str | None = None
    # Where the run is (`PHASES`), for progress displays and for saying what an
    # interrupted or failed run committed.
    phase: str = "starting"
    on_phase: Callable[[str], None] | None = None
    # Start from an empty source state: the warehouse lost the rows the cursor stands for.
    reset_state: bool = False
    stop: StopSignal = field(default_factory=StopSignal)

    # Issues the warehouse holds (not deleted) that were updated near the cursor:
    # id -> (updated_at, synced_at) in epoch ms, read with the state checks. An issue
    # found by the changed-id search whose ``updated`` Jira still gives as the stored one
    # (and that was read after that update) is not read again (`Extractor.issues`).
    recent: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Start-up reads begun before the extraction (`pipeline.run_sync`), by name
    # ("myself", "fields"): the extraction takes their results instead of asking again.
    early: dict[str, Future[Any]] = field(default_factory=dict)
    # The destination's tables and their columns, where known (`materialize`).
    existing: dict[str, frozenset[str]] = field(default_factory=dict)

    # A full refresh's run history, read before dlt drops its tables (`outcome.history`)
    # and loaded again with the run: rows by table, not counted as this run's rows.
    kept: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    # Seconds spent in each phase, filled as the run moves on.
    timings: dict[str, float] = field(default_factory=dict)
    _phase_started: float = field(default_factory=time.perf_counter)

    def enter(self, phase: str) -> None:
        self.stop.check()
        now = time.perf_counter()
        self.timings[self.phase] = self.timings.get(self.phase, 0.0) + now - self._phase_started
        self.phase, self._phase_started = phase, now
        _log.info("jira.sync_phase", phase=phase, run_id=self.run_id)
        if self.on_phase is not None:
            self.on_phase(phase)

    def count(self, table: str, n: int) -> None:
        self.stop.check()
        self.rows[table] = self.rows.get(table, 0) + n
        if self.progress is not None and n:
            self.progress(table, n, self.expected.get(table))

    def expect(self, table: str, total: int) -> None:
        """How many rows ``table`` will get in this run, once known (issues: after the id
        search), for a progress display's ETA."""
        self.expected[table] = total
        if self.progress is not None:
            self.progress(table, 0, total)


# Tables whose rows are unique within one load by construction: every issue is read once
# per run (ids deduplicated before fetching), its comments and history with it, worklogs
# by distinct id; `Extractor.emit` also drops repeats within a batch. dlt is told so
# (``x-stage-data-deduplicated``) and merges without its ROW_NUMBER() pass over the staged
# rows, which DuckDB cannot spill to disk: on 20,000 issues with their raw JSON it ran
# out of a 512 MB memory limit. Issue links stay deduplicated by dlt: both ends of a link
# carry it.
UNIQUE_PER_LOAD = frozenset({"issues", "issue_field_history", "comments", "worklogs"})


def _hints(table: str, columns: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    spec = TABLES[table]
    cols: dict[str, dict[str, Any]] = {
        c.name: {"data_type": c.type, "nullable": c.nullable} for c in spec.columns
    }
    for name, extra in (columns or {}).items():
        cols[name] = dict(extra)
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition="merge",
        primary_key=list(spec.primary_key),
        columns=cols,  # type: ignore[arg-type]
        additional_table_hints=(
            {"x-stage-data-deduplicated": True} if table in UNIQUE_PER_LOAD else None
        ),
    )


def ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as inclusive ranges: compact state for 100k issue ids."""
    out: list[list[int]] = []
    for i in sorted(set(ids)):
        if out and out[-1][1] + 1 == i:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def unranges(spans: Iterable[Sequence[int]]) -> set[int]:
    return {i for start, end in spans for i in range(int(start), int(end) + 1)}


def jql_time(moment: datetime, tz: ZoneInfo) -> str:
    """A JQL date literal in the searching user's zone, floored to the minute, that Jira
    can only read as a moment at or before ``moment``.

    A wall time in the hour repeated when DST ends is ambiguous (Europe/Berlin's
    ``2026-10-25 02:30`` is 00:30 or 01:30 UTC), and servers differ in which one they pick
    (Java's lenient calendar takes standard time, the later one). An ambiguous literal
    whose later reading would pass ``moment`` is moved back until no reading does: the
    query then reads up to an hour more, never less.
    """
    moment = moment.astimezone(UTC)
    candidate = moment
    for _ in range(4):
        wall = candidate.astimezone(tz).replace(second=0, microsecond=0, tzinfo=None)
        readings = [wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
        if max(readings) <= moment:
            return wall.strftime("%Y-%m-%d %H:%M")
        candidate = min(readings) - timedelta(minutes=30)
    return moment.strftime("%Y-%m-%d %H:%M")  # unreachable for real zones


def read_again(jira: Jira, fn: Callable[[], T], attempts: int = UNREADABLE_ATTEMPTS) -> T:
    """``fn()`` (a read: GET or a read-only POST), again when the response body arrived
    unreadable (truncated). The client retries statuses and dropped connections itself; a
    2xx whose body is cut short reaches us as `ResponseDecodeError`. Each extra try is
    counted in ``jira.stats.retries``."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ResponseDecodeError as exc:
            if not exc.unreadable or attempt >= attempts:
                raise
            jira.stats.retries += 1
    raise AssertionError("unreachable")


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def first_then(future: Future[T] | None, fn: Callable[[], T]) -> Callable[[], T]:
    """``fn``, whose first call takes ``future``'s result instead (the same read, begun
    earlier); later calls (`read_again`'s tries after an unreadable body) read again."""
    taken = [future is None]

    def call() -> T:
        if not taken[0]:
            taken[0] = True
            assert future is not None
            return future.result()
        return fn()

    return call


def custom_column_hints(fields: Sequence[Mapping[str, Any]], columns: ColumnMap) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for f in fields:
        column = columns.column(str(f["id"]))
        if column is None:
            continue
        schema = f.get("schema") or {}
        kind = schema.get("type")
        if schema.get("custom") == tf.SPRINT_TYPE or kind == "array":
            data_type = "json"
        elif kind == "number":
            data_type = "double"
        elif kind == "date":
            data_type = "date"
        elif kind == "datetime":
            data_type = "timestamp"
        elif (
            kind in ("string", "option", "user", "option-with-child")
            or schema.get("custom") in tf.TEXT_CUSTOM_TYPES
        ):
            data_type = "text"
        else:
            # "any" and app-defined types: JSON holds whatever they carry. Declared, not
            # inferred from the first values seen, so every batch has the same columns
            # in the same order and dlt loads its files as written.
            data_type = "json"
        hints[column] = {"data_type": data_type, "nullable": True}
    return hints


class Extractor:
    """The extraction of one run. Yields dlt items (rows marked with their table)."""

    def __init__(
        self, jira: Jira, options: SyncOptions, run: RunContext, state: MutableMapping[str, Any]
    ) -> None:
        self.jira = jira
        self.options = options
        self.run = run
        self.state = state
        self.tz = ZoneInfo("UTC")
        self.fields: list[Mapping[str, Any]] = []
        self.info: tf.FieldInfo | None = None
        self.issue_hints: Any = None
        self.inferred: dict[str, dict[str, str]] = {}
        # Metadata and worklogs are emitted on threads of their own (`Background`) while
        # issues are: one emit at a time keeps the inferred types per table consistent.
        self._emitting = threading.Lock()

    # -- helpers ----------------------------------------------------------------------

    def emit(self, table: str, rows: list[Row], hints: Any = None) -> Any:
        """Rows for ``table``, handed to dlt as one typed Arrow table (see `sync.arrow`)."""
        with self._emitting:
            return self._emit(table, rows, hints)

    def _emit(self, table: str, rows: list[Row], hints: Any, *, count: bool = True) -> Any:
        if table in UNIQUE_PER_LOAD:
            key = TABLES[table].primary_key
            rows = list({tuple(r[k] for k in key): r for r in rows}.values())
        if count:
            self.run.count(table, len(rows))
        hints = hints or _hints(table)
        columns = hints["columns"]
        types = {name: col["data_type"] for name, col in columns.items()}
        required = frozenset(n for n, col in columns.items() if col.get("nullable") is False)
        batch = to_arrow(rows, types, self.inferred.setdefault(table, {}), required)
        return dlt.mark.with_hints(batch, hints, create_table_variant=True)

    def guard(self, what: str, fn: Callable[[], Any], *, required: bool = False) -> Any:
        """Classify errors: auth problems are fatal; a missing endpoint or resource is
        skipped for optional metadata, and fatal for the data itself (``required``): a
        cursor must never move past rows that were not read."""
        self.run.stop.check()
        try:
            return read_again(self.jira, fn)
        except Unauthorized as exc:
            raise FatalSyncError(
                f"Jira rejected the credentials while reading {what} (401): check the email "
                f"and API token (or the PAT). {exc}"
            ) from exc
        except Forbidden as exc:
            raise FatalSyncError(
                f"The account may not read {what} (403): grant it browse permission. {exc}"
            ) from exc
        except (NotFound, BadRequest) as exc:
            if required:
                raise FatalSyncError(
                    f"Jira answered {exc.status} while reading {what}: {exc.message}"
                    f"{self._scope_hint(exc)}"
                ) from exc
            self.run.skipped.append(f"{what}: {exc}")
            return None

    def _scope_hint(self, exc: Exception) -> str:
        """For a 400 on a search restricted by ``--projects``: the keys that exist."""
        if not (isinstance(exc, BadRequest) and self.options.projects):
            return ""
        try:
            keys = sorted(str(p.key) for p in self.jira.projects.list().all())
        except Exception:  # the hint is a courtesy; the error itself is what matters
            return ""
        return f" (projects you can see: {', '.join(keys) or 'none'})"

    # -- metadata -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Who we are (time zone for JQL) and the field set (columns, drift)."""
        early = self.run.early
        me = self.guard("/myself", first_then(early.pop("myself", None), self.jira.myself))
        try:
            self.tz = ZoneInfo(me.time_zone or "UTC") if me else ZoneInfo("UTC")
        except ZoneInfoNotFoundError:
            self.tz = ZoneInfo("UTC")
        listed = self.guard("/field", first_then(early.pop("fields", None), self.jira.fields.list))
        self.fields = [dict(f.raw) for f in listed or []]
        previous = self.state.get("columns") or {}
        reserved = {c.name for c in TABLES["issues"].columns}
        columns = assign_columns(
            self.fields,
            previous=previous,
            overrides=self.options.column_overrides,
            reserved=reserved,
        )
        self.state["columns"] = dict(columns.columns)
        snapshot = field_snapshot(self.fields)
        self.run.drift = detect_drift(self.state.get("fields_snapshot"), snapshot, columns.columns)
        self.state["fields_snapshot"] = snapshot
        self.info = tf.FieldInfo.from_fields(self.fields, columns)
        self.issue_hints = _hints("issues", custom_column_hints(self.fields, columns))

    def metadata(self) -> Iterator[Any]:
        """The site's metadata tables. Each endpoint is its own rate-limit bucket, so the
        reads run at once (`_META_WIDTH` at a time; the components and versions of each
        project, and the sprints of each board, once those are known): in a row they
        were ~20 requests one after another, the longest part of an incremental run."""
        with ThreadPoolExecutor(max_workers=_META_WIDTH, thread_name_prefix="jirakit-meta") as pool:
            yield from self._metadata(pool)

    def _metadata(self, pool: ThreadPoolExecutor) -> Iterator[Any]:
        assert self.info is not None
        columns = self.info.columns.columns

        def read(what: str, fn: Callable[[], Any]) -> Future[Any]:
            return pool.submit(self.guard, what, fn)

        projects_read = read("projects", lambda: self.jira.projects.list().all())
        boards_read = read("boards", lambda: list(self.jira.boards.list()))
        users_read = read("users", lambda: self.jira.users.all().all())
        categories_read = read("status categories", self.jira.meta.status_categories)
        statuses_read = read("statuses", self.jira.meta.statuses)
        lists_read = {
            "priorities": read("priorities", self.jira.meta.priorities),
            "resolutions": read("resolutions", self.jira.meta.resolutions),
        }
        types_read = read("issue types", self.jira.meta.issue_types)
        yield from self._emit_changed(
            "fields",
            [
                {
                    "id": f["id"],
                    "name": f.get("name"),
                    "column_name": columns.get(str(f["id"])),
                    "custom": bool(f.get("custom")),
                    "type": (f.get("schema") or {}).get("type"),
                    "custom_type": (f.get("schema") or {}).get("custom"),
                    "items": (f.get("schema") or {}).get("items"),
                    "raw": f,
                }
                for f in self.fields
            ],
        )
        projects = [p.raw for p in projects_read.result() or []]
        if self.options.projects:
            wanted = {k.upper() for k in self.options.projects}
            projects = [p for p in projects if str(p.get("key", "")).upper() in wanted]
        per_project = [
            (
                p,
                read(
                    f"components of {p['key']}",
                    partial(self.jira.projects.components, str(p["key"])),
                ),
                read(
                    f"versions of {p['key']}", partial(self.jira.projects.versions, str(p["key"]))
                ),
            )
            for p in projects
        ]
        boards = self._boards(projects, boards_read.result() or [], read)
        yield from self._emit_changed(
            "projects",
            [
                {
                    "id": int(p["id"]),
                    "key": p.get("key"),
                    "name": p.get("name"),
                    "project_type": p.get("projectTypeKey"),
                    "lead_id": tf.user_id(p.get("lead")),
                    "category": (p.get("projectCategory") or {}).get("name"),
                    "raw": dict(p),
                }
                for p in projects
            ],
        )
        users = users_read.result() or []
        yield from self._emit_changed(
            "users",
            [
                {
                    "id": u.id,
                    "display_name": u.display_name,
                    "email": u.email,
                    "active": u.active,
                    "account_type": u.get("accountType"),
                    "time_zone": u.time_zone,
                    "raw": dict(u.raw),
                }
                for u in users
                if u.id
            ],
        )
        categories = categories_read.result() or []
        yield from self._emit_changed(
            "status_categories",
            [{"id": int(c["id"]), "key": c.get("key"), "name": c.get("name")} for c in categories],
        )
        statuses = statuses_read.result() or []
        yield from self._emit_changed(
            "statuses",
            [
                {
                    "id": int(s["id"]),
                    "name": s.name,
                    "category_key": s.category,
                    "category_id": tf.as_int((s.get("statusCategory") or {}).get("id")),
                    "raw": dict(s.raw),
                }
                for s in statuses
            ],
        )
        for table, listed in lists_read.items():
            items = listed.result() or []
            yield from self._emit_changed(
                table, [{"id": int(i["id"]), "name": i.name, "raw": dict(i.raw)} for i in items]
            )
        types = types_read.result() or []
        yield from self._emit_changed(
            "issue_types",
            [
                {
                    "id": int(t["id"]),
                    "name": t.name,
                    "subtask": bool(t.get("subtask")),
                    "hierarchy_level": tf.as_int(t.get("hierarchyLevel")),
                    "raw": dict(t.raw),
                }
                for t in types
            ],
        )
        components: list[Row] = []
        versions: list[Row] = []
        for p, components_read, versions_read in per_project:
            for c in components_read.result() or []:
                components.append(
                    {
                        "id": int(c["id"]),
                        "project_id": int(p["id"]),
                        "name": c.get("name"),
                        "lead_id": tf.user_id(c.get("lead")),
                        "raw": c,
                    }
                )
            for v in versions_read.result() or []:
                versions.append(
                    {
                        "id": int(v["id"]),
                        "project_id": tf.as_int(v.get("projectId")) or int(p["id"]),
                        "name": v.get("name"),
                        "released": bool(v.get("released")),
                        "archived": bool(v.get("archived")),
                        "release_date": tf.day(v.get("releaseDate")),
                        "start_date": tf.day(v.get("startDate")),
                        "raw": v,
                    }
                )
        yield from self._emit_changed("components", components)
        yield from self._emit_changed("versions", versions)
        board_rows: list[Row] = []
        sprints: list[Row] = []
        for row, sprints_read in boards:
            board_rows.append(row)
            board_sprints = sprints_read.result() if sprints_read is not None else None
            sprints.extend(tf.sprint_row(sprint.raw) for sprint in board_sprints or [])
        yield from self._emit_changed("boards", board_rows)
        yield self.emit("sprints", sprints)

    def _emit_changed(self, table: str, rows: list[Row]) -> Iterator[Any]:
        """``rows`` for a metadata table, unless they are exactly what the last load
        gave it: a digest of each table's rows is kept in the source state, which dlt
        commits with the data, so an unchanged table is not loaded again. (Sprints are
        always loaded: issues bring sprint rows of their own into the same table.)"""
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
        digests = self.state.setdefault("meta_digests", {})
        if digests.get(table) == digest and not self.options.full_refresh:
            return
        yield self.emit(table, rows)
        digests[table] = digest

    def _boards(
        self,
        projects: Sequence[Mapping[str, Any]],
        listed: Sequence[Any],
        read: Callable[[str, Callable[[], Any]], Future[Any]],
    ) -> list[tuple[Row, Future[Any] | None]]:
        """Boards and the read of every sprint of each scrum board, from the Agile API
        (future sprints and sprints no issue is in included); sites without Jira Software
        answer 404 and the tables stay empty. Issues add the sprints they carry
        (`_issue_rows`)."""
        wanted = {str(p["key"]) for p in projects} if self.options.projects else None
        boards: list[tuple[Row, Future[Any] | None]] = []
        for board in listed:
            location = board.get("location") or {}
            if wanted is not None and location.get("projectKey") not in wanted:
                continue
            row = {
                "id": board.id,
                "name": board.name,
                "type": board.type,
                "project_id": tf.as_int(location.get("projectId")),
                "raw": dict(board.raw),
            }
            # Kanban boards have no sprints (Jira answers 400).
            sprints = (
                read(f"sprints of board {board.id}", partial(self._sprints, board.id))
                if board.type == "scrum"
                else None
            )
            boards.append((row, sprints))
        return boards

    def _sprints(self, board_id: int) -> list[Any]:
        return list(self.jira.sprints.list(board_id))

    # -- issues -------------------------------------------------------------------------

    def scope(self) -> str:
        if not self.options.projects:
            return ""
        keys = ", ".join(f'"{k}"' for k in self.options.projects)
        return f"project in ({keys})"

    def issue_ids(self, jql: str) -> list[int]:
        ids = self.guard(
            "issue ids",
            lambda: [
                int(i.id) for i in self.jira.search.iter(jql, fields=["id"], page_size=ID_PAGE)
            ],
            required=True,
        )
        return list(ids or [])

    def issues(self) -> Iterator[Any]:
        assert self.info is not None
        cursor_raw = self.state.get("cursor")
        cursor = tf.utc(cursor_raw) if cursor_raw and not self.options.full_refresh else None
        since = cursor - self.options.lookback if cursor else None
        self.run.cursor_from = since
        self.run.cursor_to = self.run.started_at
        parts = [p for p in [self.scope()] if p]
        parts.append(
            f'updated >= "{jql_time(since, self.tz)}"' if since else 'updated >= "1970-01-01"'
        )
        # Which ids are in scope now, for deletions and for issues that came back without
        # changing (a project opened again): those are read too, or they would stay
        # marked deleted. Found alongside the changed-id search, by listing every id
        # (5000 a page), or by one count: an issue enters the scope by being created or
        # updated (so the changed-id search finds it), so when Jira counts exactly the
        # ids seen before plus those changed, none was deleted or left. Any other count
        # means listing every id. Counts are trusted for ``list_every`` after the last
        # listing: an issue that became visible without an update (a permission granted)
        # in the same interval as another was deleted would balance the count; the next
        # listing finds both.
        everything = " AND ".join([p for p in [self.scope()] if p] + ['updated >= "1970-01-01"'])
        known = unranges(self.state.get("known_ids") or [])
        listed_at = tf.utc(self.state.get("listed_at"))
        counting = (
            since is not None
            and bool(known)
            and listed_at is not None
            and self.run.started_at - listed_at < self.options.list_every
        )
        probe: Future[Any] | None = None
        lister: ThreadPoolExecutor | None = None
        if since is not None:
            lister = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jirakit-ids")
            probe = lister.submit(self._count if counting else self.issue_ids, everything)
        try:
            # An issue updated while its id pages are read can move to a later page and be
            # listed twice; each issue is read once per run (see UNIQUE_PER_LOAD).
            changed = list(
                dict.fromkeys(self.issue_ids(" AND ".join(parts) + " ORDER BY updated ASC"))
            )
            listed = probe is None or not counting
            if probe is None:
                current = set(changed)
            elif counting:
                current = known | set(changed)
                count = probe.result()
                if count != len(current):
                    _log.info("jira.sync_count_differs", count=count, expected=len(current))
                    current = set(self.issue_ids(everything))
                    listed = True
            else:
                current = set(probe.result())
        finally:
            if lister is not None:
                lister.shutdown(wait=True, cancel_futures=True)
        if since is not None:
            changed = self._unchanged_left_out(changed, known, _ms(since))
            seen = set(changed)
            changed.extend(sorted(i for i in current - known if i not in seen))

        self.run.expect("issues", len(changed))
        sprints: dict[int, Row] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            yield from self._issue_stream(pool, changed, sprints)
        if sprints:
            yield self.emit("sprints", list(sprints.values()))

        # Deletions: every id in scope now, against every id seen before.
        gone = sorted(known - current)
        if gone:
            deleted_at = self.run.started_at
            yield self.emit("issue_deletions", [{"id": i, "deleted_at": deleted_at} for i in gone])
        self.state["known_ids"] = ranges(current | set(changed))
        if listed:
            self.state["listed_at"] = self.run.started_at.isoformat()
        # Committed with this load: the next run starts from this run's start.
        self.state["cursor"] = self.run.started_at.isoformat()

    def _count(self, jql: str) -> int:
        return int(self.guard("issue count", lambda: self.jira.search.count(jql), required=True))

    def _unchanged_left_out(self, ids: list[int], known: set[int], since_ms: int) -> list[int]:
        """``ids`` without the issues the warehouse already holds as Jira has them now.

        The changed-id search finds every issue updated since the cursor moved back by
        the lookback window, so an incremental run finds again the issues the run before
        it read. Those the warehouse holds (`RunContext.recent`) are asked for their
        ``updated`` (``issue/bulkfetch`` with that field only, 100 a request); one whose
        ``updated`` is the stored one, and that was read after that moment (its
        ``synced_at`` is later: any change since would carry a later ``updated``), is
        left out. The rest are read as before."""
        recent = self.run.recent
        asked = [i for i in ids if i in known and i in recent and recent[i][0] < recent[i][1]]
        if not asked:
            return ids
        chunks = [asked[n : n + BULK] for n in range(0, len(asked), BULK)]

        def versions(chunk: list[int]) -> Any:
            return self.guard(
                "issue versions",
                lambda: self.jira.issues.bulk_fetch(chunk, fields=["updated"]),
                required=True,
            )

        same: set[int] = set()
        width = max(1, min(self.options.concurrency, len(chunks)))
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="jirakit-versions") as pool:
            for result in pool.map(versions, chunks):
                for issue in result.issues if result is not None else []:
                    raw = issue.raw
                    updated = tf.utc((raw.get("fields") or {}).get("updated"))
                    issue_id = int(raw["id"])
                    if updated is not None and _ms(updated) == recent[issue_id][0]:
                        same.add(issue_id)
        if same:
            _log.info("jira.sync_unchanged", issues=len(same), asked=len(asked))
        return [i for i in ids if i not in same]

    def _issue_stream(
        self, pool: ThreadPoolExecutor, ids: list[int], sprints: dict[int, Row]
    ) -> Iterator[Any]:
        """Every issue of ``ids``: details 100 at a time with ``concurrency`` bulk fetches
        always in flight, history 1000 issues at a time.

        Fetcher threads take the next 100 ids as soon as their previous request answers
        and turn the answer into rows themselves, so the window of requests never waits
        for this generator (which hands rows to dlt) or for a changelog batch to finish.
        At most ``2 x concurrency`` converted answers wait here, so memory stays bounded
        when dlt is the slower side. A changelog batch's history is emitted once all of
        its issues have been.
        """
        assert self.info is not None
        width = max(1, self.options.concurrency)
        chunks = deque(
            (start // CHANGELOG_BATCH, ids[start + i : start + min(i + BULK, CHANGELOG_BATCH)])
            for start in range(0, len(ids), CHANGELOG_BATCH)
            for i in range(0, min(CHANGELOG_BATCH, len(ids) - start), BULK)
        )
        pending = [0] * ((len(ids) + CHANGELOG_BATCH - 1) // CHANGELOG_BATCH)
        for batch, _ in chunks:
            pending[batch] += 1
        histories: dict[int, Future[dict[int, list[Mapping[str, Any]]]]] = {}
        lock = threading.Lock()
        done: queue.Queue[Any] = queue.Queue(maxsize=2 * width)
        stopped = threading.Event()

        def history(batch: int) -> None:
            # Called under ``lock``: the batch's changelogs, and the next batch's ahead.
            for b in (batch, batch + 1):
                if b < len(pending) and b not in histories:
                    part = ids[b * CHANGELOG_BATCH : (b + 1) * CHANGELOG_BATCH]
                    histories[b] = pool.submit(self._changelogs, part)

        def put(item: Any) -> bool:
            while not stopped.is_set():
                try:
                    done.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            try:
                while not stopped.is_set():
                    with lock:
                        if not chunks:
                            return
                        batch, chunk = chunks.popleft()
                        history(batch)
                    issues = self._bulk_fetch(chunk)
                    if not put((batch, self._convert(pool, issues))):
                        return
            except BaseException as exc:  # raised by the consumer
                put(_Failure(exc))

        fetchers = [
            threading.Thread(target=fetch, name=f"jirakit-fetch-{n}", daemon=True)
            for n in range(min(width, len(chunks)))
        ]
        for thread in fetchers:
            thread.start()
        loaded: list[set[int]] = [set() for _ in pending]
        try:
            remaining = sum(pending)
            while remaining:
                item = done.get()
                if isinstance(item, _Failure):
                    raise item.exc
                batch, converted = item
                remaining -= 1
                pending[batch] -= 1
                yield from self._emit_converted(converted, sprints, loaded[batch])
                del item, converted
                if pending[batch] == 0:
                    histories_of = histories[batch].result()
                    release_memory()
                    yield self.emit(
                        "issue_field_history",
                        [
                            row
                            for issue_id in sorted(histories_of)
                            if issue_id in loaded[batch]
                            for row in tf.history_rows(issue_id, histories_of[issue_id])
                        ],
                    )
                    del histories[batch], histories_of
                    loaded[batch] = set()
        finally:
            stopped.set()
            for thread in fetchers:
                thread.join()

    def _issue_rows(
        self,
        pool: ThreadPoolExecutor,
        issues: list[Mapping[str, Any]],
        sprints: dict[int, Row],
        loaded: set[int],
    ) -> Iterator[Any]:
        """The dlt items of ``issues`` (as ``issue/bulkfetch`` returns them); their ids
        are added to ``loaded``, their sprints to ``sprints`` (`jirakit.sync.rows`)."""
        yield from self._emit_converted(self._convert(pool, issues), sprints, loaded)

    def _emit_converted(
        self, converted: _Converted, sprints: dict[int, Row], loaded: set[int]
    ) -> Iterator[Any]:
        loaded.update(converted.ids)
        sprints.update(converted.sprints)
        yield self.emit("issues", converted.issues, self.issue_hints)
        yield self.emit("comments", converted.comments)
        yield self.emit("issue_links", converted.links)
        yield self.emit("attachments", converted.attachments)
        yield self.emit("sprint_issues", converted.sprint_links)

    def _convert(self, pool: ThreadPoolExecutor, issues: list[Mapping[str, Any]]) -> _Converted:
        """One bulk fetch's issues as rows (on a fetcher thread: pure functions only; the
        rows are handed to dlt by the consumer)."""
        assert self.info is not None
        out = _Converted()
        comment_pages: list[Future[list[Row]]] = []
        for issue in issues:
            row = tf.issue_row(issue, self.info, self.run.started_at)
            out.issues.append(row)
            issue_id = row["id"]
            out.ids.append(issue_id)
            embedded = (issue.get("fields") or {}).get("comment") or {}
            comments = list(embedded.get("comments") or [])
            total = tf.as_int(embedded.get("total"))
            if total is not None and total > len(comments):
                comment_pages.append(pool.submit(self._all_comments, issue_id))
            else:
                out.comments.extend(tf.comment_row(issue_id, c) for c in comments)
            out.links.extend(tf.link_rows(issue))
            out.attachments.extend(tf.attachment_rows(issue))
            out.sprint_links.extend(tf.sprint_issue_rows(row))
            if self.info.sprint_field:
                for sprint in (issue.get("fields") or {}).get(self.info.sprint_field) or []:
                    if isinstance(sprint, Mapping) and sprint.get("id") is not None:
                        out.sprints[int(sprint["id"])] = tf.sprint_row(sprint)
        for page in comment_pages:
            out.comments.extend(page.result())
        return out

    def _bulk_fetch(self, ids: list[int]) -> list[Mapping[str, Any]]:
        result = self.guard(
            "issue details",
            lambda: self.jira.issues.bulk_fetch(ids, fields=["*all"]),
            required=True,
        )
        if result is None:
            return []
        for error in result.errors:
            self.run.skipped.append(f"issue/bulkfetch: {error}")
        return [i.raw for i in result.issues]

    def _changelogs(self, ids: list[int]) -> dict[int, list[Mapping[str, Any]]]:
        out: dict[int, list[Mapping[str, Any]]] = {}

        def fetch() -> None:
            out.clear()  # read again from the start after an unreadable page
            for log in self.jira.changelogs.bulk_fetch(ids):
                out.setdefault(int(log.issue_id), []).extend(log.histories)

        self.guard("changelogs", fetch, required=True)
        return out

    def _all_comments(self, issue_id: int) -> list[Row]:
        comments = self.guard(
            f"comments of {issue_id}",
            lambda: self.jira.comments.list(str(issue_id)).all(),
            required=True,
        )
        return [tf.comment_row(issue_id, c.raw) for c in comments or []]

    # -- worklogs -----------------------------------------------------------------------

    def worklogs(self) -> Iterator[Any]:
        """Worklogs changed since the last run (``worklog/updated``, which leaves out the
        last minute, so its cursor never passes it), read 1000 at a time by id."""
        full = self.options.full_refresh
        since = 0 if full else int(self.state.get("worklog_since") or 0)
        known = unranges(self.state.get("known_ids") or []) if self.options.projects else set()
        newest_known = max(known, default=0)
        deleted_since = 0 if full else int(self.state.get("worklog_deleted_since") or 0)
        # The deletions feed does not depend on the changes: read alongside them.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jirakit-wl") as pool:
            deletions = pool.submit(
                self.guard,
                "deleted worklogs",
                lambda: list(self.jira.worklogs.deleted_since(deleted_since)),
            )
            yield from self._worklog_changes(since, full, known, newest_known, deletions)

    def _worklog_changes(
        self,
        since: int,
        full: bool,
        known: set[int],
        newest_known: int,
        deletions: Future[Any],
    ) -> Iterator[Any]:
        changes = self.guard(
            "worklog changes", lambda: list(self.jira.worklogs.updated_since(since))
        )
        if changes is None:
            return
        # Held back last time: their issue was newer than any issue seen (maybe not
        # searchable yet).
        pending: dict[int, int] = (
            {} if full else {int(w): int(ms) for w, ms in self.state.get("worklog_pending") or []}
        )
        # ``worklog/updated`` gives the worklogs updated at ``since`` again (the cursor is
        # inclusive). It leaves out the last minute, so those were final when the last run
        # read them: the ones it read are not read again (without a project filter, where
        # every worklog is in scope whatever its issue).
        again = (
            set()
            if full or self.options.projects
            else {int(w) for w in self.state.get("worklog_since_ids") or []}
        )
        fresh = [
            c.worklog_id for c in changes if not (c.updated_ms == since and c.worklog_id in again)
        ]
        ids = list(dict.fromkeys([*fresh, *pending]))
        newest = max((c.updated_ms for c in changes), default=since)
        self.state["worklog_since_ids"] = sorted(
            {c.worklog_id for c in changes if c.updated_ms == newest}
        )
        held: dict[int, int] = {}
        for start in range(0, len(ids), 1000):
            worklogs = self.guard(
                "worklogs",
                partial(self.jira.worklogs.by_ids, ids[start : start + 1000]),
                required=True,
            )
            rows: list[Row] = []
            for w in worklogs or []:
                row = tf.worklog_row(w.raw)
                issue_id = row["issue_id"]
                # Without a project filter every worklog is in scope. With one, only
                # those of issues in scope; one of an issue newer than any seen may
                # belong to an issue search does not show yet: hold it for a while.
                if not self.options.projects or issue_id in known:
                    rows.append(row)
                elif issue_id is not None and issue_id > newest_known:
                    first = pending.get(row["id"], newest)
                    if newest - first < PENDING_WORKLOG_MS:
                        held[row["id"]] = first
            yield self.emit("worklogs", rows)
        deleted = deletions.result()
        if deleted:
            yield self.emit(
                "worklog_deletions",
                [{"id": d.worklog_id, "deleted_at": tf.utc(d.updated_ms)} for d in deleted],
            )
            self.state["worklog_deleted_since"] = max(d.updated_ms for d in deleted)
        self.state["worklog_since"] = newest
        self.state["worklog_pending"] = [[w, ms] for w, ms in sorted(held.items())]

    # -- the run --------------------------------------------------------------------------

    def materialize(self) -> Iterator[Any]:
        """Create every contract table, even ones this site gives no rows for, so the
        analytics models always find their inputs. A table the destination already holds
        with every column declared for it is left alone (each empty table was a load
        job of its own in every run)."""
        for table in TABLES:
            declared = (self.issue_hints if table == "issues" else _hints(table))["columns"]
            have = self.run.existing.get(table)
            if have is not None and set(declared) <= have and not self.options.full_refresh:
                continue
            if table == "_sync_runs":  # loaded as rows (`run_row`), like dlt's own tables
                yield dlt.mark.with_hints(
                    dlt.mark.materialize_table_schema(), _hints(table), create_table_variant=True
                )
            else:  # an empty Arrow table: the columns exactly as the data will bring them
                yield self.emit(table, [], self.issue_hints if table == "issues" else None)

    def run_row(self) -> Any:
        """This run's ``_sync_runs`` row, loaded with the data it describes."""
        run = self.run
        row = {
            "run_id": run.run_id,
            "site": run.site,
            "started_at": run.started_at,
            "finished_at": datetime.now(UTC),
            "status": "succeeded",
            "full_refresh": self.options.full_refresh,
            "cursor_from": run.cursor_from,
            "cursor_to": run.cursor_to,
            "requests": self.jira.stats.requests - run.requests_before,
            "rows": dict(run.rows),
            "skipped": list(run.skipped),
            "error": None,
        }
        runs = [*self.run.kept.get("_sync_runs", ()), row]
        return dlt.mark.with_hints(runs, _hints("_sync_runs"), create_table_variant=True)

    def drift_rows(self) -> Iterator[Any]:
        kept = self.run.kept.get("_drift_events")
        if kept:  # a full refresh's drift history, loaded again (`RunContext.kept`)
            with self._emitting:
                yield self._emit("_drift_events", kept, None, count=False)
        if self.run.drift:
            yield self.emit(
                "_drift_events",
                [e.row(self.run.run_id, self.run.started_at) for e in self.run.drift],
            )


class Background:
    """Runs a generator of dlt items on a thread of its own; the extraction hands its
    items to dlt between its own (`ready`) and at the end (`rest`). At most ``limit`` items
    wait, so a fast producer stays bounded; an exception in the producer is raised in the
    consumer; `stop` ends the producer early (the consumer failed or was closed)."""

    _DONE = object()

    def __init__(self, items: Iterator[Any], limit: int = 4) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=limit)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="jirakit-background", daemon=True
        )
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Failure(exc))
        self._put(self._DONE)

    def _take(self, item: Any) -> Any:
        if isinstance(item, _Failure):
            raise item.exc
        return item

    def ready(self) -> Iterator[Any]:
        """The items produced so far (without waiting)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is self._DONE:
                self._queue.put(item)  # for `rest`
                return
            yield self._take(item)

    def rest(self) -> Iterator[Any]:
        """Every remaining item, waiting for the producer to finish."""
        while (item := self._queue.get()) is not self._DONE:
            yield self._take(item)
        self._thread.join()

    def stop(self) -> None:
        self._stopped.set()


@dataclass(frozen=True)
class _Failure:
    exc: BaseException


@dataclass
class _Converted:
    """The rows of one bulk fetch's issues."""

    ids: list[int] = field(default_factory=list)
    issues: list[Row] = field(default_factory=list)
    comments: list[Row] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)
    attachments: list[Row] = field(default_factory=list)
    sprint_links: list[Row] = field(default_factory=list)
    sprints: dict[int, Row] = field(default_factory=dict)


def jira_source(
    jira: Jira,
    options: SyncOptions | None = None,
    run: RunContext | None = None,
) -> Any:
    """A dlt source reading a Jira site through ``jira`` (a `jirakit.Jira` client).

    Use it in any dlt pipeline: ``pipeline.run(jira_source(Jira(url, auth=...)))``.
    """
    options = options or SyncOptions()
    run = run or RunContext()
    unknown = set(options.streams) - set(STREAMS)
    if unknown:
        raise ValueError(f"unknown streams {sorted(unknown)}; choose from {', '.join(STREAMS)}")

    # Rows travel as Arrow tables (`sync.arrow`); dlt adds its load id to those only
    # when told to. The warehouse fix-ups compare load ids (`pipeline.post_load`), and
    # users' incremental models expect the column on every table, as row-based sources
    # give it. (No ``_dlt_id``: every table has a primary key, and computing one per row
    # means dlt rewriting every file.)
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True

    @dlt.source(name="jira", max_table_nesting=0)
    def source() -> Any:
        @dlt.resource(name="jira", selected=True)
        def everything() -> Iterator[Any]:
            state = dlt.current.source_state()
            if run.reset_state:
                state.clear()
            extractor = Extractor(jira, options, run, state)
            run.enter("metadata")
            extractor.prepare()
            yield from extractor.materialize()
            # Site metadata (its own endpoint buckets) is read on a thread of its own
            # while the issue ids are listed and the first bulk fetches run, rather than
            # before them: most of a run's start-up.
            meta = (
                Background(extractor.metadata())
                if "metadata" in options.streams and "issues" in options.streams
                else None
            )
            if meta is None and "metadata" in options.streams:
                yield from extractor.metadata()
            yield from extractor.drift_rows()
            # Worklogs are read alongside the issues (their own endpoint buckets) unless a
            # project filter makes them depend on which issues this run found.
            alongside = (
                "issues" in options.streams
                and "worklogs" in options.streams
                and not options.projects
            )
            background = Background(extractor.worklogs()) if alongside else None
            try:
                if "issues" in options.streams:
                    run.enter("issues")
                    for item in extractor.issues():
                        yield item
                        if meta is not None:
                            yield from meta.ready()
                        if background is not None:
                            yield from background.ready()
                if meta is not None:
                    yield from meta.rest()
                if background is not None:
                    run.enter("worklogs")
                    yield from background.rest()
                elif "worklogs" in options.streams:
                    run.enter("worklogs")
                    yield from extractor.worklogs()
            finally:
                if meta is not None:
                    meta.stop()
                if background is not None:
                    background.stop()
            release_memory()  # before dlt loads: the fetch threads' freed heap
            yield extractor.run_row()

        return everything

    return source()
