"""Native webhooks: Jira's dynamic webhooks registered per connection, pointing at the
receiver `jirakit serve` hosts itself, ``<JIRAKIT_PUBLIC_URL>/webhooks/jira/<connection_id>``
(`jirakit.service.inbound`, which turns what arrives into outgoing events), or, without a
public URL, at an external receiver (``JIRAKIT_RECEIVER_URL``).

Jira lets only OAuth 2.0 (and Connect) apps register dynamic webhooks, so a connection
"allows it" when it is ``oauth2`` and a receiver is configured; otherwise subscriptions
are virtual (polled). Registrations expire after 30 days: `refresh_native` (a background
job) extends those within a week of it. Plain blocking functions a job queue can run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jirakit import Jira
from jirakit._logging import get_logger
from jirakit.client.resources.webhooks import WebhookSpec
from jirakit.errors import JiraError
from jirakit.jobs.budget import Priority
from jirakit.jql import J
from jirakit.service.connections import Snapshot, auth_for, governor_handle
from jirakit.service.models import Connection, utcnow
from jirakit.service.state import ServiceState

log = get_logger("jirakit.service")

EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
)
REFRESH_BEFORE = timedelta(days=7)


def allows_native(state: ServiceState, kind: str) -> bool:
    return kind == "oauth2" and bool(state.settings.native_url_base)


def target_url(state: ServiceState, connection_id: str) -> str:
    """The URL Jira posts this connection's events to."""
    settings = state.settings
    if settings.public_url:
        return f"{settings.native_url_base}/{connection_id}"
    return str(settings.receiver_url)


def _client(state: ServiceState, connection_id: str) -> tuple[Jira, Connection]:
    with state.sessions() as session:
        conn = session.get(Connection, connection_id)
        if conn is None:
            raise JiraError("the connection was deleted")
        session.expunge(conn)
    snap = Snapshot.of(conn)
    jira = Jira(
        snap.api_base,
        auth=auth_for(conn, state.vault.decrypt(conn.credentials)),
        flavour=snap.flavour,
        transport=state.transport,
        governor=governor_handle(state, snap, Priority.WEBHOOK),
    )
    return jira, conn


def register_native(state: ServiceState, connection_id: str) -> list[int]:
    """Register the connection's dynamic webhooks once (every project, issue and comment
    events) and remember their ids; returns them."""
    jira, conn = _client(state, connection_id)
    held = (conn.extra or {}).get("native_webhooks")
    if held and held.get("ids"):
        jira.close()
        return [int(i) for i in held["ids"]]
    with jira:
        projects = [p.raw["id"] for p in jira.projects.list()]
        spec = WebhookSpec(jql=str(J.project.in_(*projects)), events=EVENTS)
        results = jira.webhooks.register(target_url(state, connection_id), [spec])
    errors = [e for r in results for e in r.errors]
    if errors:
        raise JiraError("Jira refused the webhook registration: " + "; ".join(errors))
    ids = [int(r.id) for r in results if r.id is not None]
    _remember(state, connection_id, ids, utcnow() + timedelta(days=30))
    log.info("native webhooks registered", connection_id=connection_id, count=len(ids))
    return ids


def _remember(state: ServiceState, connection_id: str, ids: list[int], expires: datetime) -> None:
    with state.sessions() as session, session.begin():
        conn = session.get(Connection, connection_id)
        if conn is not None:
            extra: dict[str, Any] = dict(conn.extra or {})
            extra["native_webhooks"] = {"ids": ids, "expires": expires.isoformat()}
            conn.extra = extra


def due_for_refresh(state: ServiceState) -> list[str]:
    """Connections whose registrations expire within a week."""
    from sqlalchemy import select

    horizon = utcnow() + REFRESH_BEFORE
    with state.sessions() as session:
        rows = session.execute(
            select(Connection.id, Connection.extra).where(
                Connection.kind == "oauth2", Connection.status == "healthy"
            )
        ).all()
    due = []
    for connection_id, extra in rows:
        held = (extra or {}).get("native_webhooks")
        if held and datetime.fromisoformat(held["expires"]) <= horizon:
            due.append(str(connection_id))
    return due


def refresh_one(state: ServiceState, connection_id: str) -> bool:
    """Extend one connection's registrations if they expire within a week (a job:
    ``webhooks.refresh_dynamic``); whether it did."""
    with state.sessions() as session:
        conn = session.get(Connection, connection_id)
        held = (conn.extra or {}).get("native_webhooks") if conn is not None else None
    if not held or datetime.fromisoformat(held["expires"]) > utcnow() + REFRESH_BEFORE:
        return False
    try:
        jira, _ = _client(state, connection_id)
        with jira:
            expires = jira.webhooks.refresh([int(i) for i in held["ids"]])
    except JiraError as exc:
        log.warning(
            "native webhook refresh failed", connection_id=connection_id, error=type(exc).__name__
        )
        return False
    _remember(state, connection_id, [int(i) for i in held["ids"]], expires)
    return True


def refresh_native(state: ServiceState) -> int:
    """Background job: extend registrations that expire within a week. Returns how many
    connections were refreshed."""
    return sum(1 for connection_id in due_for_refresh(state) if refresh_one(state, connection_id))
