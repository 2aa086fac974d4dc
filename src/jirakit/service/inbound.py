"""Native events in: `jirakit serve` hosts Jira's webhook receiver, ``POST
/webhooks/jira/{connection_id}``, and turns what arrives into outgoing events.

Built from `jirakit.webhooks` rather than beside it: the delivery is verified over its raw
bytes before anything parses it (`jirakit.webhooks.verification`), with the connection's
secrets: the OAuth app's client secret for the ``Authorization: JWT`` of dynamic webhooks,
and the connection's HMAC secret (``X-Hub-Signature``) for admin webhooks where it has
one (`set_webhook_secret`, ``jirakit connections webhook-secret``). A bad signature is
answered 401 and not stored. A good one is committed to the durable inbox
(`jirakit.webhooks.store.Inbox`, in the service's database unless ``JIRAKIT_INBOX_URL``
says otherwise) before the 200, under ``<connection_id>:<X-Atlassian-Webhook-Identifier>``,
so a duplicate or retried delivery is acknowledged and not stored again.

The inbox's `Processor` (ordering, retries with backoff, one processor per store at a
time) applies stored deliveries with `PublishConsumer`: issue events become ``task_task``
and comment events ``task_comment`` events (created/updated/deleted) for the matching
``/unified/webhook`` subscriptions, through `jirakit.service.outbox.publish` keyed by the
delivery id: a delivery processed twice (a crash between publishing and marking it
applied) publishes nothing more.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from jirakit._logging import get_logger
from jirakit.service import mapping
from jirakit.service.models import Connection
from jirakit.service.outbox import publish
from jirakit.service.problems import Problem
from jirakit.service.state import ServiceState
from jirakit.webhooks.app import describe
from jirakit.webhooks.consumers import Effects
from jirakit.webhooks.models import CommentEvent, IssueEvent, WebhookEvent
from jirakit.webhooks.processor import Processor
from jirakit.webhooks.store import CONFLICT, DUPLICATE, REJECTED, Inbox, Incoming
from jirakit.webhooks.verification import Secrets, VerificationError, Verifier

__all__ = [
    "PublishConsumer",
    "inbox",
    "process_inbox",
    "processor",
    "router",
    "set_webhook_secret",
    "stop",
]

log = get_logger("jirakit.service")

router = APIRouter(tags=["jira"])

# Jira's event names -> (Unified object type, event)
EVENTS: dict[str, tuple[str, str]] = {
    "jira:issue_created": ("task_task", "created"),
    "jira:issue_updated": ("task_task", "updated"),
    "jira:issue_deleted": ("task_task", "deleted"),
    "comment_created": ("task_comment", "created"),
    "comment_updated": ("task_comment", "updated"),
    "comment_deleted": ("task_comment", "deleted"),
}
SECRET_KEY = "webhook_hmac"


def inbox(state: ServiceState) -> Inbox:
    """The service's inbox, opened once per process."""
    found = state.extra.get("inbox")
    if found is None:
        url = state.settings.inbox_url or state.settings.database_url
        found = Inbox(url.replace("postgresql+psycopg://", "postgresql://", 1))
        state.extra["inbox"] = found
    return found


def processor(state: ServiceState) -> Processor:
    found = state.extra.get("processor")
    if found is None:
        found = Processor(inbox(state), [PublishConsumer(state)])
        state.extra["processor"] = found
    return found


def process_inbox(state: ServiceState) -> int:
    """Apply every stored delivery that is due (a background job); how many."""
    if "inbox" not in state.extra and not _may_have_deliveries(state):
        return 0
    return processor(state).drain()


def _may_have_deliveries(state: ServiceState) -> bool:
    """Whether this database holds an inbox at all (a process that never received a
    delivery, e.g. a worker, opens it only when it does)."""
    from sqlalchemy import inspect

    if state.settings.inbox_url:
        return True
    return bool(inspect(state.engine).has_table("webhook_deliveries"))


def inbox_pending(state: ServiceState) -> bool:
    """Whether received deliveries wait to be applied."""
    if "inbox" not in state.extra and not _may_have_deliveries(state):
        return False
    return inbox(state).has_pending()


def stop(state: ServiceState) -> None:
    """Give up the processor's lease and close the inbox (at shutdown)."""
    proc = state.extra.pop("processor", None)
    if proc is not None:
        proc.release()
    box = state.extra.pop("inbox", None)
    if box is not None:
        box.close()


# -- secrets ----------------------------------------------------------------------------


def set_webhook_secret(state: ServiceState, connection_id: str, secret: str | None) -> None:
    """Give a connection the HMAC secret its admin webhooks are registered with (None:
    remove it). Stored encrypted, like credentials."""
    with state.sessions() as session, session.begin():
        conn = session.get(Connection, connection_id)
        if conn is None:
            raise KeyError(connection_id)
        extra: dict[str, Any] = dict(conn.extra or {})
        if secret:
            extra[SECRET_KEY] = state.vault.encrypt({"secrets": [secret]})
        else:
            extra.pop(SECRET_KEY, None)
        conn.extra = extra


def secrets_for(state: ServiceState, conn: Connection) -> Secrets:
    settings = state.settings
    jwt: tuple[str, ...] = ()
    if conn.kind == "oauth2" and settings.oauth_client_secret:
        jwt = (settings.oauth_client_secret,)
    held = (conn.extra or {}).get(SECRET_KEY)
    hmac: tuple[str, ...] = tuple(state.vault.decrypt(held)["secrets"]) if held else ()
    return Secrets(
        hmac=hmac,
        jwt=jwt,
        app_key=settings.oauth_client_id if jwt else None,
    )


# -- the route --------------------------------------------------------------------------


def _signed_url(state: ServiceState, request: Request, connection_id: str) -> str:
    """What a JWT's ``qsh`` covers: the URL Jira was given (behind a proxy the path we see
    may differ), else the path of this request."""
    if state.settings.public_url:
        base = urlsplit(state.settings.native_url_base or "").path
        return f"{base}/{connection_id}"
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def _unauthorized(reason: str, detail: str) -> Problem:
    return Problem(401, detail, reason=reason)


def _registered_here(conn: Connection, raw: bytes) -> bool:
    """Whether a dynamic webhook's delivery names (``matchedWebhookIds``) one of the
    webhooks the service registered for ``conn``. A body that is not JSON passes here and
    is refused as malformed later."""
    try:
        body = json.loads(raw)
    except ValueError:
        return True
    matched = body.get("matchedWebhookIds") if isinstance(body, dict) else None
    held = (conn.extra or {}).get("native_webhooks") or {}
    mine = {str(i) for i in held.get("ids") or ()}
    return isinstance(matched, list) and any(str(i) in mine for i in matched)


@router.post("/webhooks/jira/{connection_id}", include_in_schema=False)
async def receive(connection_id: str, request: Request) -> JSONResponse:
    """A delivery from Jira for one connection (see the module docstring)."""
    state: ServiceState = request.app.state.service
    limit = state.settings.inbox_max_body
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the body is over {limit} bytes")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "Content-Type must be application/json")
    with state.sessions() as session:
        conn = session.get(Connection, connection_id)
        if conn is not None:
            session.expunge(conn)
    if conn is None:
        # Nothing to verify against: no different from a bad signature to the caller.
        raise _unauthorized("unknown_connection", "no such connection")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a body without Content-Length: read up to limit
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body is over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    headers = {k.lower(): v for k, v in request.headers.items()}
    jira_id = headers.get("x-atlassian-webhook-identifier")
    try:
        verified = Verifier(secrets_for(state, conn)).check(
            raw, headers, method="POST", url=_signed_url(state, request, connection_id)
        )
    except VerificationError as exc:
        log.warning(
            "jira webhook rejected",
            connection_id=connection_id,
            reason=exc.reason,
            delivery_id=jira_id,
            size=len(raw),
        )
        raise _unauthorized(exc.reason, str(exc)) from None
    if verified.method == "jwt" and not _registered_here(conn, raw):
        # Every OAuth connection verifies with the one app secret, so the signature alone
        # does not tell which connection a delivery is for: it must name a webhook this
        # connection registered (another tenant could register one pointing here).
        log.warning(
            "jira webhook rejected", connection_id=connection_id, reason="not_registered_here"
        )
        raise _unauthorized(
            "not_registered_here",
            "the delivery names no webhook this connection registered (matchedWebhookIds)",
        )
    retry = headers.get("x-atlassian-webhook-retry", "0")
    item = Incoming(
        delivery_id=f"{connection_id}:{jira_id or ''}"[:255],
        body=raw,
        headers=headers,
        received_ms=time.time_ns() // 1_000_000,
        source=verified.method,
        retry=int(retry) if retry.isdigit() else 0,
    )
    if not jira_id:
        from jirakit.webhooks.store import content_id

        item.delivery_id = f"{connection_id}:{content_id(raw)}"[:255]
    malformed = describe(raw, item)
    if malformed is not None:
        item.status, item.outcome, item.error = REJECTED, "malformed", malformed
    try:
        result = await inbox(state).submit_async(item)
    except Exception as exc:
        log.error("jira webhook inbox unavailable", error=type(exc).__name__)
        raise Problem(503, "the inbox is unavailable; retry later") from None
    if malformed is not None:
        raise Problem(400, f"malformed: {malformed}")
    if result == CONFLICT:
        raise Problem(
            409, "a different body was already received under this X-Atlassian-Webhook-Identifier"
        )
    wake = state.extra.get("on_received")
    if wake is not None and result != DUPLICATE:
        wake()
    status = "duplicate" if result == DUPLICATE else "accepted"
    return JSONResponse({"status": status, "id": jira_id})


# -- from Jira's events to the outbox -----------------------------------------------------


class PublishConsumer:
    """Publishes each applied issue/comment event to the connection's subscriptions."""

    name = "service"

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def handle(self, event: WebhookEvent, effects: Effects) -> None:
        kind = EVENTS.get(event.name)
        if kind is None:
            return
        connection_id, _, _ = event.delivery_id.partition(":")
        with self.state.sessions() as session:
            conn = session.get(Connection, connection_id)
            if conn is None:  # deleted since: nobody to tell
                return
            tenant_id, site = conn.tenant_id, conn.site
        object_type, what = kind
        payload = _payload(event, object_type, site)
        if payload is None:
            return
        ids = publish(
            self.state, tenant_id, connection_id, object_type, what, payload, key=event.delivery_id
        )
        log.info(
            "jira event published",
            connection_id=connection_id,
            webhook_event=event.name,
            messages=len(ids),
        )


def _payload(event: WebhookEvent, object_type: str, site: str) -> dict[str, Any] | None:
    if object_type == "task_task" and isinstance(event, IssueEvent):
        issue: Mapping[str, Any] = event.issue
        if not issue.get("id"):
            return None
        return mapping.task_from_issue(issue, site, {})
    if object_type == "task_comment" and isinstance(event, CommentEvent):
        comment = event.comment
        if not comment.get("id"):
            return None
        task_id = str(event.issue_id or "")
        out = mapping.comment_from_jira(comment, task_id)
        out["id"] = f"{task_id}:{out['id']}"  # the service's comment ids name their issue
        return out
    return None
