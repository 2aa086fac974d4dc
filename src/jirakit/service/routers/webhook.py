"""``/unified/webhook``: your app's subscriptions, their secrets and dead letters."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from jirakit.errors import JiraError
from jirakit.service.crypto import new_webhook_secret
from jirakit.service.deps import Db, State, TenantId, owned
from jirakit.service.models import Connection, Delivery, Subscription, utcnow
from jirakit.service.native import allows_native, register_native
from jirakit.service.outbox import EVENT_NAMES, replay
from jirakit.service.paging import Listing
from jirakit.service.polling import VIRTUAL_TYPES
from jirakit.service.problems import Problem
from jirakit.service.schemas.unified import (
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
)
from jirakit.service.state import ServiceState

router = APIRouter(prefix="/unified/webhook", tags=["unified"])

ROTATION_WINDOW = 24 * 3600.0


def _bad(loc: str, msg: str) -> Problem:
    return Problem(422, f"{loc}: {msg}", errors=[{"loc": loc, "msg": msg, "type": "value_error"}])


def public(sub: Subscription, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": sub.id,
        "connection_id": sub.connection_id,
        "object_type": sub.object_type,
        "event": sub.event,
        "hook_url": sub.hook_url,
        "webhook_type": sub.webhook_type,
        "interval": sub.interval,
        "fields": sub.fields,
        "filters": sub.filters or None,
        "is_paused": sub.is_paused,
        "is_healthy": sub.is_healthy,
        "checked_at": sub.checked_at,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
        "secret": secret,
    }


def _check_url(state: ServiceState, url: str | None) -> str:
    if not url:
        raise _bad("body.hook_url", "give the URL to deliver events to")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("body.hook_url", "must be an http(s) URL")
    if not state.settings.private_hooks_allowed:
        import ipaddress

        host = parts.hostname
        try:
            private = not ipaddress.ip_address(host).is_global
        except ValueError:
            private = host in ("localhost",) or host.endswith((".local", ".internal"))
        if private:
            raise _bad("body.hook_url", "must be a public address")
    return url


def _check_kind(object_type: str, event: str, webhook_type: str) -> None:
    if object_type not in EVENT_NAMES or object_type == "connection":
        known = ", ".join(k for k in EVENT_NAMES if k != "connection")
        raise _bad("body.object_type", f"must be one of {known}")
    if webhook_type == "virtual":
        if object_type not in VIRTUAL_TYPES:
            raise _bad(
                "body.object_type",
                f"virtual (polling) webhooks cover {', '.join(VIRTUAL_TYPES)}; use native",
            )
        if event == "deleted":
            raise _bad("body.event", "deletions are not seen by polling; use a native webhook")


@router.post("", response_model=WebhookPublic, response_model_exclude_none=True)
def create_webhook(
    state: State,
    db: Db,
    tenant_id: TenantId,
    body: WebhookCreate,
    include_all: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    """Subscribe; the answer carries the signing ``secret`` (whsec_...), shown only now."""
    conn: Connection = owned(db, Connection, tenant_id, body.connection_id, "connection")
    native_ok = allows_native(state, conn.kind)
    webhook_type = body.webhook_type or ("native" if native_ok else "virtual")
    _check_kind(body.object_type, body.event, webhook_type)
    if webhook_type == "native":
        if not native_ok:
            raise _bad(
                "body.webhook_type",
                "native webhooks need an OAuth connection and a configured receiver "
                "(JIRAKIT_PUBLIC_URL or JIRAKIT_RECEIVER_URL); use virtual",
            )
        try:
            register_native(state, conn.id)
        except JiraError as exc:
            raise Problem(502, f"registering the Jira webhook failed: {exc}") from None
    secret = new_webhook_secret()
    now = utcnow()
    interval = body.interval if body.interval is not None else 1.0
    if interval < 0 or interval > 24 * 60:
        raise _bad("body.interval", "minutes between polls, 0-1440")
    sub = Subscription(
        tenant_id=tenant_id,
        connection_id=body.connection_id,
        object_type=body.object_type,
        event=body.event,
        hook_url=_check_url(state, body.hook_url),
        webhook_type=webhook_type,
        interval=interval,
        fields=body.fields,
        filters=dict(body.filters or {}),
        secrets=state.vault.encrypt({"current": secret, "previous": []}),
        is_paused=bool(body.is_paused),
        is_healthy=True,
        cursor=now,
        next_poll_at=now,
        created_at=now,
        updated_at=now,
    )
    db.add(sub)
    db.commit()
    return public(sub, secret)


@router.get("", response_model=list[WebhookPublic], response_model_exclude_none=True)
def list_webhooks(
    db: Db,
    tenant_id: TenantId,
    params: Listing,
    connection_id: Annotated[str | None, Query(max_length=100)] = None,
    object: Annotated[str | None, Query(max_length=100)] = None,
    is_healthy: Annotated[bool | None, Query()] = None,
) -> list[dict[str, Any]]:
    query = select(Subscription).where(Subscription.tenant_id == tenant_id)
    if connection_id:
        query = query.where(Subscription.connection_id == connection_id)
    if object:
        query = query.where(Subscription.object_type == object)
    if is_healthy is not None:
        query = query.where(Subscription.is_healthy.is_(is_healthy))
    if params.updated_gte:
        query = query.where(Subscription.updated_at >= params.updated_gte)
    column = Subscription.created_at if params.sort == "created_at" else Subscription.updated_at
    query = query.order_by(
        column.asc() if params.order == "asc" else column.desc(), Subscription.id
    )
    return [public(s) for s in db.scalars(query.offset(params.offset).limit(params.limit))]


@router.get("/{id}", response_model=WebhookPublic, response_model_exclude_none=True)
def get_webhook(db: Db, tenant_id: TenantId, id: str) -> dict[str, Any]:
    return public(owned(db, Subscription, tenant_id, id, "webhook"))


def _update(
    state: ServiceState, db: Any, tenant_id: str, id: str, body: WebhookUpdate
) -> dict[str, Any]:
    sub: Subscription = owned(db, Subscription, tenant_id, id, "webhook")
    set_ = body.model_fields_set
    if "connection_id" in set_ and body.connection_id and body.connection_id != sub.connection_id:
        raise _bad("body.connection_id", "a webhook cannot move to another connection")
    object_type = (
        body.object_type if "object_type" in set_ and body.object_type else sub.object_type
    )
    event = body.event if "event" in set_ and body.event else sub.event
    webhook_type = (
        body.webhook_type if "webhook_type" in set_ and body.webhook_type else sub.webhook_type
    )
    _check_kind(object_type, event, webhook_type)
    sub.object_type, sub.event, sub.webhook_type = object_type, event, webhook_type
    if "hook_url" in set_ and body.hook_url:
        sub.hook_url = _check_url(state, body.hook_url)
    if "interval" in set_ and body.interval is not None:
        if body.interval < 0 or body.interval > 24 * 60:
            raise _bad("body.interval", "minutes between polls, 0-1440")
        sub.interval = body.interval
    if "fields" in set_:
        sub.fields = body.fields
    if "filters" in set_:
        sub.filters = dict(body.filters or {})
    if "is_paused" in set_ and body.is_paused is not None:
        sub.is_paused = body.is_paused
    sub.updated_at = utcnow()
    db.commit()
    return public(sub)


@router.put("/{id}", response_model=WebhookPublic, response_model_exclude_none=True)
def update_webhook(
    state: State, db: Db, tenant_id: TenantId, id: str, body: WebhookUpdate
) -> dict[str, Any]:
    return _update(state, db, tenant_id, id, body)


@router.patch("/{id}", response_model=WebhookPublic, response_model_exclude_none=True)
def patch_webhook(
    state: State, db: Db, tenant_id: TenantId, id: str, body: WebhookUpdate
) -> dict[str, Any]:
    return _update(state, db, tenant_id, id, body)


@router.delete("/{id}", status_code=200, response_class=Response)
def remove_webhook(db: Db, tenant_id: TenantId, id: str) -> Response:
    db.delete(owned(db, Subscription, tenant_id, id, "webhook"))
    db.commit()
    return Response(status_code=200)


@router.put("/{id}/trigger", status_code=200, response_class=Response)
@router.patch("/{id}/trigger", status_code=200, response_class=Response)
def trigger_webhook(db: Db, tenant_id: TenantId, id: str) -> Response:
    """Poll a virtual webhook now (Unified's trigger)."""
    sub: Subscription = owned(db, Subscription, tenant_id, id, "webhook")
    sub.next_poll_at = utcnow()
    db.commit()
    return Response(status_code=200)


@router.put("/{id}/resume", response_model=WebhookPublic, response_model_exclude_none=True)
@router.patch("/{id}/resume", response_model=WebhookPublic, response_model_exclude_none=True)
def resume_webhook(db: Db, tenant_id: TenantId, id: str) -> dict[str, Any]:
    """Re-enable a webhook disabled by a 410 (or paused)."""
    sub: Subscription = owned(db, Subscription, tenant_id, id, "webhook")
    sub.is_healthy, sub.is_paused, sub.disabled_reason = True, False, None
    sub.updated_at = utcnow()
    db.commit()
    return public(sub)


@router.post("/{id}/secret/rotate", response_model=WebhookPublic, response_model_exclude_none=True)
def rotate_secret(state: State, db: Db, tenant_id: TenantId, id: str) -> dict[str, Any]:
    """jirakit: a new secret; the old one keeps signing too (two signatures) for 24 h."""
    sub: Subscription = owned(db, Subscription, tenant_id, id, "webhook")
    data = state.vault.decrypt(sub.secrets)
    until = (utcnow() + timedelta(seconds=ROTATION_WINDOW)).timestamp()
    secret = new_webhook_secret()
    previous = [{"secret": data["current"], "until": until}, *data.get("previous", [])][:2]
    sub.secrets = state.vault.encrypt({"current": secret, "previous": previous})
    sub.updated_at = utcnow()
    db.commit()
    return public(sub, secret)


def _delivery(d: Delivery) -> dict[str, Any]:
    import json

    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
        "payload": json.loads(d.payload),
    }


@router.get(
    "/{id}/deliveries", response_model=list[DeliveryPublic], response_model_exclude_none=True
)
def list_deliveries(
    db: Db,
    tenant_id: TenantId,
    id: str,
    params: Listing,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
) -> list[dict[str, Any]]:
    """jirakit: a webhook's messages; ``status=failed`` is the dead-letter list."""
    owned(db, Subscription, tenant_id, id, "webhook")
    query = select(Delivery).where(Delivery.tenant_id == tenant_id, Delivery.webhook_id == id)
    if status:
        query = query.where(Delivery.status == status)
    query = query.order_by(Delivery.created_at.desc(), Delivery.id)
    return [_delivery(d) for d in db.scalars(query.offset(params.offset).limit(params.limit))]


@router.post("/{id}/deliveries/replay", status_code=200)
def replay_all(state: State, db: Db, tenant_id: TenantId, id: str) -> dict[str, int]:
    """jirakit: queue every dead letter of this webhook again."""
    owned(db, Subscription, tenant_id, id, "webhook")
    return {"replayed": replay(state, tenant_id, id)}


@router.post("/{id}/deliveries/{message_id}/replay", status_code=200)
def replay_one(
    state: State, db: Db, tenant_id: TenantId, id: str, message_id: str
) -> dict[str, int]:
    """jirakit: queue one dead letter again."""
    owned(db, Subscription, tenant_id, id, "webhook")
    count = replay(state, tenant_id, id, message_id)
    if not count:
        raise Problem(404, f"dead letter {message_id!r} does not exist")
    return {"replayed": count}
