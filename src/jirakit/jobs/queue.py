"""The job queue: procrastinate on Postgres beyond one machine, SQLite in-process on one.

One setting switches: ``open_queue("postgresql://...")`` or ``open_queue("sqlite:///jobs.db")``
(``JIRAKIT_JOBS_URL``, ``jirakit worker --jobs URL``). Both run the same `TaskKind`
functions with the same rules:

- a job's ``lock`` keeps two jobs of the same lock from running at once (one sync at a
  time per target), its ``queueing_lock`` keeps two from waiting at once (deferring a
  second is a no-op that returns None);
- a failed job is retried ``retries`` times with a growing delay, then marked failed;
- a job whose worker died (``kill -9``, a lost machine) is found by its stale heartbeat
  and put back to be run again by another worker; the task's effects must therefore be
  idempotent, which they are: a sync resumes from the state committed with the data;
- ``schedule_syncs`` runs every ``schedule_every`` seconds and defers the syncs due.

Why procrastinate: Postgres-only (no broker to run beside the system of record), jobs
taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` and woken by ``LISTEN/NOTIFY``, locks and
queueing locks, retries, periodic tasks and worker heartbeats built in, psycopg 3, typed,
maintained; Celery/RQ/dramatiq need a broker, and pgqueuer/Hatchet/Temporal either lack
locks or bring a server of their own. It has no SQLite backend (its in-memory connector is
for its own tests), hence `SqliteQueue` here, which keeps the same rules on one machine.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jirakit.errors import redact_url
from jirakit.jobs.tasks import (
    RESERVED_KINDS,
    JobContext,
    JobStopped,
    SyncTarget,
    TaskKind,
    TaskRegistry,
    default_registry,
)

__all__ = [
    "SERVICE_KINDS",
    "JobQueue",
    "JobRow",
    "SqliteQueue",
    "WorkerOptions",
    "open_queue",
    "queue_url",
]

# The kinds of the service's and the receiver's own work (not syncs): `jirakit serve` runs
# them in slots of their own.
SERVICE_KINDS = frozenset(RESERVED_KINDS)

log = logging.getLogger("jirakit.jobs")

ENV_URL = "JIRAKIT_JOBS_URL"
DEFAULT_URL = "sqlite:///jirakit-jobs.db"


@dataclass(frozen=True)
class JobRow:
    id: int
    task: str
    status: str  # todo, doing, succeeded, failed, cancelled, aborted (stopped on request)
    attempts: int
    lock: str | None
    args: dict[str, Any]
    error: str | None = None
    queued_at: float | None = None  # epoch seconds
    finished_at: float | None = None


@dataclass(frozen=True)
class WorkerOptions:
    """``concurrency``: jobs at once; ``until_idle``: return once nothing is left to run
    (else run until stopped); ``heartbeat``: seconds between heartbeats; ``stalled_after``:
    a running job whose heartbeat is older is put back; ``schedule_every``: seconds
    between ``schedule_syncs`` runs (0: never); ``poll``: seconds between looks for work
    when idle (SQLite; Postgres is woken by NOTIFY); ``keep_finished``: seconds a
    finished job (succeeded, failed, cancelled, aborted) is kept before the worker
    deletes it (checked every ``purge_every`` seconds; 0: never deleted; default
    ``JIRAKIT_JOBS_KEEP_FINISHED``, else 7 days).

    SQLite only: ``kinds`` runs only jobs of these kinds, ``skip_kinds`` never these (so
    one process can give its own work a pool that syncs never fill); ``stop``, when set,
    makes the worker take no more jobs, ask its running ones to stop
    (`JobQueue.request_stop`) and return once they have ended."""

    concurrency: int = 1
    until_idle: bool = False
    heartbeat: float = 2.0
    stalled_after: float = 10.0
    schedule_every: float = 30.0
    poll: float = 0.2
    keep_finished: float = field(default_factory=lambda: keep_finished_default())
    purge_every: float = 3600.0
    kinds: frozenset[str] | None = None
    skip_kinds: frozenset[str] = frozenset()
    stop: threading.Event | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if self.stalled_after <= self.heartbeat:
            raise ValueError("stalled_after must be longer than the heartbeat interval")


KEEP_ENV = "JIRAKIT_JOBS_KEEP_FINISHED"


def keep_finished_default() -> float:
    """Seconds finished jobs are kept: ``JIRAKIT_JOBS_KEEP_FINISHED``, else 7 days."""
    raw = os.environ.get(KEEP_ENV)
    if not raw:
        return 7 * 24 * 3600.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{KEEP_ENV} must be seconds (0: keep forever), not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{KEEP_ENV} must be >= 0 seconds, not {raw!r}")
    return value


def queue_url(url: str | None = None) -> str:
    """The queue's URL: ``url``, else ``JIRAKIT_JOBS_URL``, else ``sqlite:///jirakit-jobs.db``."""
    return url or os.environ.get(ENV_URL) or DEFAULT_URL


def open_queue(url: str | None = None, registry: TaskRegistry | None = None) -> JobQueue:
    """The queue at ``url`` (see `queue_url`): ``postgresql://`` or ``sqlite:///``."""
    url = queue_url(url)
    registry = registry or default_registry()
    if url.startswith(("postgresql://", "postgres://")):
        from jirakit.jobs.pg import PostgresQueue

        return PostgresQueue(url, registry)
    if url.startswith("sqlite:///"):
        return SqliteQueue(url.removeprefix("sqlite:///"), registry)
    raise ValueError(
        f"jobs URL {redact_url(url)!r}: use postgresql://user@host/db (many machines) or "
        "sqlite:///path.db (one machine)"
    )


class JobQueue(ABC):
    """What the worker, the CLI and the service need from a queue."""

    def __init__(self, registry: TaskRegistry) -> None:
        self.registry = registry

    @abstractmethod
    def migrate(self) -> None:
        """Create or update the queue's tables (idempotent)."""

    @abstractmethod
    def defer(self, kind: str, **args: Any) -> int | None:
        """Queue a job; its id, or None when its queueing lock already has one waiting."""

    @abstractmethod
    def run_worker(self, options: WorkerOptions | None = None) -> int:
        """Run jobs (see `WorkerOptions`); how many this worker finished."""

    @abstractmethod
    def jobs(self) -> list[JobRow]: ...

    @abstractmethod
    def cancel(self, job_id: int) -> bool:
        """Cancel a job still waiting to run (status ``cancelled``); False when there is
        none (unknown, already running or finished: a running job is not interrupted)."""

    @abstractmethod
    def request_stop(self, job_id: int) -> bool:
        """Ask a running job to stop: the request is recorded with the job, and the task
        (polling `JobContext.stop_requested`) stops at its next safe point and ends
        ``aborted``; False when the job is not running. A task that does not poll runs
        to its end."""

    @abstractmethod
    def purge(self, older_than: float) -> int:
        """Delete jobs finished more than ``older_than`` seconds ago (succeeded, failed,
        cancelled, aborted); how many (the worker does this every ``purge_every``)."""

    @abstractmethod
    def add_target(self, target: SyncTarget) -> None: ...

    @abstractmethod
    def targets(self) -> list[tuple[SyncTarget, float | None]]:
        """Each sync target and when it was last scheduled (epoch seconds, or None)."""

    @abstractmethod
    def mark_scheduled(self, name: str, when: float) -> None: ...

    def close(self) -> None:  # noqa: B027  (nothing to close by default)
        pass

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _context(self, job_id: int, attempt: int) -> JobContext:
        return JobContext(
            job_id=job_id,
            attempt=attempt,
            defer=self.defer,
            targets=self.targets,
            mark_scheduled=self.mark_scheduled,
        )

    def _locks(self, kind: TaskKind, args: dict[str, Any]) -> tuple[str | None, str | None]:
        return kind.lock(args), kind.queueing_lock(args)


def one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:2000]


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS jirakit_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'todo',
    lock TEXT,
    queueing_lock TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    scheduled_at REAL NOT NULL,
    worker TEXT,
    heartbeat REAL,
    error TEXT,
    result TEXT,
    created_at REAL NOT NULL,
    finished_at REAL,
    stop_requested REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS jirakit_jobs_queueing_lock
    ON jirakit_jobs (queueing_lock) WHERE status = 'todo';
CREATE INDEX IF NOT EXISTS jirakit_jobs_todo ON jirakit_jobs (status, scheduled_at);
CREATE INDEX IF NOT EXISTS jirakit_jobs_finished ON jirakit_jobs (finished_at);
CREATE TABLE IF NOT EXISTS jirakit_sync_targets (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    last_scheduled REAL
);
"""


class SqliteQueue(JobQueue):
    """The queue in one SQLite file, run in-process by a pool of threads.

    For one machine: any number of worker processes may share the file (SQLite's own
    locking serialises taking a job), but it is not meant to be on a network disk.
    """

    def __init__(self, path: str | Path, registry: TaskRegistry) -> None:
        super().__init__(registry)
        self.path = str(path)
        self.migrate()

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def migrate(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30.0)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SQLITE_SCHEMA)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(jirakit_jobs)")}
            if "stop_requested" not in columns:  # a queue made before stops existed
                conn.execute("ALTER TABLE jirakit_jobs ADD COLUMN stop_requested REAL")
        finally:
            conn.close()

    def defer(self, kind: str, **args: Any) -> int | None:
        task = self.registry.get(kind)
        lock, queueing = self._locks(task, args)
        now = time.time()
        with self._db(write=True) as db:
            try:
                cur = db.execute(
                    "INSERT INTO jirakit_jobs (task, args, lock, queueing_lock, scheduled_at, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (kind, json.dumps(args), lock, queueing, now, now),
                )
            except sqlite3.IntegrityError:
                return None  # one is waiting already
            return int(cur.lastrowid or 0)

    def jobs(self) -> list[JobRow]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, task, status, attempts, lock, args, error, created_at, finished_at "
                "FROM jirakit_jobs ORDER BY id"
            ).fetchall()
        return [
            JobRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8]) for r in rows
        ]

    def cancel(self, job_id: int) -> bool:
        with self._db(write=True) as db:
            cur = db.execute(
                "UPDATE jirakit_jobs SET status = 'cancelled', finished_at = ? "
                "WHERE id = ? AND status = 'todo'",
                (time.time(), job_id),
            )
            return cur.rowcount == 1

    def request_stop(self, job_id: int) -> bool:
        with self._db(write=True) as db:
            cur = db.execute(
                "UPDATE jirakit_jobs SET stop_requested = coalesce(stop_requested, ?) "
                "WHERE id = ? AND status = 'doing'",
                (time.time(), job_id),
            )
            return cur.rowcount == 1

    def purge(self, older_than: float) -> int:
        with self._db(write=True) as db:
            cur = db.execute(
                "DELETE FROM jirakit_jobs WHERE status IN ('succeeded', 'failed', 'cancelled', "
                "'aborted') AND finished_at < ?",
                (time.time() - older_than,),
            )
            return int(cur.rowcount)

    def _stop_asked(self, job_id: int) -> bool:
        with self._db() as db:
            row = db.execute(
                "SELECT stop_requested FROM jirakit_jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return row is not None and row[0] is not None

    def _context(self, job_id: int, attempt: int) -> JobContext:
        ctx = super()._context(job_id, attempt)
        ctx.stop_requested = lambda: self._stop_asked(job_id)
        return ctx

    def add_target(self, target: SyncTarget) -> None:
        with self._db(write=True) as db:
            db.execute(
                "INSERT INTO jirakit_sync_targets (name, config) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET config = excluded.config",
                (target.name, json.dumps(target.as_json())),
            )

    def targets(self) -> list[tuple[SyncTarget, float | None]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT config, last_scheduled FROM jirakit_sync_targets ORDER BY name"
            ).fetchall()
        return [(SyncTarget.from_json(json.loads(c)), last) for c, last in rows]

    def mark_scheduled(self, name: str, when: float) -> None:
        with self._db(write=True) as db:
            db.execute(
                "UPDATE jirakit_sync_targets SET last_scheduled = ? WHERE name = ?", (when, name)
            )

    # -- the worker -------------------------------------------------------------------

    @staticmethod
    def _kind_filter(options: WorkerOptions, column: str = "task") -> tuple[str, list[Any]]:
        """SQL (`` AND ...``) and parameters keeping the kinds this worker runs."""
        sql, params = "", []
        if options.kinds is not None:
            sql += f" AND {column} IN ({', '.join('?' * len(options.kinds))})"
            params += sorted(options.kinds)
        if options.skip_kinds:
            sql += f" AND {column} NOT IN ({', '.join('?' * len(options.skip_kinds))})"
            params += sorted(options.skip_kinds)
        return sql, params

    def _take(
        self, worker: str, stalled_after: float, options: WorkerOptions | None = None
    ) -> tuple[int, str, dict[str, Any], int] | None:
        now = time.time()
        only, only_params = self._kind_filter(options or WorkerOptions(), "j.task")
        with self._db(write=True) as db:
            db.execute(  # jobs of dead workers asked to stop: stopped
                "UPDATE jirakit_jobs SET status = 'aborted', finished_at = ?, error = "
                "'stopped on request; its worker stopped first' "
                "WHERE status = 'doing' AND heartbeat < ? AND stop_requested IS NOT NULL",
                (now, now - stalled_after),
            )
            # A dead worker's job whose queueing lock has another job waiting (deferred
            # while it ran) is closed: the waiting one does the work, and putting this one
            # back would break the one-waiting-job rule (and both would wait forever).
            db.execute(
                "UPDATE jirakit_jobs SET status = 'failed', error = 'its worker stopped; "
                "superseded by a waiting job', finished_at = ? WHERE status = 'doing' AND "
                "heartbeat < ? AND queueing_lock IS NOT NULL AND EXISTS (SELECT 1 FROM "
                "jirakit_jobs w WHERE w.status = 'todo' AND w.queueing_lock = "
                "jirakit_jobs.queueing_lock)",
                (now, now - stalled_after),
            )
            db.execute(  # jobs of dead workers go back to the queue
                "UPDATE jirakit_jobs SET status = 'todo', worker = NULL "
                "WHERE status = 'doing' AND heartbeat < ?",
                (now - stalled_after,),
            )
            row = db.execute(
                "SELECT id, task, args, attempts FROM jirakit_jobs j WHERE status = 'todo' "
                "AND scheduled_at <= ? AND (lock IS NULL OR NOT EXISTS (SELECT 1 FROM "
                "jirakit_jobs d WHERE d.status = 'doing' AND d.lock = j.lock))" + only + " "
                "ORDER BY scheduled_at, id LIMIT 1",
                (now, *only_params),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jirakit_jobs SET status = 'doing', worker = ?, heartbeat = ?, "
                "attempts = attempts + 1 WHERE id = ?",
                (worker, now, row[0]),
            )
        return int(row[0]), str(row[1]), json.loads(row[2]), int(row[3]) + 1

    def _pending(self, options: WorkerOptions | None = None) -> bool:
        only, params = self._kind_filter(options or WorkerOptions())
        with self._db() as db:
            found = db.execute(
                "SELECT 1 FROM jirakit_jobs WHERE status IN ('todo', 'doing')" + only + " LIMIT 1",
                params,
            ).fetchone()
        return found is not None

    def _finish(self, job_id: int, worker: str, kind: TaskKind, attempt: int, outcome: Any) -> None:
        now = time.time()
        with self._db(write=True) as db:
            stopping = False
            if isinstance(outcome, BaseException):
                asked = db.execute(
                    "SELECT stop_requested FROM jirakit_jobs WHERE id = ?", (job_id,)
                ).fetchone()
                stopping = asked is not None and asked[0] is not None
            if isinstance(outcome, JobStopped) or (
                isinstance(outcome, BaseException) and stopping
            ):  # stopped on request (or failed once asked to stop): not retried
                db.execute(
                    "UPDATE jirakit_jobs SET status = 'aborted', error = ?, finished_at = ? "
                    "WHERE id = ? AND worker = ?",
                    (one_line(outcome), now, job_id, worker),
                )
            elif isinstance(outcome, BaseException):
                if attempt <= kind.retries:
                    db.execute(
                        "UPDATE jirakit_jobs SET status = 'todo', worker = NULL, error = ?, "
                        "scheduled_at = ? WHERE id = ? AND worker = ?",
                        (one_line(outcome), now + kind.backoff * attempt, job_id, worker),
                    )
                else:
                    db.execute(
                        "UPDATE jirakit_jobs SET status = 'failed', error = ?, finished_at = ? "
                        "WHERE id = ? AND worker = ?",
                        (one_line(outcome), now, job_id, worker),
                    )
            else:
                db.execute(
                    "UPDATE jirakit_jobs SET status = 'succeeded', result = ?, error = NULL, "
                    "finished_at = ? WHERE id = ? AND worker = ?",
                    (json.dumps(outcome, default=str), now, job_id, worker),
                )

    def _run_one(
        self, job_id: int, task: str, args: dict[str, Any], attempt: int, worker: str
    ) -> None:
        kind = self.registry.get(task)
        try:
            outcome: Any = kind.function(self._context(job_id, attempt), **args)
        except JobStopped as exc:
            log.info("job %s (%s) stopped on request: %s", job_id, task, one_line(exc))
            outcome = exc
        except Exception as exc:  # the job's failure is recorded; the worker goes on
            log.warning("job %s (%s) attempt %s failed: %s", job_id, task, attempt, one_line(exc))
            outcome = exc
        self._finish(job_id, worker, kind, attempt, outcome)

    def run_worker(self, options: WorkerOptions | None = None) -> int:
        options = options or WorkerOptions()
        worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        done = 0
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(options.heartbeat):
                try:
                    with self._db(write=True) as db:
                        db.execute(
                            "UPDATE jirakit_jobs SET heartbeat = ? WHERE worker = ? "
                            "AND status = 'doing'",
                            (time.time(), worker),
                        )
                except sqlite3.Error as exc:
                    # a busy or briefly unwritable file: beat again next time (a heart
                    # that died here would let another take over jobs still running)
                    log.warning("job heartbeat failed: %s", type(exc).__name__)

        heart = threading.Thread(target=beat, name="jirakit-jobs-heartbeat", daemon=True)
        heart.start()
        running: dict[Future[None], int] = {}
        next_schedule = next_purge = time.time()
        stopping = False
        try:
            with ThreadPoolExecutor(options.concurrency, thread_name_prefix="jirakit-job") as pool:
                while True:
                    finished = {f for f in running if f.done()}
                    for f in finished:
                        f.result()
                        del running[f]
                    done += len(finished)
                    if options.stop is not None and options.stop.is_set():
                        if not stopping:  # ask what runs to stop at its next safe point
                            stopping = True
                            for job_id in running.values():
                                self.request_stop(job_id)
                        if not running:
                            break
                        time.sleep(min(options.poll, 0.05))
                        continue
                    if options.keep_finished > 0 and time.time() >= next_purge:
                        self._purge_quietly(options.keep_finished)
                        next_purge = time.time() + options.purge_every
                    if options.schedule_every > 0 and time.time() >= next_schedule:
                        self.defer("schedule_syncs")
                        next_schedule = time.time() + options.schedule_every
                    taken = None
                    if len(running) < options.concurrency:
                        taken = self._take(worker, options.stalled_after, options)
                    if taken is not None:
                        running[pool.submit(self._run_one, *taken, worker)] = taken[0]
                        continue
                    if options.until_idle and not running and not self._ready(options):
                        break
                    if options.stop is not None:
                        options.stop.wait(options.poll)
                    else:
                        time.sleep(options.poll)
        finally:
            stop.set()
        return done

    def _purge_quietly(self, older_than: float) -> None:
        try:
            purged = self.purge(older_than)
        except sqlite3.Error as exc:  # a busy file: next time
            log.warning("purging finished jobs failed: %s", type(exc).__name__)
            return
        if purged:
            log.info("purged %s finished jobs older than %ss", purged, older_than)

    def _ready(self, options: WorkerOptions | None = None) -> bool:
        """Work this worker could still do: jobs to run now or soon (retries included)."""
        return self._pending(options)
