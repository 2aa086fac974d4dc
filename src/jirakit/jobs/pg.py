"""The queue on Postgres: procrastinate runs the `TaskKind`s (see `jirakit.jobs.queue`).

procrastinate keeps its tables (``procrastinate_jobs``, ``..._workers``, ``..._events``,
...) in the database's search path; the sync targets live beside them in
``jirakit_sync_targets``. Workers send heartbeats; each worker also looks every
``heartbeat`` seconds for jobs of workers whose heartbeat is older than ``stalled_after``
and puts them back (procrastinate's documented recipe for stalled jobs), so a ``kill -9``
costs a retry, not a lost job. ``schedule_syncs`` is a procrastinate periodic task. A stop
of a running job is procrastinate's abort request (``abort_requested``, seen by the worker
through LISTEN/NOTIFY and its polling): the task sees it as `JobContext.stop_requested`,
and its `JobStopped` ends the job ``aborted``. Finished jobs older than ``keep_finished``
are deleted with procrastinate's own ``JobManager.delete_old_jobs`` (what its builtin
``remove_old_jobs`` task runs), by each worker every ``purge_every`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as pe

from jirakit.jobs.queue import JobQueue, JobRow, WorkerOptions
from jirakit.jobs.tasks import JobContext, JobStopped, SyncTarget, TaskKind, TaskRegistry

__all__ = ["PostgresQueue"]

log = logging.getLogger("jirakit.jobs")

_TARGETS_SQL = """
CREATE TABLE IF NOT EXISTS jirakit_sync_targets (
    name text PRIMARY KEY,
    config jsonb NOT NULL,
    last_scheduled double precision
)
"""


class PostgresQueue(JobQueue):
    """procrastinate over psycopg 3 at ``url`` (``postgresql://user@host:port/db``)."""

    def __init__(
        self, url: str, registry: TaskRegistry, *, schedule_cron: str = "* * * * *"
    ) -> None:
        super().__init__(registry)
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=self.url),
        )
        self._lock = threading.Lock()
        self._sync: procrastinate.App | None = None
        for kind in registry:
            self._register(kind, schedule_cron)

    # -- wiring -----------------------------------------------------------------------

    def _register(self, kind: TaskKind, schedule_cron: str) -> None:
        queue = self

        def run(context: procrastinate.JobContext, /, **args: Any) -> Any:
            args.pop("timestamp", None)  # periodic tasks get the tick's timestamp
            job = context.job
            ctx = JobContext(
                job_id=int(job.id or 0),
                attempt=int(job.attempts) + 1,
                defer=queue.defer,
                targets=queue.targets,
                mark_scheduled=queue.mark_scheduled,
                stop_requested=context.should_abort,
            )
            try:
                return kind.function(ctx, **args)
            except JobStopped as exc:  # procrastinate's own word for it: not retried
                raise pe.JobAborted(str(exc)) from exc
            except Exception as exc:
                if context.should_abort():  # failed once asked to stop: not retried either
                    raise pe.JobAborted(f"{type(exc).__name__}: {exc}") from exc
                raise

        retry: procrastinate.RetryStrategy | bool = False
        if kind.retries > 0:
            retry = procrastinate.RetryStrategy(
                max_attempts=kind.retries, linear_wait=max(1, int(kind.backoff))
            )
        task = self.app.task(name=kind.name, pass_context=True, retry=retry)(run)
        if kind.name == "schedule_syncs":
            self.app.periodic(cron=schedule_cron, periodic_id="jirakit-schedule-syncs")(task)  # type: ignore[arg-type]

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True)

    def migrate(self) -> None:
        with self._connect() as conn:
            found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found is None or found[0] is None:
                conn.execute(self.app.schema_manager.get_schema())
            conn.execute(_TARGETS_SQL)

    # -- jobs -------------------------------------------------------------------------

    def defer(self, kind: str, **args: Any) -> int | None:
        task = self.registry.get(kind)
        lock, queueing = self._locks(task, args)
        try:
            deferrer = self._deferrer().configure_task(kind, lock=lock, queueing_lock=queueing)
            return int(deferrer.defer(**args))
        except pe.AlreadyEnqueued:
            return None

    def _deferrer(self) -> procrastinate.App:
        """An app for deferring from blocking code (the CLI, tests, tasks run in the
        worker's threads): its own synchronous pool, opened once, so it never touches the
        worker's event loop. Tasks are deferred by name."""
        with self._lock:
            if self._sync is None:
                app = procrastinate.App(
                    connector=procrastinate.SyncPsycopgConnector(conninfo=self.url)
                )
                self._sync = app.open()
            return self._sync

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None

    def jobs(self) -> list[JobRow]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, task_name, status, attempts, lock, args, "
                "(SELECT extract(epoch FROM min(e.at)) FROM procrastinate_events e "
                "WHERE e.job_id = j.id AND e.type = 'deferred'), "
                "(SELECT extract(epoch FROM max(e.at)) FROM procrastinate_events e "
                "WHERE e.job_id = j.id AND e.type IN ('succeeded', 'failed', 'cancelled', "
                "'aborted')) FROM procrastinate_jobs j ORDER BY id"
            ).fetchall()
        return [
            JobRow(
                int(r[0]),
                r[1],
                str(r[2]),
                int(r[3]),
                r[4],
                dict(r[5]),
                queued_at=None if r[6] is None else float(r[6]),
                finished_at=None if r[7] is None else float(r[7]),
            )
            for r in rows
        ]

    def cancel(self, job_id: int) -> bool:
        # procrastinate cancels only jobs still waiting (``todo``) when not asked to abort.
        return bool(self._deferrer().job_manager.cancel_job_by_id(job_id))

    def request_stop(self, job_id: int) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT status FROM procrastinate_jobs WHERE id = %s", (job_id,)
            ).fetchone()
        if row is None or str(row[0]) != "doing":
            return False
        return bool(self._deferrer().job_manager.cancel_job_by_id(job_id, abort=True))

    def add_target(self, target: SyncTarget) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO jirakit_sync_targets (name, config) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config",
                (target.name, json.dumps(target.as_json())),
            )

    def targets(self) -> list[tuple[SyncTarget, float | None]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT config, last_scheduled FROM jirakit_sync_targets ORDER BY name"
            ).fetchall()
        return [(SyncTarget.from_json(c), last) for c, last in rows]

    def mark_scheduled(self, name: str, when: float) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jirakit_sync_targets SET last_scheduled = %s WHERE name = %s", (when, name)
            )

    # -- the worker -------------------------------------------------------------------

    def purge(self, older_than: float) -> int:
        # procrastinate counts in whole hours; its events go with the jobs (ON DELETE CASCADE)
        hours = max(1, round(older_than / 3600))
        with self._connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('succeeded', "
                "'failed', 'cancelled', 'aborted') AND id IN (SELECT job_id FROM "
                "procrastinate_events GROUP BY job_id HAVING max(at) < now() - %s * "
                "interval '1 hour')",
                (hours,),
            ).fetchone()
        asyncio.run(self._purge(hours))
        return int(row[0]) if row else 0

    async def _purge(self, hours: int) -> None:
        async with self.app.open_async():
            await self._delete_old(hours)

    async def _delete_old(self, hours: int) -> None:
        await self.app.job_manager.delete_old_jobs(
            nb_hours=hours, include_failed=True, include_cancelled=True, include_aborted=True
        )

    async def _purge_quietly(self, older_than: float) -> None:
        try:
            await self._delete_old(max(1, round(older_than / 3600)))
        except Exception:  # a busy database: next time
            log.exception("purging finished jobs failed; trying again later")

    def run_worker(self, options: WorkerOptions | None = None) -> int:
        options = options or WorkerOptions()
        if options.kinds is not None or options.skip_kinds or options.stop is not None:
            raise ValueError(
                "kinds, skip_kinds and stop are for the SQLite queue; on Postgres run "
                "`jirakit worker` processes (stop them with SIGTERM)"
            )
        return asyncio.run(self._work(options))

    async def _work(self, options: WorkerOptions) -> int:
        async with self.app.open_async():
            if options.keep_finished > 0:  # first, so that the count below is not skewed
                await self._purge_quietly(options.keep_finished)
            before = self._finished()
            recover = asyncio.create_task(self._recover(options))
            try:
                await self.app.run_worker_async(
                    concurrency=options.concurrency,
                    wait=not options.until_idle,
                    update_heartbeat_interval=options.heartbeat,
                    stalled_worker_timeout=options.stalled_after,
                    install_signal_handlers=not options.until_idle,
                    delete_jobs="never",
                )
                if options.until_idle:
                    # jobs of dead workers are found after ``stalled_after``: run those too
                    while self._unfinished():
                        await asyncio.sleep(options.heartbeat)
                        await self.app.run_worker_async(
                            concurrency=options.concurrency,
                            wait=False,
                            update_heartbeat_interval=options.heartbeat,
                            stalled_worker_timeout=options.stalled_after,
                            install_signal_handlers=False,
                            delete_jobs="never",
                        )
            finally:
                recover.cancel()
        return self._finished() - before

    async def _recover(self, options: WorkerOptions) -> None:
        manager = self.app.job_manager
        loop = asyncio.get_running_loop()
        next_purge = loop.time() + options.purge_every  # `_work` purged at start
        while True:
            if options.keep_finished > 0 and loop.time() >= next_purge:
                next_purge = loop.time() + options.purge_every
                await self._purge_quietly(options.keep_finished)
            try:
                for job in await manager.get_stalled_jobs(
                    seconds_since_heartbeat=options.stalled_after
                ):
                    try:
                        await manager.retry_job(job)
                        log.warning(
                            "retrying job %s (%s): its worker stopped", job.id, job.task_name
                        )
                    except pe.UniqueViolation:
                        # A job of the same queueing lock was deferred while this one ran
                        # and waits for its lock: that one does the work, so this one is
                        # closed (else both would wait for each other forever).
                        await self._supersede(manager, job)
                    except Exception:  # another worker put it back first
                        continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("looking for stalled jobs failed; trying again")
            await asyncio.sleep(options.heartbeat)

    @staticmethod
    async def _supersede(manager: Any, job: Any) -> None:
        try:
            await manager.finish_job(job, status=procrastinate.jobs.Status.FAILED, delete_job=False)
            log.warning(
                "job %s (%s): its worker stopped; a job waiting under its queueing lock "
                "runs instead",
                job.id,
                job.task_name,
            )
        except Exception:  # another worker closed it first
            return

    def _finished(self) -> int:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('succeeded', 'failed', 'aborted')"
            ).fetchone()
        return int(row[0]) if row else 0

    def _unfinished(self) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' OR "
                "(status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now() + "
                "interval '1 minute'))"
            ).fetchone()
        return bool(row and row[0])
