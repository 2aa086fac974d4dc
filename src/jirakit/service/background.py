"""The work `jirakit serve` does between requests, as plain functions (issue 14 moves them
onto a job queue): deliver due webhooks, poll virtual webhooks, apply received Jira
deliveries (native events), refresh expiring OAuth tokens and dynamic webhooks, forget
expired idempotency keys."""

from __future__ import annotations

import asyncio
import contextlib

from anyio import to_thread
from sqlalchemy import delete

from jirakit._logging import get_logger
from jirakit.service.connections import refresh_expiring
from jirakit.service.inbound import process_inbox
from jirakit.service.inbound import stop as stop_inbound
from jirakit.service.jobs import JobRunner
from jirakit.service.models import IdempotencyRecord, OAuthState, PendingGrant, utcnow
from jirakit.service.native import refresh_native
from jirakit.service.outbox import deliver_due
from jirakit.service.polling import poll_due
from jirakit.service.state import ServiceState

log = get_logger("jirakit.service")


def purge_expired(state: ServiceState) -> int:
    now = utcnow()
    with state.sessions() as session, session.begin():
        n = 0
        for model in (IdempotencyRecord, OAuthState, PendingGrant):
            result = session.execute(delete(model).where(model.expires_at < now))
            n += int(getattr(result, "rowcount", 0))
    return n


def tick(state: ServiceState) -> dict[str, int]:
    """One round of every background job; each failure is logged, none stops the others."""
    done: dict[str, int] = {}
    for name, job in (
        ("refreshed", refresh_expiring),
        ("polled", poll_due),
        ("received", process_inbox),
        ("delivered", deliver_due),
        ("native refreshed", refresh_native),
        ("purged", purge_expired),
    ):
        try:
            done[name] = job(state)
        except Exception as exc:  # a job's failure must not stop the loop
            log.error("background job failed", job=name, error=type(exc).__name__)
    return done


async def run_forever(state: ServiceState) -> None:
    interval = state.settings.background_interval
    while True:
        await to_thread.run_sync(tick, state)
        await asyncio.sleep(interval)


async def dispatch_forever(runner: JobRunner) -> None:
    interval = runner.state.settings.background_interval
    while True:
        await to_thread.run_sync(runner.round)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(state: ServiceState):  # type: ignore[no-untyped-def]
    """The background work while the app runs: `tick` in a loop, or, with a job queue
    (``JIRAKIT_JOBS_URL``, `jirakit.service.jobs`), deferring jobs (and on SQLite running
    them here)."""
    runner: JobRunner | None = None
    task = None
    if state.settings.background:
        if state.settings.jobs_url:
            runner = await to_thread.run_sync(JobRunner, state, state.settings.jobs_url)
            runner.start()
            task = asyncio.create_task(dispatch_forever(runner))
        else:
            task = asyncio.create_task(run_forever(state))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if runner is not None:
            await to_thread.run_sync(runner.stop)
        await to_thread.run_sync(stop_inbound, state)
