"""Consumers: what happens to an event once it is verified, stored and ordered.

A consumer is any object with a ``name`` and ``handle(event, effects)``. The processor
(`jirakit.webhooks.processor`) calls it once per stored delivery, in arrival order, with
the event's ``ordering`` decided. ``effects`` collects what must be committed together
with the delivery being marked applied: re-reads for fetch-on-notify (`Effects.mark_dirty`),
forwards (`Effects.forward`), or any write of your own on the store's connection
(`Effects.in_transaction`). If ``handle`` raises, none of the delivery's effects are kept
and the delivery is tried again later (with backoff): handlers run *at least once*, with
``event.delivery_id`` as the idempotency key; effects are committed *exactly once*.

Three consumers ship:

- `Handlers`: Python functions by event name (``@handlers.on("jira:issue_updated")``);
- `Forwarder`: HTTP forwarding through the outbox, signed per Standard Webhooks
  (``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``), retried on a schedule;
- the warehouse (`jirakit.webhooks.warehouse.WarehouseConsumer`), through fetch-on-notify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx
from sqlalchemy import Connection

from jirakit._logging import get_logger
from jirakit.webhooks.models import WebhookEvent
from jirakit.webhooks.store import Inbox, now_ms

__all__ = [
    "Consumer",
    "Effects",
    "Forwarder",
    "Handlers",
    "Snapshot",
    "sign_forward",
    "verify_forward",
]

log = get_logger("jirakit.webhooks")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Effects:
    """What one delivery's consumers want committed with it (see the module docstring)."""

    dirty: list[tuple[str, int, int | None, bool]] = field(default_factory=list)
    forwards: list[tuple[str, str, bytes]] = field(default_factory=list)
    writes: list[Callable[[Connection], None]] = field(default_factory=list)

    def mark_dirty(
        self, kind: str, entity_id: int, *, issue_id: int | None = None, deleted: bool = False
    ) -> None:
        """Read this issue (``kind="issue"``) or worklog again, in the next batch."""
        self.dirty.append((kind, int(entity_id), issue_id, deleted))

    def forward(self, target: str, url: str, body: bytes) -> None:
        self.forwards.append((target, url, body))

    def in_transaction(self, write: Callable[[Connection], None]) -> None:
        """Run ``write(connection)`` in the transaction that marks the delivery applied."""
        self.writes.append(write)

    def commit(self, inbox: Inbox, conn: Connection, delivery_id: str) -> None:
        """Write what was collected (dirty marks are written by the caller, batched)."""
        for target, url, body in self.forwards:
            inbox.enqueue(conn, target, delivery_id, url, body)
        for write in self.writes:
            write(conn)


@runtime_checkable
class Consumer(Protocol):
    name: str

    def handle(self, event: WebhookEvent, effects: Effects) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """Jira's current truth for a batch of re-read issues (fetch-on-notify): the issues as
    ``issue/bulkfetch`` returns them, their full histories, and what is gone."""

    issues: Sequence[dict[str, Any]]
    histories: dict[int, list[dict[str, Any]]]
    deleted_issues: Sequence[int]
    worklogs: Sequence[dict[str, Any]] = ()
    deleted_worklogs: Sequence[int] = ()
    fetched_ms: int = 0


@dataclass(frozen=True)
class _Handler:
    fn: Callable[[WebhookEvent], Any]
    current_only: bool


def _matches(names: Iterable[str], event: WebhookEvent) -> bool:
    return any(name in ("*", event.name, event.type_name) for name in names)


class Handlers:
    """Python functions called per event.

        handlers = Handlers()

        @handlers.on("jira:issue_updated")              # or "issue_assigned", or "*"
        def changed(event: IssueEvent) -> None: ...

        @handlers.on("comment_created", current_only=True)   # skip stale/after_delete
        def commented(event: CommentEvent) -> None: ...

        @handlers.on_snapshot                            # fetch-on-notify results
        def fresh(snapshot: Snapshot) -> None: ...

    Names are ``webhookEvent`` values or ``issue_event_type_name`` values. Unknown event
    types reach only ``"*"`` handlers (with ``ordering == "ignored"``).
    """

    name = "handlers"

    def __init__(self) -> None:
        self._handlers: dict[str, list[_Handler]] = {}
        self.snapshot_handlers: list[Callable[[Snapshot], Any]] = []

    def on(self, *events: str, current_only: bool = False) -> Callable[[F], F]:
        if not events:
            raise ValueError("name at least one event (or '*')")

        def register(fn: F) -> F:
            if not callable(fn):
                raise TypeError("a handler must be callable")
            if inspect.iscoroutinefunction(fn):
                raise TypeError(
                    "handlers run on the processing thread: use a plain function "
                    "(hand async work to your own loop)"
                )
            for name in events:
                self._handlers.setdefault(name, []).append(_Handler(fn, current_only))
            return fn

        return register

    def on_snapshot(self, fn: F) -> F:
        self.snapshot_handlers.append(fn)
        return fn

    def __len__(self) -> int:
        return sum(len(v) for v in self._handlers.values())

    def handle(self, event: WebhookEvent, effects: Effects) -> None:
        seen: set[int] = set()
        for name in ("*", event.name, event.type_name):
            if name is None:
                continue
            for h in self._handlers.get(name, ()):
                if id(h) in seen:
                    continue
                seen.add(id(h))
                if name != "*" and event.ordering == "ignored":
                    continue
                if h.current_only and not event.current:
                    continue
                h.fn(event)

    def snapshot(self, snapshot: Snapshot) -> None:
        for fn in self.snapshot_handlers:
            fn(snapshot)


# -- HTTP forwarding ------------------------------------------------------------------------


def _key(secret: str) -> bytes:
    """Standard Webhooks secrets are ``whsec_<base64>``; anything else is used as bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def sign_forward(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header (Standard Webhooks, ``v1``)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify_forward(
    secret: str, headers: dict[str, str], body: bytes, *, tolerance: float = 300.0
) -> bool:
    """Check a forwarded delivery (for the endpoint receiving forwards)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        ts = int(h["webhook-timestamp"])
        msg_id = h["webhook-id"]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - ts) > tolerance:
        return False
    expected = sign_forward(secret, msg_id, ts, body).encode()
    return any(
        hmac.compare_digest(expected, part.strip().encode())
        for part in h.get("webhook-signature", "").split(" ")
    )


# The retry schedule is data (seconds after each failed attempt), as svix keeps it.
FORWARD_SCHEDULE = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)


class Forwarder:
    """Forward events to ``url`` as JSON envelopes, through the outbox.

    The envelope: ``{"type": <webhookEvent>, "id": <delivery id>, "ordering": ...,
    "source": ..., "data": <the Jira body>}``. Headers: ``webhook-id`` (the delivery id:
    the receiving end's idempotency key), ``webhook-timestamp``, and with ``secret`` a
    ``webhook-signature``. A 2xx is done; anything else (or no answer) is retried after
    ``schedule[n]`` seconds, then given up (``status = failed`` in the outbox).
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        events: Sequence[str] = ("*",),
        current_only: bool = False,
        name: str | None = None,
        schedule: Sequence[float] = FORWARD_SCHEDULE,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.events = tuple(events)
        self.current_only = current_only
        self.name = name or f"forward:{url}"
        self.schedule = tuple(schedule)
        self.timeout = timeout
        self.transport = transport

    def __repr__(self) -> str:
        return f"Forwarder({self.url!r}, signed={self.secret is not None})"

    def handle(self, event: WebhookEvent, effects: Effects) -> None:
        if event.ordering == "ignored" and "*" not in self.events:
            return
        if not _matches(self.events, event):
            return
        if self.current_only and not event.current:
            return
        envelope = {
            "type": event.name,
            "id": event.delivery_id,
            "ordering": event.ordering,
            "source": event.source,
            "replay": event.replay,
            "data": event.raw,
        }
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        effects.forward(self.name, self.url, body)

    def deliver(self, inbox: Inbox, *, limit: int = 100, client: httpx.Client | None = None) -> int:
        """Send due forwards of this forwarder once; returns how many were attempted.
        (A plain function a job queue can call.)"""
        due = [r for r in inbox.due_forwards(limit) if r["target"] == self.name]
        if not due:
            return 0
        own = client is None
        http = client or httpx.Client(timeout=self.timeout, transport=self.transport)
        try:
            for row in due:
                self._send(inbox, http, row)
        finally:
            if own:
                http.close()
        return len(due)

    def _send(self, inbox: Inbox, http: httpx.Client, row: dict[str, Any]) -> None:
        body = bytes(row["body"])
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": str(row["delivery_id"]),
            "webhook-timestamp": str(ts),
        }
        if self.secret:
            headers["webhook-signature"] = sign_forward(
                self.secret, str(row["delivery_id"]), ts, body
            )
        error: str | None = None
        try:
            response = http.post(str(row["url"]), content=body, headers=headers)
            ok = 200 <= response.status_code < 300
            if not ok:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, type(exc).__name__
        attempt = int(row["attempts"])
        next_ms: int | None = None
        if not ok and attempt < len(self.schedule):
            next_ms = now_ms() + int(self.schedule[attempt] * 1000)
        inbox.forward_done(int(row["seq"]), ok=ok, error=error, next_ms=next_ms)
        if not ok:
            log.warning(
                "webhooks.forward_failed",
                target=self.url,
                delivery_id=row["delivery_id"],
                attempt=attempt + 1,
                error=error,
                gave_up=next_ms is None,
            )
