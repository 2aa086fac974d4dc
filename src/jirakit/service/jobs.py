"""The service's background work as jobs (issue 14): one setting, ``JIRAKIT_JOBS_URL``.

- unset: `jirakit serve` runs `jirakit.service.background.tick` in its own loop (one
  process, as before);
- ``sqlite:///jobs.db``: the work becomes jobs on the SQLite queue, run in-process by
  `jirakit serve` (no Postgres needed);
- ``postgresql://...``: jobs on procrastinate, deferred by any number of `jirakit serve`
  processes and run by `jirakit worker` processes (``--jobs`` the same URL, and the
  service's settings, ``JIRAKIT_DB``, ``JIRAKIT_ENCRYPTION_KEYS``..., in their environment).

Either way serve processes hold no state of their own: what is due is read from the
database each round (`dispatch`) and deferred under queueing locks, so N processes defer
each piece of work once. The kinds (`jirakit.jobs.tasks` registers them):

- ``service.deliver`` (``delivery_id``): one attempt of one outgoing message; locked and
  queued per delivery id. An attempt holds a lease on the message that it renews while its
  POST runs, so a job taken over while its attempt still runs sends nothing; a killed
  attempt's lease runs out (`outbox.LEASE`), `dispatch` defers the message again, and it
  goes under the same ``webhook-id`` (receivers deduplicate on it, as Standard Webhooks
  asks);
- ``service.refresh_token`` (``connection_id``): an OAuth refresh, locked per connection,
  on top of the database lock `refresh_connection` holds: once across all processes;
- ``webhooks.refresh_dynamic`` (``connection_id``): extend native registrations;
- ``webhooks.poll_virtual`` (``subscription_id``, ``connection_id``): one poll, locked per
  connection;
- ``webhooks.process_inbox``: apply received Jira deliveries (publishing keyed by the
  delivery id, so a killed run applied again publishes nothing twice).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from jirakit._logging import get_logger
from jirakit.service.models import Connection, Delivery, Subscription, utcnow
from jirakit.service.state import ServiceState

if TYPE_CHECKING:
    from jirakit.jobs.queue import WorkerOptions

__all__ = ["JobRunner", "dispatch", "run_kind"]

log = get_logger("jirakit.service")

_bound: ServiceState | None = None
_bound_lock = threading.Lock()


def bind(state: ServiceState) -> None:
    """Make ``state`` the one this process's jobs run with (`jirakit serve` in-process)."""
    global _bound
    with _bound_lock:
        _bound = state


def _state() -> ServiceState:
    """The bound state, else one built from the environment (a `jirakit worker`)."""
    global _bound
    with _bound_lock:
        if _bound is None:
            from jirakit.service.config import load_settings

            _bound = ServiceState.build(load_settings())
            # the Jira calls these jobs make (registrations, polls) spend the same
            # points budget as the worker's syncs: one governor per process
            from jirakit.jobs.budget import process_governor

            _bound.extra["governor"] = process_governor()
        return _bound


def wire(state: ServiceState, defer: Callable[..., int | None]) -> None:
    """Defer follow-up work as it appears: a published message, a received delivery."""

    def published(ids: list[str]) -> None:
        for msg_id in ids:
            _quietly(defer, "service.deliver", delivery_id=msg_id)

    state.extra["on_published"] = published
    state.extra["on_received"] = lambda: _quietly(defer, "webhooks.process_inbox")


def _quietly(defer: Callable[..., int | None], kind: str, **args: Any) -> None:
    try:
        defer(kind, **args)
    except Exception as exc:  # the next `dispatch` defers it: nothing is lost
        log.warning("deferring a job failed", kind=kind, error=type(exc).__name__)


# -- the kinds --------------------------------------------------------------------------


def _deliver(state: ServiceState, delivery_id: str) -> bool:
    from jirakit.service.outbox import deliver_one

    return deliver_one(state, delivery_id)


def _refresh_token(state: ServiceState, connection_id: str) -> bool:
    from jirakit.errors import AuthFlowError, ConfigurationError, JiraError
    from jirakit.service.connections import expiring, refresh_connection

    with state.sessions() as session:
        conn = session.get(Connection, connection_id)
        if conn is None or conn.kind != "oauth2" or conn.status != "healthy":
            return False
        if not expiring(conn.token_expires_at, state.settings.refresh_leeway):
            return False  # another process refreshed it already
    try:
        refresh_connection(state, connection_id)
    except (AuthFlowError, ConfigurationError, JiraError) as exc:
        log.warning("token refresh failed", connection_id=connection_id, error=type(exc).__name__)
        return False
    return True


def _refresh_dynamic(state: ServiceState, connection_id: str) -> bool:
    from jirakit.service.native import refresh_one

    return refresh_one(state, connection_id)


def _poll_virtual(state: ServiceState, subscription_id: str, connection_id: str = "") -> int:
    from jirakit.service.polling import poll_if_due

    return poll_if_due(state, subscription_id)


def _process_inbox(state: ServiceState) -> int:
    from jirakit.service.inbound import process_inbox

    return process_inbox(state)


KINDS: dict[str, Callable[..., Any]] = {
    "service.deliver": _deliver,
    "service.refresh_token": _refresh_token,
    "webhooks.refresh_dynamic": _refresh_dynamic,
    "webhooks.poll_virtual": _poll_virtual,
    "webhooks.process_inbox": _process_inbox,
}


def run_kind(name: str, defer: Callable[..., int | None], args: Mapping[str, Any]) -> Any:
    """Run one job of kind ``name`` (what `jirakit.jobs.tasks` registers)."""
    state = _state()
    if "on_published" not in state.extra:
        wire(state, defer)
    return KINDS[name](state, **args)


# -- what serve does each round -----------------------------------------------------------


def dispatch(state: ServiceState, defer: Callable[..., int | None], *, limit: int = 500) -> int:
    """Defer a job for every piece of work that is due; how many were deferred (work that
    already has a job waiting is not deferred twice: the queueing locks)."""
    from jirakit.service.connections import tokens_due
    from jirakit.service.native import due_for_refresh

    now = utcnow()
    jobs: list[tuple[str, dict[str, Any]]] = []
    with state.sessions() as session:
        for msg_id in session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status == "pending",
                # New messages are deferred as they are published (`wire`); a second
                # later this catches what that missed (and the retries as they fall due).
                Delivery.next_attempt_at <= now - timedelta(seconds=1),
                or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        ):
            jobs.append(("service.deliver", {"delivery_id": msg_id}))
        for sub_id, conn_id in session.execute(
            select(Subscription.id, Subscription.connection_id)
            .where(
                Subscription.webhook_type == "virtual",
                Subscription.is_paused.is_(False),
                Subscription.is_healthy.is_(True),
                or_(Subscription.next_poll_at.is_(None), Subscription.next_poll_at <= now),
            )
            .limit(limit)
        ):
            jobs.append(
                ("webhooks.poll_virtual", {"subscription_id": sub_id, "connection_id": conn_id})
            )
        for conn_id in session.scalars(tokens_due(state, now, limit)):
            jobs.append(("service.refresh_token", {"connection_id": conn_id}))
    jobs.extend(("webhooks.refresh_dynamic", {"connection_id": c}) for c in due_for_refresh(state))
    from jirakit.service.inbound import inbox_pending

    if inbox_pending(state):
        jobs.append(("webhooks.process_inbox", {}))
    deferred = 0
    for kind, args in jobs:
        try:
            if defer(kind, **args) is not None:
                deferred += 1
        except Exception as exc:
            log.warning("deferring a job failed", kind=kind, error=type(exc).__name__)
    return deferred


class JobRunner:
    """`jirakit serve`'s side of the queue: defers what is due each round; on SQLite also
    runs the jobs, in this process, on two workers (threads): one for the service's own
    kinds (`RESERVED_KINDS`: deliveries, token refreshes, inbox, polls), one for the rest
    (``sync_connection``...), so long syncs never hold up a delivery. On `stop` the running
    jobs are asked to stop (a sync stops at its next safe point and its run is recorded
    ``interrupted``, to resume next time) and waited for, up to ``timeout``."""

    SERVICE_SLOTS = 2
    SYNC_SLOTS = 2

    def __init__(self, state: ServiceState, url: str) -> None:
        from jirakit.jobs.queue import open_queue

        self.state = state
        self.queue = open_queue(url)
        self.queue.migrate()
        self.in_process = url.startswith("sqlite")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        wire(state, self.queue.defer)
        if self.in_process:
            bind(state)

    def round(self) -> int:
        """One round of `dispatch` and the purge (cheap, idempotent)."""
        from jirakit.service.background import purge_expired

        deferred = dispatch(self.state, self.queue.defer)
        try:
            purge_expired(self.state)
        except Exception as exc:
            log.error("purge failed", error=type(exc).__name__)
        return deferred

    def start(self) -> None:
        from jirakit.jobs.queue import SERVICE_KINDS, WorkerOptions

        if not self.in_process or self._threads:
            return
        own = SERVICE_KINDS
        base = WorkerOptions(stop=self._stop, schedule_every=0.0)
        workers = {
            # the service's own work: polled often; this one also purges finished jobs
            "jirakit-jobs": replace(base, concurrency=self.SERVICE_SLOTS, kinds=own, poll=0.05),
            # syncs and any other kind: never in the service's slots
            "jirakit-jobs-syncs": replace(
                base, concurrency=self.SYNC_SLOTS, skip_kinds=own, poll=0.2, keep_finished=0.0
            ),
        }
        for name, options in workers.items():
            thread = threading.Thread(target=self._work, args=(options,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self, options: WorkerOptions) -> None:
        while not self._stop.is_set():
            try:
                self.queue.run_worker(options)  # returns once stopped
            except Exception as exc:  # the next turn tries again
                log.error("in-process jobs failed", error=type(exc).__name__)
            self._stop.wait(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the running jobs to stop and wait for them, ``timeout`` seconds at most (a
        job still running then is found by its stale heartbeat: a sync asked to stop ends
        ``aborted``, anything else runs again)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("in-process jobs still running at shutdown", worker=thread.name)
        self._threads = []
        self.queue.close()
