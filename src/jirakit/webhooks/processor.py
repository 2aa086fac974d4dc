"""Processing the inbox: stored deliveries -> typed events -> ordering -> consumers.

`Processor.run_once` takes a batch of accepted deliveries (arrival order), parses each,
decides its ordering (`jirakit.webhooks.ordering`), calls the consumers, and then, in one
short write transaction, stores the new entity states, the consumers' effects, a journal
row per delivery and its ``applied`` status. Consumers run outside that transaction, so
the receiver's own writes (the acks) never wait for a handler.

A delivery whose consumer raises keeps its status, gets its error and ``attempts``
recorded, and is tried again after a backoff (``retry_schedule``), without holding up the
deliveries behind it: their order is each entity's own, not the arrival order.

One processor works a store at a time: it holds a lease (``webhook_state``) renewed on
every batch, so several receivers on one Postgres database take turns instead of racing.
A crashed holder's lease runs out after ``lease_seconds``, or at once when the holder was
a process on this host that is gone (``kill -9``, then a restart).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from sqlalchemy import select

from jirakit._logging import get_logger
from jirakit.webhooks.consumers import Consumer, Effects
from jirakit.webhooks.models import WebhookEvent, parse_event
from jirakit.webhooks.ordering import Ordering
from jirakit.webhooks.store import DeliveryRow, Inbox, now_ms, state

__all__ = ["Processor"]

log = get_logger("jirakit.webhooks")

RETRY_SCHEDULE = (1.0, 5.0, 30.0, 120.0, 300.0)
LEASE_KEY = "processor_lease"


class Processor:
    """Applies stored deliveries (see the module docstring)."""

    def __init__(
        self,
        inbox: Inbox,
        consumers: Sequence[Consumer] = (),
        *,
        batch: int = 100,
        retry_schedule: Sequence[float] = RETRY_SCHEDULE,
        lease_seconds: float = 30.0,
    ) -> None:
        self.inbox = inbox
        self.consumers = list(consumers)
        self.batch = batch
        self.retry_schedule = tuple(retry_schedule)
        self.lease_ms = int(lease_seconds * 1000)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.applied = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._lease_until = 0

    def add(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    # -- the lease ------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        at = now_ms()
        if at < self._lease_until - self.lease_ms // 2:
            return True  # still ours for a while
        with self.inbox.write() as conn:
            # The row exists before anyone reads it, and is read FOR UPDATE (Postgres:
            # processors deciding at once queue on the row lock; SQLite: the write
            # transaction is exclusive already).
            conn.execute(
                self.inbox._insert(state)
                .values(key=LEASE_KEY, value='{"owner":null,"until":0}')
                .on_conflict_do_nothing(index_elements=["key"])
            )
            row = conn.execute(
                select(state.c.value).where(state.c.key == LEASE_KEY).with_for_update()
            ).first()
            if row is not None:
                held = json.loads(row[0])
                owner = str(held.get("owner") or "")
                if owner != self.owner and int(held.get("until", 0)) > at and _alive(owner):
                    return False
            self.inbox.set_state(
                LEASE_KEY, {"owner": self.owner, "until": at + self.lease_ms}, conn
            )
        self._lease_until = at + self.lease_ms
        return True

    def release(self) -> None:
        with self.inbox.write() as conn:
            row = conn.execute(select(state.c.value).where(state.c.key == LEASE_KEY)).first()
            if row is not None and json.loads(row[0]).get("owner") == self.owner:
                self.inbox.set_state(LEASE_KEY, {"owner": None, "until": 0}, conn)
        self._lease_until = 0

    # -- processing -----------------------------------------------------------------------

    def event_of(self, row: DeliveryRow) -> WebhookEvent:
        body = orjson.loads(row.body)
        return parse_event(
            body,
            delivery_id=row.delivery_id,
            received_at=datetime.fromtimestamp(row.received_ms / 1000, UTC),
            source=row.source,
            retry=row.retry,
            replay=row.replay,
        )

    def run_once(self) -> int:
        """Process one batch; returns how many deliveries were applied or failed."""
        with self._lock:
            if not self.inbox.has_pending(now_ms()) or not self._take_lease():
                return 0
            with self.inbox.read() as conn:
                rows = self.inbox.pending(conn, self.batch)
                if not rows:
                    return 0
                events = [self.event_of(r) for r in rows]
                ordering = Ordering(self.inbox)
                ordering.load(conn, events)
            done: list[tuple[DeliveryRow, WebhookEvent, Effects]] = []
            failed: list[tuple[DeliveryRow, str]] = []
            for row, event in zip(rows, events, strict=True):
                decided = ordering.decide(event)
                ordered = _with_ordering(event, decided)
                effects = Effects()
                try:
                    for consumer in self.consumers:
                        consumer.handle(ordered, effects)
                except Exception as exc:
                    ordering.undo()
                    failed.append((row, f"{type(exc).__name__}: {exc}"))
                    log.warning(
                        "webhooks.consumer_failed",
                        delivery_id=row.delivery_id,
                        webhook_event=row.event,
                        error=type(exc).__name__,
                        attempt=row.attempts + 1,
                    )
                    continue
                done.append((row, ordered, effects))
            at = now_ms()
            with self.inbox.write() as conn:
                ordering.write(conn, at)
                self.inbox.mark_dirty(conn, [m for _, _, e in done for m in e.dirty])
                journal_rows: list[dict[str, object]] = []
                for row, event, effects in done:
                    effects.commit(self.inbox, conn, row.delivery_id)
                    key = event.key()
                    journal_rows.append(
                        {
                            "delivery_id": row.delivery_id,
                            "event": event.name[:128],
                            "kind": key.kind if key else None,
                            "entity_id": key.id if key else None,
                            "ordering": event.ordering,
                            "applied_ms": at,
                        }
                    )
                self.inbox.add_journal(conn, journal_rows)
                self.inbox.mark_applied(conn, [(r.seq, e.ordering) for r, e, _ in done], at)
                for row, error in failed:
                    attempt = row.attempts + 1
                    delay = self.retry_schedule[min(attempt, len(self.retry_schedule)) - 1]
                    self.inbox.mark_failed(conn, row.seq, error, attempt, at + int(delay * 1000))
            self.applied += len(done)
            self.failures += len(failed)
            return len(done) + len(failed)

    def drain(self, max_batches: int = 1_000_000) -> int:
        """Process until nothing due is left; returns how many deliveries."""
        total = 0
        for _ in range(max_batches):
            n = self.run_once()
            if n == 0:
                break
            total += n
        return total


def _alive(owner: str) -> bool:
    """Whether a lease's holder may still be running: a holder on this host whose process
    is gone (killed) is not, and its lease is taken over at once."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _with_ordering(event: WebhookEvent, ordering: str) -> WebhookEvent:
    from dataclasses import replace

    return replace(event, ordering=ordering)
