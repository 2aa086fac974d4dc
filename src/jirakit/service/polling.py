"""Virtual webhooks: poll Jira for tasks changed since a subscription's cursor and publish
``task.created`` / ``task.updated`` to the outbox. A plain function a job queue can run.

Each poll asks ``updated >= -Nm`` (relative, so the searching user's time zone does not
matter; JQL has minute granularity) and keeps only issues updated after the cursor, to
the millisecond; the cursor advances to the newest ``updated`` seen, committed with the
published messages' transaction boundary: a crash re-polls, it never skips.
"""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from jirakit import Jira
from jirakit._logging import get_logger
from jirakit.client.models import parse_datetime
from jirakit.errors import JiraError
from jirakit.jobs.budget import Priority
from jirakit.jql import J
from jirakit.service import mapping
from jirakit.service.connections import (
    Snapshot,
    auth_for,
    expiring,
    governor_handle,
    refresh_connection,
)
from jirakit.service.models import Connection, Subscription, utcnow
from jirakit.service.outbox import publish
from jirakit.service.state import ServiceState

log = get_logger("jirakit.service")

VIRTUAL_TYPES = ("task_task",)
LEASE = 120.0
MAX_ISSUES = 1000


def poll_due(state: ServiceState, *, limit: int = 20) -> int:
    """Poll every virtual subscription whose interval has come; returns how many polled."""
    owner = secrets.token_hex(8)
    now = utcnow()
    due = (
        Subscription.webhook_type == "virtual",
        Subscription.is_paused.is_(False),
        Subscription.is_healthy.is_(True),
        or_(Subscription.next_poll_at.is_(None), Subscription.next_poll_at <= now),
        or_(Subscription.poll_until.is_(None), Subscription.poll_until < now),
    )
    with state.sessions() as session, session.begin():
        ids = session.scalars(
            select(Subscription.id).where(*due).limit(limit).with_for_update(skip_locked=True)
        ).all()
        if ids:
            session.execute(
                update(Subscription)
                .where(Subscription.id.in_(ids), *due)
                .values(poll_owner=owner, poll_until=now + timedelta(seconds=LEASE))
                .execution_options(synchronize_session=False)
            )
    polled = 0
    for sub_id in ids:
        with state.sessions() as session:
            mine = session.scalar(
                select(Subscription.id).where(
                    Subscription.id == sub_id, Subscription.poll_owner == owner
                )
            )
        if mine:
            poll_subscription(state, sub_id, owner)
            polled += 1
    return polled


def poll_if_due(state: ServiceState, sub_id: str) -> int:
    """Poll one subscription if its interval has come (the ``webhooks.poll_virtual`` job,
    run one at a time per connection by the queue); the events published."""
    owner = secrets.token_hex(8)
    now = utcnow()
    with state.sessions() as session, session.begin():
        claimed = session.execute(
            update(Subscription)
            .where(
                Subscription.id == sub_id,
                Subscription.webhook_type == "virtual",
                Subscription.is_paused.is_(False),
                Subscription.is_healthy.is_(True),
                or_(Subscription.next_poll_at.is_(None), Subscription.next_poll_at <= now),
            )
            .values(poll_owner=owner, poll_until=now + timedelta(seconds=LEASE))
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            return 0
    return poll_subscription(state, sub_id, owner)


def poll_subscription(state: ServiceState, sub_id: str, owner: str | None = None) -> int:
    """One poll of one subscription; returns the number of events published."""
    with state.sessions() as session:
        sub = session.get(Subscription, sub_id)
        conn = session.get(Connection, sub.connection_id) if sub else None
        if sub is None or conn is None:
            return 0
        snap = Snapshot.of(conn)
        blob = conn.credentials
        cursor = sub.cursor or sub.created_at
        interval = max(float(sub.interval if sub.interval is not None else 1.0), 0.0)
        filters = dict(sub.filters or {})
        tenant_id, event = sub.tenant_id, sub.event
    published = 0
    newest = cursor
    try:
        if snap.kind == "oauth2" and expiring(snap.expires_at, state.settings.refresh_leeway):
            snap = refresh_connection(state, snap.id)
            with state.sessions() as session:
                blob = session.get(Connection, snap.id).credentials  # type: ignore[union-attr]
        minutes = math.ceil((utcnow() - cursor).total_seconds() / 60) + 1
        where: Any = J.updated >= f"-{minutes}m"
        if filters.get("project_id"):
            where = where & (J.project == filters["project_id"])
        jql = f"{where} ORDER BY updated ASC"
        with Jira(
            snap.api_base,
            auth=auth_for(Connection(kind=snap.kind), state.vault.decrypt(blob)),
            flavour=snap.flavour,
            transport=state.transport,
            governor=governor_handle(state, snap, Priority.WEBHOOK),
        ) as jira:
            names = jira.fields.map().names
            for issue in jira.search.iter(jql, fields=["*all"], limit=MAX_ISSUES):
                updated = parse_datetime(issue.fields.get("updated"))
                created = parse_datetime(issue.fields.get("created"))
                if updated is None or updated <= cursor:
                    continue
                kind = "created" if created is not None and created > cursor else "updated"
                newest = max(newest, updated)
                if kind != event:
                    continue
                task = mapping.task_from_issue(issue.raw, snap.site, names)
                # keyed by the issue's version: a poll retried after a crash (its cursor
                # not yet saved) publishes nothing it already published
                key = f"poll:{issue.id}:{kind}:{updated.isoformat()}"
                publish(state, tenant_id, snap.id, "task_task", kind, task, only=sub_id, key=key)
                published += 1
        error = None
    except JiraError as exc:
        error = str(exc)[:300]
        log.warning("virtual webhook poll failed", webhook_id=sub_id, error=type(exc).__name__)
    now = utcnow()
    with state.sessions() as session, session.begin():
        values: dict[str, Any] = {
            "cursor": newest,
            "checked_at": now,
            "next_poll_at": now + timedelta(minutes=interval),
            "poll_owner": None,
            "poll_until": None,
        }
        query = update(Subscription).where(Subscription.id == sub_id)
        if owner is not None:
            query = query.where(Subscription.poll_owner == owner)
        session.execute(query.values(**values).execution_options(synchronize_session=False))
    if error is None:
        log.info("virtual webhook polled", webhook_id=sub_id, events=published)
    return published
