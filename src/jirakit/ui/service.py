"""The dashboard inside ``jirakit serve``: at ``/ui``, one tenant's pages.

`mount(app)` adds the dashboard to the service's FastAPI app. Who is looking is a
tenant: a browser logs in with the tenant's API key (a session cookie follows:
``HttpOnly``, ``SameSite=Strict``, CSRF-checked forms), a script sends it as
``Authorization: Bearer KEY`` (`ServiceAccess`). Every provider here takes the viewer's
tenant and answers only with that tenant's rows; another tenant's ids answer as unknown
ones do (`KeyError`, a 404 page).

What each page reads (`ServiceSource`), read-only over the service's tables except
where a button asks for a change:

- **connections**: the ``connections`` table; the newest finished sync job; a
  re-authorise button for ``needs_reauth`` OAuth connections (the service's own OAuth
  start route makes the consent URL);
- **syncs**: ``sync_connection`` jobs of the job queue (``JIRAKIT_JOBS_URL``) whose
  `SyncTarget` is named after the connection's id (``jirakit jobs add-target <id>``),
  and the runs that sync wrote into its warehouse, with the running job's live progress
  (the progress file the job keeps, `jirakit.sync.progress`); Start defers a job, Full
  refresh one that reloads everything, Stop cancels the waiting ones and asks the
  running one to stop at its next safe point (`JobQueue.request_stop`);
- **project health, schema drift**: the warehouse of the connection's sync target
  (`jirakit.ui.warehouse.WarehouseSource`);
- **webhooks**: the connection's Jira webhook inbox (`jirakit.webhooks.store.Inbox`;
  ``JIRAKIT_UI_INBOX``, a URL with ``{connection}`` standing for its id) and the
  tenant's outgoing webhook outbox (the ``deliveries`` table);
- **rate-limit budget**: the governor's snapshot (`jirakit.jobs.budget.Governor`, as
  ``state.extra["governor"]``, or given), sampled while the page is watched.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from starlette.requests import Request

from jirakit.ui.access import Session
from jirakit.ui.providers import (
    BadFilter,
    BoxItem,
    BudgetSnapshot,
    ConnectionSummary,
    DriftEventRow,
    FilterChoices,
    HealthFilters,
    ProjectHealth,
    Providers,
    SyncActivity,
    SyncJob,
    Unavailable,
    Viewer,
    WebhookBoxSummary,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from jirakit.jobs.budget import Governor
    from jirakit.jobs.queue import JobQueue, JobRow
    from jirakit.jobs.tasks import SyncTarget
    from jirakit.service.models import Connection
    from jirakit.service.state import ServiceState
    from jirakit.ui.warehouse import WarehouseSource

__all__ = ["ServiceAccess", "ServiceSource", "mount"]

INBOX_ENV = "JIRAKIT_UI_INBOX"
POLL_ENV = "JIRAKIT_UI_POLL"
JOBS_TTL = 0.25
SYNC_TASK = "sync_connection"
# Inbox states shown per event type, in this order.
INBOX_STATES = ("received", "verified", "rejected", "duplicate", "retried by Jira", "replayed")
OUTBOX_STATES = ("pending", "retrying", "delivered", "dead")


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


class ServiceAccess:
    """Tenants: the API key typed into the login form, or sent as a Bearer credential."""

    login_required = True

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def _tenant(self, key: str) -> Viewer | None:
        from jirakit.service.crypto import hash_api_key
        from jirakit.service.models import Tenant
        from jirakit.service.tenants import tenant_for_key

        key = key.strip()
        if not key or len(key) > 500:
            return None
        with self.state.sessions() as session:
            tenant_id = tenant_for_key(session, key)
            if tenant_id is None:
                return None
            name = session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
        return Viewer(
            tenant_id=tenant_id, name=str(name or tenant_id), credential=hash_api_key(key)
        )

    def _still_valid(self, viewer: Viewer) -> bool:
        """The key a session logged in with still belongs to its tenant (a key revoked,
        or its tenant deleted, ends the session at its next request)."""
        from jirakit.service.models import ApiKey

        if not viewer.credential:
            return False
        with self.state.sessions() as session:
            owner = session.scalar(
                select(ApiKey.tenant_id).where(ApiKey.key_hash == viewer.credential)
            )
        return owner is not None and owner == viewer.tenant_id

    def viewer(self, request: Request, session: Session | None) -> Viewer | None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential.strip():
            return self._tenant(credential)
        if session is None or session.viewer is None:
            return None
        return session.viewer if self._still_valid(session.viewer) else None

    def login(self, secret: str) -> Viewer | None:
        return self._tenant(secret)


class ServiceSource:
    """Every service page's provider, scoped to the viewer's tenant (see the module
    docstring). ``queue``: the job queue (None: no syncs page); ``inbox_url``: the
    inboxes' URL with ``{connection}`` (None: the inbox part says how to set it);
    ``governor``: the budget (None: no budget page)."""

    def __init__(
        self,
        state: ServiceState,
        *,
        queue: JobQueue | None = None,
        inbox_url: str | None = None,
        governor: Governor | None = None,
        samples: int = 720,
        sample_every: float = 5.0,
    ) -> None:
        self.state = state
        self.queue = queue
        self.inbox_url = inbox_url
        self.governor = governor
        self._lock = threading.Lock()
        self._warehouses: dict[tuple[str, str | None], WarehouseSource] = {}
        # The budget over time: (when, points granted per tenant), sampled every
        # ``sample_every`` seconds from the first look at the budget page on, and at
        # each look (at most once a second); the governor keeps only the present.
        self._history: deque[tuple[float, dict[str, float]]] = deque(maxlen=samples)
        self._sample_every = sample_every
        self._sampler: threading.Thread | None = None
        self._jobs_cache: tuple[float, list[JobRow]] | None = None

    # -- scoping -------------------------------------------------------------------

    def _tenant(self, viewer: Viewer) -> str:
        if not viewer.tenant_id:
            raise KeyError("no tenant")
        return viewer.tenant_id

    def _owned(self, viewer: Viewer, connection: str) -> Connection:
        from jirakit.service.models import Connection

        tenant = self._tenant(viewer)
        with self.state.sessions() as session:
            row = session.scalar(
                select(Connection).where(
                    Connection.id == connection, Connection.tenant_id == tenant
                )
            )
        if row is None:
            raise KeyError(connection)
        return row

    def _connections(self, viewer: Viewer) -> list[Connection]:
        from jirakit.service.models import Connection

        tenant = self._tenant(viewer)
        with self.state.sessions() as session:
            return list(
                session.scalars(
                    select(Connection)
                    .where(Connection.tenant_id == tenant)
                    .order_by(Connection.created_at, Connection.id)
                )
            )

    def _targets(self) -> dict[str, SyncTarget]:
        if self.queue is None:
            return {}
        return {target.name: target for target, _ in self.queue.targets()}

    def _all_jobs(self) -> list[JobRow]:
        """The queue's jobs, read at most every ``JOBS_TTL`` seconds: one page (the
        connection picker, the jobs, whether one writes the warehouse) asks several
        times, and the queue lists every job it holds."""
        if self.queue is None:
            return []
        now = time.monotonic()
        with self._lock:
            held = self._jobs_cache
            if held is not None and now - held[0] < JOBS_TTL:
                return held[1]
        rows = self.queue.jobs()
        with self._lock:
            self._jobs_cache = (now, rows)
        return rows

    def _forget_jobs(self) -> None:
        with self._lock:
            self._jobs_cache = None

    def _sync_jobs(self, names: set[str]) -> list[JobRow]:
        if self.queue is None or not names:
            return []
        out = []
        for row in self._all_jobs():
            if row.task != SYNC_TASK:
                continue
            target = row.args.get("target")
            if isinstance(target, dict) and target.get("name") in names:
                out.append(row)
        return out

    # -- connections ---------------------------------------------------------------

    def connections(self, viewer: Viewer) -> Sequence[ConnectionSummary]:
        rows = self._connections(viewer)
        targets = self._targets()
        last: dict[str, JobRow] = {}
        for job in self._sync_jobs({c.id for c in rows}):
            if job.status in ("succeeded", "failed") and job.finished_at is not None:
                name = str(job.args["target"]["name"])
                held = last.get(name)
                if held is None or (held.finished_at or 0) <= job.finished_at:
                    last[name] = job
        out = []
        for c in rows:
            target = targets.get(c.id)
            newest = last.get(c.id)
            out.append(
                ConnectionSummary(
                    id=c.id,
                    name=c.external_xref or c.site,
                    site=c.site,
                    auth_kind=c.kind,
                    health=c.status,
                    scopes=tuple(c.scopes or ()),
                    token_expires_at=c.token_expires_at,
                    last_sync_at=_utc(newest.finished_at) if newest else None,
                    last_sync_status=newest.status if newest else None,
                    last_error=c.last_error or (newest.error if newest else None),
                    paused=bool(c.is_paused),
                    sync_target=_describe_target(target) if target else None,
                    last_used_at=c.last_activity_at,
                )
            )
        return out

    def reauthorize(self, viewer: Viewer, connection: str) -> str:
        conn = self._owned(viewer, connection)
        if conn.kind != "oauth2":
            raise BadFilter(
                f"{conn.site} connects with an API token, not OAuth: give it a new token "
                f"(PUT /unified/connection/{conn.id})."
            )
        # The service's own OAuth start route makes the consent URL (its state bound to
        # this tenant, with the site preferred), as an API client calling it would get.
        from jirakit.service.problems import Problem
        from jirakit.service.routers.connection import oauth_start

        with self.state.sessions() as session:
            try:
                answer = oauth_start(
                    self.state,
                    session,
                    conn.tenant_id,
                    conn.tenant_id,
                    "jira",
                    success_redirect=None,
                    external_xref=conn.external_xref,
                    subdomain=conn.site,
                    scopes=None,
                    redirect=False,
                )
            except Problem as exc:
                raise BadFilter(exc.detail) from None
        return bytes(answer.body).decode()

    # -- syncs ---------------------------------------------------------------------

    @property
    def full_refresh_supported(self) -> bool:
        """Whether the queue's ``sync_connection`` takes ``full_refresh``."""
        if self.queue is None or SYNC_TASK not in self.queue.registry:
            return False
        function = self.queue.registry.get(SYNC_TASK).function
        return "full_refresh" in inspect.signature(function).parameters

    def _target(self, viewer: Viewer, connection: str) -> SyncTarget:
        self._owned(viewer, connection)
        if self.queue is None:
            raise BadFilter("No job queue is set up: set JIRAKIT_JOBS_URL for jirakit serve.")
        target = self._targets().get(connection)
        if target is None:
            raise BadFilter(
                f"Connection {connection} has no sync target yet: add one named after it "
                f"(jirakit jobs add-target {connection} --url ... --dest ...)."
            )
        return target

    def start(self, viewer: Viewer, connection: str, *, full_refresh: bool = False) -> int | None:
        target = self._target(viewer, connection)
        assert self.queue is not None
        args: dict[str, Any] = {"target": target.as_json()}
        if full_refresh:
            if not self.full_refresh_supported:
                raise BadFilter("This job queue's syncs cannot be asked for a full refresh.")
            args["full_refresh"] = True
        try:
            return self.queue.defer(SYNC_TASK, **args)
        finally:
            self._forget_jobs()

    def stop(self, viewer: Viewer, connection: str) -> tuple[int, int]:
        self._target(viewer, connection)
        assert self.queue is not None
        self._forget_jobs()
        cancelled = stopping = 0
        try:
            for job in self._sync_jobs({connection}):
                if job.status == "todo" and self.queue.cancel(job.id):
                    cancelled += 1
                elif job.status == "doing" and self.queue.request_stop(job.id):
                    stopping += 1
            return cancelled, stopping
        finally:
            self._forget_jobs()

    def jobs(self, viewer: Viewer, connection: str, *, limit: int = 50) -> Sequence[SyncJob]:
        self._owned(viewer, connection)
        rows = sorted(self._sync_jobs({connection}), key=lambda j: j.id, reverse=True)
        return [
            SyncJob(
                id=j.id,
                connection=connection,
                status=j.status,
                attempts=j.attempts,
                queued_at=_utc(j.queued_at),
                finished_at=_utc(j.finished_at),
                error=j.error,
                full_refresh=bool(j.args.get("full_refresh")),
            )
            for j in rows[:limit]
        ]

    # -- the connection's warehouse ------------------------------------------------

    def chosen(self, viewer: Viewer, connection: str | None) -> str | None:
        """The connection a warehouse page shows: the one asked for (if the viewer's),
        else the viewer's first with a sync target, else the first."""
        if connection:
            self._owned(viewer, connection)
            return connection
        rows = self._connections(viewer)
        targets = self._targets()
        for c in rows:
            if c.id in targets:
                return c.id
        return rows[0].id if rows else None

    def warehouse(self, viewer: Viewer, connection: str | None) -> WarehouseSource:
        from jirakit.sync.pipeline import warehouse_for
        from jirakit.ui.warehouse import WarehouseSource

        chosen = self.chosen(viewer, connection)
        if chosen is None:
            raise Unavailable("You have no connection yet: create one with the API first.")
        try:
            target = self._target(viewer, chosen)
        except BadFilter as exc:
            raise Unavailable(str(exc), retry_after=60) from None
        key = (target.dest, target.dataset)
        with self._lock:
            source = self._warehouses.get(key)
            if source is None:
                warehouse = warehouse_for(target.dest, target.dataset)
                busy = None
                if warehouse.dialect == "duckdb":
                    # A sync job writing the file: do not open it meanwhile (a reader
                    # holding it open would make the job's next open fail).
                    busy = partial(self._writing, target.dest)
                source = self._warehouses[key] = WarehouseSource(warehouse, busy=busy)
            return source

    def _writing(self, dest: str) -> str | None:
        """ "Sync job N" when a running job of the queue syncs into ``dest``."""
        if self.queue is None:
            return None
        for job in self._all_jobs():
            target = job.args.get("target")
            if (
                job.task == SYNC_TASK
                and job.status == "doing"
                and isinstance(target, dict)
                and target.get("dest") == dest
            ):
                return f"Sync job {job.id}"
        return None

    def filter_choices(self, viewer: Viewer, connection: str | None = None) -> FilterChoices:
        return self.warehouse(viewer, connection).filter_choices(viewer)

    def project_health(
        self, viewer: Viewer, filters: HealthFilters, connection: str | None = None
    ) -> ProjectHealth:
        return self.warehouse(viewer, connection).project_health(viewer, filters)

    def sync_activity(
        self, viewer: Viewer, connection: str | None = None, *, limit: int = 50
    ) -> SyncActivity:
        return self.warehouse(viewer, connection).sync_activity(viewer, limit=limit)

    def drift_events(
        self, viewer: Viewer, connection: str | None = None, *, limit: int = 500
    ) -> tuple[DriftEventRow, ...]:
        return self.warehouse(viewer, connection).drift_events(viewer, limit=limit)

    # -- webhooks ------------------------------------------------------------------

    @contextmanager
    def _inbox(self, viewer: Viewer, connection: str) -> Iterator[Any]:
        self._owned(viewer, connection)
        if not self.inbox_url:
            raise Unavailable(
                f"No webhook inbox is set up: set {INBOX_ENV} to the inboxes' URL, with "
                "{connection} for the connection's id (sqlite:////var/lib/jirakit/"
                "inbox-{connection}.db).",
                retry_after=60,
            )
        from jirakit.webhooks.store import Inbox

        url = self.inbox_url.replace("{connection}", connection)
        if url.startswith("sqlite:///") and not os.path.exists(url.removeprefix("sqlite:///")):
            raise Unavailable(
                f"The webhook inbox of connection {connection} is empty: nothing has arrived yet.",
                retry_after=60,
            )
        from sqlalchemy.exc import SQLAlchemyError

        try:
            inbox = Inbox(url, create=False)
        except SQLAlchemyError as exc:
            raise _unreadable(connection, exc) from None
        try:
            yield inbox
        except SQLAlchemyError as exc:  # a server down, a database not created yet
            raise _unreadable(connection, exc) from None
        finally:
            inbox.close()

    def inbox(self, viewer: Viewer, connection: str) -> WebhookBoxSummary:
        from jirakit.webhooks.store import APPLIED, REJECTED, deliveries

        d = deliveries.c
        with self._inbox(viewer, connection) as inbox, inbox.read() as conn:
            # Grouped by plain columns (an expression with a bound parameter is not the
            # same expression twice to Postgres): the few values of each are folded below.
            grouped = conn.execute(
                select(
                    d.event,
                    d.status,
                    d.retry,
                    d.replay,
                    func.count(),
                    func.sum(d.applied_ms - d.received_ms),
                    func.count(d.applied_ms),
                    func.min(d.received_ms),
                    func.max(d.received_ms),
                ).group_by(d.event, d.status, d.retry, d.replay)
            ).all()
            recent = conn.execute(
                select(d.delivery_id, d.event, d.status, d.received_ms, d.attempts, d.error)
                .order_by(d.seq.desc())
                .limit(50)
            ).all()
            duplicates = inbox.duplicates(conn)
        counts: dict[str, dict[str, int]] = {}
        lag_total: dict[str, float] = {}
        lag_n: dict[str, int] = {}
        first: int | None = None
        last: int | None = None
        for raw_event, status, retry, replayed, n, lag_ms, applied_n, lo, hi in grouped:
            event = "(none)" if raw_event is None else str(raw_event)
            retried = bool(retry)
            row = counts.setdefault(event, dict.fromkeys(INBOX_STATES, 0))
            row["received"] += int(n)
            if status == REJECTED:
                row["rejected"] += int(n)
            else:
                row["verified"] += int(n)
            if retried:
                row["retried by Jira"] += int(n)
            if replayed:
                row["replayed"] += int(n)
            # A replayed delivery's applied time is its replay's: left out of the lag.
            if status == APPLIED and applied_n and not replayed:
                lag_total[event] = lag_total.get(event, 0.0) + float(lag_ms or 0)
                lag_n[event] = lag_n.get(event, 0) + int(applied_n)
            first = lo if first is None else min(first, lo)
            last = hi if last is None else max(last, hi)
        for raw_event, n in duplicates.items():
            event = "(none)" if raw_event is None else str(raw_event)
            counts.setdefault(event, dict.fromkeys(INBOX_STATES, 0))["duplicate"] += n
        return WebhookBoxSummary(
            counts=dict(sorted(counts.items())),
            lag_seconds={e: lag_total[e] / lag_n[e] / 1000 for e in sorted(lag_total)},
            items=tuple(
                BoxItem(
                    id=str(r[0]),
                    event=str(r[1] or "(none)"),
                    status=str(r[2]),
                    at=_ms(r[3]),
                    attempts=int(r[4] or 0),
                    detail=None if r[5] is None else str(r[5])[:300],
                )
                for r in recent
            ),
            source=f"connection {connection}",
            first_at=_ms(first),
            last_at=_ms(last),
        )

    def replay(self, viewer: Viewer, connection: str, start: datetime, end: datetime) -> int:
        if end <= start:
            raise BadFilter("The range must end after it starts.")
        with self._inbox(viewer, connection) as inbox:
            return int(
                inbox.replay(
                    since_ms=int(start.timestamp() * 1000), until_ms=int(end.timestamp() * 1000)
                )
            )

    def outbox(self, viewer: Viewer) -> WebhookBoxSummary:
        from jirakit.service.models import Delivery

        tenant = self._tenant(viewer)
        with self.state.sessions() as session:
            grouped = session.execute(
                select(
                    Delivery.event_type,
                    Delivery.status,
                    Delivery.attempts,
                    func.count(),
                    func.min(Delivery.created_at),
                    func.max(Delivery.created_at),
                )
                .where(Delivery.tenant_id == tenant)
                .group_by(Delivery.event_type, Delivery.status, Delivery.attempts)
            ).all()
            delivered = session.execute(
                select(Delivery.event_type, Delivery.created_at, Delivery.delivered_at).where(
                    Delivery.tenant_id == tenant, Delivery.status == "delivered"
                )
            ).all()
            trouble = session.execute(
                select(Delivery)
                .where(
                    Delivery.tenant_id == tenant,
                    (Delivery.status == "failed")
                    | ((Delivery.status == "pending") & (Delivery.attempts > 0)),
                )
                .order_by(Delivery.created_at.desc(), Delivery.id)
                .limit(100)
            ).scalars()
            items = tuple(
                BoxItem(
                    id=m.id,
                    event=m.event_type,
                    status="dead" if m.status == "failed" else "retrying",
                    at=m.created_at,
                    attempts=m.attempts,
                    detail=(m.last_error or "")[:300]
                    + (f" (HTTP {m.last_status})" if m.last_status else ""),
                )
                for m in trouble
            )
        counts: dict[str, dict[str, int]] = {}
        first: datetime | None = None
        last: datetime | None = None
        for event, status, tried, n, lo, hi in grouped:
            row = counts.setdefault(str(event), dict.fromkeys(OUTBOX_STATES, 0))
            if status == "failed":
                row["dead"] += int(n)
            elif status == "delivered":
                row["delivered"] += int(n)
            elif tried:
                row["retrying"] += int(n)
            else:
                row["pending"] += int(n)
            first = lo if first is None or (lo and lo < first) else first
            last = hi if last is None or (hi and hi > last) else last
        lag_total: dict[str, float] = {}
        lag_n: dict[str, int] = {}
        for event, created, sent in delivered:
            if created is not None and sent is not None:
                lag_total[event] = lag_total.get(event, 0.0) + (sent - created).total_seconds()
                lag_n[event] = lag_n.get(event, 0) + 1
        return WebhookBoxSummary(
            counts=dict(sorted(counts.items())),
            lag_seconds={e: lag_total[e] / lag_n[e] for e in sorted(lag_total)},
            items=items,
            source=f"tenant {viewer.name}",
            first_at=first,
            last_at=last,
        )

    def retry(self, viewer: Viewer, delivery_id: str | None = None) -> int:
        from jirakit.service.models import Delivery
        from jirakit.service.outbox import replay

        tenant = self._tenant(viewer)
        with self.state.sessions() as session:
            query = select(Delivery.webhook_id, Delivery.id).where(
                Delivery.tenant_id == tenant, Delivery.status == "failed"
            )
            if delivery_id is not None:
                query = query.where(Delivery.id == delivery_id)
            found = session.execute(query).all()
        if delivery_id is not None and not found:
            raise KeyError(delivery_id)
        if delivery_id is not None:
            return replay(self.state, tenant, found[0][0], delivery_id)
        return sum(replay(self.state, tenant, hook) for hook in sorted({h for h, _ in found}))

    # -- the rate-limit budget -----------------------------------------------------

    def _governor(self) -> Governor | None:
        return self.governor or self.state.extra.get("governor")

    def _sample(self, governor: Governor) -> Any:
        snap = governor.snapshot()
        totals: dict[str, float] = {}
        for row in snap.tenants:
            key = str(row["tenant"])
            totals[key] = totals.get(key, 0.0) + float(row["granted_points"])
        now = time.time()
        with self._lock:
            if not self._history or now - self._history[-1][0] >= 1.0:
                self._history.append((now, totals))
            else:
                self._history[-1] = (self._history[-1][0], totals)
        return snap

    def _keep_sampling(self) -> None:
        while True:
            time.sleep(self._sample_every)
            governor = self._governor()
            if governor is None:
                continue
            try:
                self._sample(governor)
            except Exception:  # the governor's database blinked: the next sample will do
                continue

    def budget(self, viewer: Viewer) -> BudgetSnapshot:
        tenant = self._tenant(viewer)
        governor = self._governor()
        if governor is None:
            raise Unavailable(
                "No rate-limit governor is set up in this service, so there is no shared "
                "points budget to show.",
                retry_after=60,
            )
        snap = self._sample(governor)
        with self._lock:
            if self._sampler is None and self._sample_every > 0:
                self._sampler = threading.Thread(
                    target=self._keep_sampling, name="jirakit-ui-budget", daemon=True
                )
                self._sampler.start()
            history = list(self._history)
        used = {
            "you": [(_when(at), round(totals.get(tenant, 0.0), 3)) for at, totals in history],
            "other tenants": [
                (_when(at), round(sum(v for k, v in totals.items() if k != tenant), 3))
                for at, totals in history
            ],
        }
        mine_rows = [r for r in snap.tenants if r["tenant"] == tenant]
        others = [r for r in snap.tenants if r["tenant"] != tenant]
        reserves = getattr(getattr(governor, "policy", None), "reserves", None)
        throttled = {}
        for r in mine_rows:
            if r["waiting"]:
                throttled[str(r["priority"])] = _why_waiting(r, snap, others, reserves)
        return BudgetSnapshot(
            pool_points_per_hour=round(snap.points * 3600 / snap.window),
            used=used,
            throttled=throttled,
            window_seconds=snap.window,
            pool_left=max(0.0, snap.tokens),
            server_remaining=snap.server_remaining,
            mine=tuple(
                (
                    str(r["priority"]),
                    float(r["granted_points"]),
                    int(r["requests"]),
                    float(r["waited_seconds"]),
                    bool(r["waiting"]),
                )
                for r in mine_rows
            ),
            others_waiting=len({r["tenant"] for r in others if r["waiting"]}),
            others=len({r["tenant"] for r in others}),
            sampled_at=_when(history[-1][0]) if history else None,
        )


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


PRIORITY_ORDER = ("interactive", "webhook", "incremental", "backfill")


def _why_waiting(
    row: dict[str, Any], snap: Any, others: list[dict[str, Any]], reserves: Any
) -> str:
    """Why a tenant's class waits, in a sentence, from the snapshot alone, in the order
    the governor decides (`jirakit.jobs.budget.decide`): a higher class waiting goes
    first; then a lighter tenant of the same class; else the pool is too low for this
    class (each class leaves a share of it to the classes above)."""
    name = str(row["priority"])
    rank = PRIORITY_ORDER.index(name) if name in PRIORITY_ORDER else len(PRIORITY_ORDER)

    def rank_of(r: dict[str, Any]) -> int:
        p = str(r["priority"])
        return PRIORITY_ORDER.index(p) if p in PRIORITY_ORDER else len(PRIORITY_ORDER)

    if any(r["waiting"] and rank_of(r) < rank for r in others):
        return "a class of higher priority is waiting, and goes first"
    if any(
        r["waiting"]
        and rank_of(r) == rank
        and float(r["recent_points"]) < float(row["recent_points"])
        for r in others
    ):
        return "another tenant of the same class used less lately, and goes first (fair share)"
    if snap.server_remaining is not None and snap.server_remaining <= 0:
        return "Jira says the pool is spent until it resets"
    floor = 0.0
    if isinstance(reserves, Sequence) and rank < len(reserves):
        floor = float(reserves[rank]) * float(snap.capacity)
    if floor > 0:
        return (
            f"the pool is too low for this class: it may spend only above the share kept "
            f"for higher priorities ({floor:,.0f} points; {max(0.0, snap.tokens):,.0f} left)"
        )
    return "the pool is spent for now: points come back as the window moves on"


def _unreadable(connection: str, exc: BaseException) -> Unavailable:
    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split())[:300]  # the driver's words: host and database
    return Unavailable(
        f"The webhook inbox of connection {connection} cannot be read now: {text}",
        retry_after=30,
    )


def _describe_target(target: SyncTarget) -> str:
    dest = target.dest
    if "@" in dest:  # no user names in what a page shows
        scheme, _, rest = dest.partition("://")
        dest = f"{scheme}://{rest.split('@', 1)[1]}"
    return dest + (f" ({target.dataset})" if target.dataset else "")


def providers_for(source: ServiceSource) -> Providers:
    """The pages on offer: connections, webhooks and the budget always (the budget says
    when no governor runs); syncs, project health and drift with a job queue."""
    with_queue = source.queue is not None
    return Providers(
        analytics=source if with_queue else None,
        sync_runs=source if with_queue else None,
        drift=source if with_queue else None,
        connections=source,
        sync_control=source if with_queue else None,
        webhooks=source,
        budget=source,
    )


def _poll_seconds() -> float:
    text = os.environ.get(POLL_ENV, "").strip()
    try:
        value = float(text) if text else 2.0
    except ValueError:
        from jirakit.errors import ConfigurationError

        raise ConfigurationError(f"{POLL_ENV} must be seconds, such as 2 (got {text!r})") from None
    if not 0.1 <= value <= 3600:
        from jirakit.errors import ConfigurationError

        raise ConfigurationError(f"{POLL_ENV} must be between 0.1 and 3600 seconds")
    return value


def mount(app: FastAPI, path: str = "/ui") -> ServiceSource:
    """Mount the dashboard on the service ``app`` at ``path``. The job queue is
    ``JIRAKIT_JOBS_URL`` (when set), the inboxes ``JIRAKIT_UI_INBOX``, the governor
    ``app.state.service.extra["governor"]`` (read when the budget page is asked for);
    the syncs and budget pages refresh every ``JIRAKIT_UI_POLL`` seconds (2)."""
    from jirakit.ui.app import UiSettings, create_app

    state: ServiceState = app.state.service
    queue = None
    # the service's own setting (jirakit serve --jobs, or JIRAKIT_JOBS_URL): the queue its
    # work goes to is the one the pages show and start syncs on
    url = state.settings.jobs_url or os.environ.get("JIRAKIT_JOBS_URL")
    if url:
        from jirakit.errors import ConfigurationError
        from jirakit.jobs.queue import open_queue

        try:
            queue = open_queue(url)
        except ValueError as exc:  # a URL of another kind: one line, before serving
            raise ConfigurationError(f"JIRAKIT_JOBS_URL: {exc}") from None
    inbox_url = os.environ.get(INBOX_ENV) or None
    if inbox_url is not None and "{connection}" not in inbox_url:
        from jirakit.errors import ConfigurationError

        # one store for every connection would show (and replay) every tenant's deliveries
        raise ConfigurationError(
            f"{INBOX_ENV} must name each connection's inbox with {{connection}} in it "
            "(sqlite:////var/lib/jirakit/inbox-{connection}.db), not one store for all"
        )
    source = ServiceSource(state, queue=queue, inbox_url=inbox_url)
    state.extra["ui"] = source
    app.mount(
        path,
        create_app(
            providers_for(source),
            access=ServiceAccess(state),
            settings=UiSettings(
                title="jirakit",
                source="jirakit serve",
                service=True,
                poll_seconds=_poll_seconds(),
            ),
        ),
    )
    return source
