"""Outgoing webhooks: `publish` writes events to a durable outbox; `deliver_due` sends them.

Both are plain functions a job queue can call. Delivery claims rows with a lease
(``SELECT ... FOR UPDATE SKIP LOCKED`` on Postgres, then a compare-and-set of
``locked_until``, which also serialises SQLite), so two `jirakit serve` processes on one
database never send the same message twice at once. Each message keeps its id (the
``webhook-id``) across retries; the retry schedule is Standard Webhooks' (configurable).
A 410 disables the subscription; a message out of retries goes to the dead-letter list
(``status = failed``), from which the API replays it.

At most one attempt of a message is in flight: an attempt claims the message only when no
live lease holds it (``locked_until`` past), renews its lease while its POST runs (every
``LEASE / 4`` seconds), and records its outcome only while it still owns the message
(``locked_by``), so a stale attempt (a stalled process whose job was taken over) cannot
overwrite a newer one's. The lease is short, so a message whose attempt died with its
process (``kill -9``) is free again ``LEASE`` seconds later, when `dispatch` defers it anew.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from jirakit._logging import get_logger
from jirakit.service.models import Delivery, Subscription, new_id, utcnow
from jirakit.service.signing import sign
from jirakit.service.state import ServiceState

log = get_logger("jirakit.service")

# Seconds an attempt's claim holds without renewal: how long a message whose attempt died
# waits before another attempt may take it. A live attempt renews it every LEASE / 4 s.
LEASE = 12.0
# Unified's object types -> the event names your app receives (``task.updated``).
EVENT_NAMES = {
    "task_task": "task",
    "task_project": "project",
    "task_comment": "comment",
    "task_change": "change",
    "hris_employee": "employee",
    "hris_group": "group",
    "storage_file": "file",
    "connection": "connection",
}


def event_type(object_type: str, event: str) -> str:
    return f"{EVENT_NAMES.get(object_type, object_type)}.{event}"


def webhook_secrets(state: ServiceState, sub: Subscription) -> list[str]:
    """The current secret, then any previous one still inside its rotation window."""
    data = state.vault.decrypt(sub.secrets)
    out = [str(data["current"])]
    now = utcnow().timestamp()
    out += [str(p["secret"]) for p in data.get("previous", []) if float(p["until"]) > now]
    return out


def publish(
    state: ServiceState,
    tenant_id: str,
    connection_id: str,
    object_type: str,
    event: str,
    payload: Mapping[str, Any],
    *,
    only: str | None = None,
    key: str | None = None,
) -> list[str]:
    """Queue one message per matching subscription; returns the ids of the messages new.

    ``object_type`` is Unified's (``task_task``...) or ``connection`` (sent to every
    subscription of the connection); ``only`` limits it to one subscription (virtual
    webhooks publish for the subscription that polled). ``key`` makes publishing
    idempotent: each message's id is derived from the subscription and the key (the Jira
    delivery id of a native event), so publishing the same key again (a duplicate or
    retried Jira delivery, a re-run after a crash) adds nothing."""
    now = utcnow()
    ids: list[str] = []
    with state.sessions() as session, session.begin():
        query = select(Subscription).where(
            Subscription.tenant_id == tenant_id,
            Subscription.connection_id == connection_id,
            Subscription.is_healthy.is_(True),
            Subscription.is_paused.is_(False),
        )
        if only is not None:
            query = query.where(Subscription.id == only)
        elif object_type != "connection":
            query = query.where(
                Subscription.object_type == object_type, Subscription.event == event
            )
        for sub in session.scalars(query):
            msg_id = keyed_id(sub.id, key) if key is not None else new_id("msg_")
            body = {
                "type": event_type(object_type, event),
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "data": dict(payload),
                "webhook": {
                    "id": sub.id,
                    "connection_id": connection_id,
                    "object_type": object_type,
                    "event": event,
                    "webhook_type": sub.webhook_type,
                },
            }
            row = {
                "id": msg_id,
                "tenant_id": tenant_id,
                "webhook_id": sub.id,
                "event_type": body["type"],
                "payload": json.dumps(body, separators=(",", ":"), default=str),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "extra": {},
            }
            if key is None:
                session.add(Delivery(**row))
                ids.append(msg_id)
                continue
            # Two processes publishing one key at once: the primary key decides, the
            # loser's insert does nothing.
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            done = session.execute(
                insert(Delivery).values(**row).on_conflict_do_nothing(index_elements=["id"])
            )
            if getattr(done, "rowcount", 0):
                ids.append(msg_id)
    notify = state.extra.get("on_published")
    if ids and notify is not None:
        notify(ids)
    return ids


def keyed_id(subscription_id: str, key: str) -> str:
    """The message id of ``key`` for one subscription (the same every time)."""
    digest = hashlib.sha256(f"{subscription_id}\n{key}".encode()).hexdigest()
    return "msg_" + digest[:32]


def _claim(state: ServiceState, owner: str, limit: int, now: datetime) -> list[str]:
    lease = now + timedelta(seconds=LEASE)
    due = (
        Delivery.status == "pending",
        Delivery.next_attempt_at <= now,
        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
    )
    with state.sessions() as session, session.begin():
        ids = session.scalars(
            select(Delivery.id)
            .where(*due)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not ids:
            return []
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), *due)
            .values(locked_by=owner, locked_until=lease)
            .execution_options(synchronize_session=False)
        )
    with state.sessions() as session:
        return list(
            session.scalars(
                select(Delivery.id).where(Delivery.locked_by == owner, Delivery.id.in_(ids))
            )
        )


def deliver_due(state: ServiceState, *, limit: int = 50, now: datetime | None = None) -> int:
    """Send what is due; returns how many attempts were made."""
    owner = secrets.token_hex(8)
    now = now or utcnow()
    claimed = _claim(state, owner, limit, now)
    if not claimed:
        return 0
    schedule = state.settings.retry_schedule
    with httpx.Client(
        transport=state.hook_transport,
        timeout=state.settings.webhook_timeout,
        follow_redirects=False,
    ) as http:
        for msg_id in claimed:
            _attempt(state, http, msg_id, owner, schedule)
    return len(claimed)


def deliver_one(state: ServiceState, msg_id: str, *, now: datetime | None = None) -> bool:
    """One attempt of one message if it is due (the ``service.deliver`` job); whether an
    attempt was made. The job queue runs one job per message id at a time, so this takes
    over a message whose attempt died once that attempt's lease has run out (it is sent again,
    same ``webhook-id``); while a lease is live it makes no attempt (False)."""
    owner = secrets.token_hex(8)
    now = now or utcnow()
    with state.sessions() as session, session.begin():
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id == msg_id,
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now,
                # a live lease: another attempt is in flight (its job was taken over while
                # it still ran); `dispatch` defers this message again once the lease ends
                or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            )
            .values(locked_by=owner, locked_until=now + timedelta(seconds=LEASE))
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            return False
    with httpx.Client(
        transport=state.hook_transport,
        timeout=state.settings.webhook_timeout,
        follow_redirects=False,
    ) as http:
        _attempt(state, http, msg_id, owner, state.settings.retry_schedule)
    return True


def _attempt(
    state: ServiceState, http: httpx.Client, msg_id: str, owner: str, schedule: tuple[float, ...]
) -> None:
    with state.sessions() as session:
        msg = session.get(Delivery, msg_id)
        sub = session.get(Subscription, msg.webhook_id) if msg else None
        if msg is None or msg.locked_by != owner:
            return
        if sub is None or not sub.is_healthy:
            msg.status, msg.last_error = "failed", "subscription disabled"
            msg.locked_by = msg.locked_until = None
            session.commit()
            return
        body = msg.payload.encode()
        headers = sign(webhook_secrets(state, sub), msg.id, body)
        url = sub.hook_url
    status: int | None = None
    error: str | None = None
    with _renewing(state, msg_id, owner):
        try:
            response = http.post(
                url, content=body, headers={**headers, "content-type": "application/json"}
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}"
    now = utcnow()
    with state.sessions() as session, session.begin():
        msg = session.get(Delivery, msg_id, with_for_update=True)
        if msg is None:
            return
        if msg.locked_by != owner:  # its lease was lost: a newer attempt owns the outcome
            log.warning("stale webhook attempt not recorded", message_id=msg_id, status=status)
            return
        msg.attempts += 1
        msg.last_status = status
        msg.locked_by = msg.locked_until = None
        if status is not None and 200 <= status < 300:
            msg.status, msg.delivered_at, msg.last_error = "delivered", now, None
            session.execute(
                update(Subscription).where(Subscription.id == msg.webhook_id).values(checked_at=now)
            )
        elif status == 410:
            msg.status, msg.last_error = "failed", "the receiver answered 410 Gone"
            session.execute(
                update(Subscription)
                .where(Subscription.id == msg.webhook_id)
                .values(is_healthy=False, disabled_reason="receiver answered 410 Gone")
            )
            log.info("webhook disabled by 410", webhook_id=msg.webhook_id)
        else:
            msg.last_error = error or f"the receiver answered {status}"
            if msg.attempts > len(schedule):
                msg.status = "failed"
            else:
                msg.next_attempt_at = now + timedelta(seconds=schedule[msg.attempts - 1])
        log.info(
            "webhook delivery",
            message_id=msg.id,
            webhook_id=msg.webhook_id,
            status=status,
            attempt=msg.attempts,
            outcome=msg.status,
        )


@contextmanager
def _renewing(state: ServiceState, msg_id: str, owner: str) -> Iterator[None]:
    """Keep ``owner``'s lease on the message alive while the body runs (the POST)."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(LEASE / 4):
            try:
                with state.sessions() as session, session.begin():
                    session.execute(
                        update(Delivery)
                        .where(Delivery.id == msg_id, Delivery.locked_by == owner)
                        .values(locked_until=utcnow() + timedelta(seconds=LEASE))
                        .execution_options(synchronize_session=False)
                    )
            except Exception as exc:  # a busy database: try again next time
                log.warning("renewing a delivery lease failed", error=type(exc).__name__)

    renewer = threading.Thread(target=renew, name=f"jirakit-lease-{msg_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def replay(
    state: ServiceState, tenant_id: str, webhook_id: str, message_id: str | None = None
) -> int:
    """Put dead letters (``failed``) of a subscription back in the queue; returns how many."""
    with state.sessions() as session, session.begin():
        query = (
            update(Delivery)
            .where(
                Delivery.tenant_id == tenant_id,
                Delivery.webhook_id == webhook_id,
                Delivery.status == "failed",
            )
            .values(status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
            .execution_options(synchronize_session=False)
        )
        if message_id is not None:
            query = query.where(Delivery.id == message_id)
        result = session.execute(query)
        return int(getattr(result, "rowcount", 0))


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
