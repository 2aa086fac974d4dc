"""Order-safe apply: a later state is never overwritten by an earlier one.

Jira delivers out of order and more than once. Arrival order means nothing; each entity
carries its own order: an issue its ``fields.updated`` and then its changelog id, a
comment or worklog its ``updated`` (`jirakit.webhooks.models.EntityKey`). The receiver
keeps, per entity, the newest version applied and whether it was deleted
(``webhook_entities``), and decides for each event:

- ``applied``: newer than anything applied for that entity (or its deletion);
- ``stale``: not newer (an earlier state that arrived late, or the same state again
  through a second registration): the state is not touched;
- ``after_delete``: the entity, or the issue it belongs to, has a tombstone: a late
  ``issue_updated`` cannot resurrect a deleted issue, nor a late comment a deleted one;
- ``ignored``: an event type without an entity this receiver knows.

A replayed delivery (`jirakit webhooks replay`) is applied again when it is *as new as*
the state (its own state), never when older.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, tuple_

from jirakit.webhooks.models import (
    AFTER_DELETE,
    APPLIED,
    IGNORED,
    STALE,
    EntityKey,
    UnknownEvent,
    WebhookEvent,
)
from jirakit.webhooks.store import Inbox, entities

__all__ = ["EntityState", "Ordering"]


@dataclass(frozen=True, slots=True)
class EntityState:
    version: int
    sequence: int
    deleted: bool
    issue_id: int | None = None


class Ordering:
    """Decisions for a batch of events, in arrival order, against the stored states plus
    the decisions already made in the batch; `write` stores the new states."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._states: dict[tuple[str, str], EntityState | None] = {}
        self._changed: dict[tuple[str, str], tuple[EntityState, str]] = {}
        self._undo: tuple[tuple[str, str], Any, Any] | None = None

    def load(self, conn: Connection, events: Iterable[WebhookEvent]) -> None:
        """Read the stored state of every entity (and parent issue) the events touch."""
        wanted: set[tuple[str, str]] = set()
        for event in events:
            key = event.key()
            if key is None:
                continue
            wanted.add((key.kind, key.id))
            if key.kind != "issue" and key.issue_id is not None:
                wanted.add(("issue", str(key.issue_id)))
        missing = [k for k in wanted if k not in self._states]
        for start in range(0, len(missing), 400):
            chunk = missing[start : start + 400]
            for k in chunk:
                self._states[k] = None
            rows = conn.execute(
                select(
                    entities.c.kind,
                    entities.c.entity_id,
                    entities.c.version,
                    entities.c.sequence,
                    entities.c.deleted,
                    entities.c.issue_id,
                ).where(tuple_(entities.c.kind, entities.c.entity_id).in_(chunk))
            )
            for kind, ident, version, sequence, deleted, issue_id in rows:
                self._states[(str(kind), str(ident))] = EntityState(
                    int(version), int(sequence or 0), bool(deleted), issue_id
                )

    def state(self, kind: str, ident: str) -> EntityState | None:
        return self._states.get((kind, ident))

    def decide(self, event: WebhookEvent) -> str:
        """The event's ordering (see the module docstring); remembers what it changes
        (`undo` takes the last decision back)."""
        self._undo = None
        if isinstance(event, UnknownEvent):
            return IGNORED
        key = event.key()
        if key is None:
            return APPLIED  # nothing to order it against (no id in the body)
        if key.kind != "issue" and key.issue_id is not None:
            parent = self._states.get(("issue", str(key.issue_id)))
            if parent is not None and parent.deleted:
                return AFTER_DELETE
        current = self._states.get((key.kind, key.id))
        if current is not None and current.deleted:
            return STALE if key.deletes else AFTER_DELETE
        if key.deletes:
            version = max(key.version, current.version) if current else key.version
            self._set(key, EntityState(version, key.sequence, True, key.issue_id), event)
            return APPLIED
        if current is None or self._newer(key, current, event.replay):
            self._set(key, EntityState(key.version, key.sequence, False, key.issue_id), event)
            return APPLIED
        return STALE

    @staticmethod
    def _newer(key: EntityKey, current: EntityState, replay: bool) -> bool:
        mine, theirs = (key.version, key.sequence), (current.version, current.sequence)
        return mine >= theirs if replay else mine > theirs

    def _set(self, key: EntityKey, state: EntityState, event: WebhookEvent) -> None:
        k = (key.kind, key.id)
        self._undo = (k, self._states.get(k), self._changed.get(k))
        self._states[k] = state
        self._changed[k] = (state, event.delivery_id)

    def write(self, conn: Connection, at_ms: int) -> int:
        """Store the states changed since the last write; returns how many."""
        if not self._changed:
            return 0
        stmt = self.inbox._insert(entities)
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "entity_id"],
            set_={
                "version": stmt.excluded.version,
                "sequence": stmt.excluded.sequence,
                "deleted": stmt.excluded.deleted,
                "issue_id": stmt.excluded.issue_id,
                "delivery_id": stmt.excluded.delivery_id,
                "changed_ms": stmt.excluded.changed_ms,
            },
        )
        rows = [
            {
                "kind": kind,
                "entity_id": ident,
                "issue_id": s.issue_id,
                "version": s.version,
                "sequence": s.sequence,
                "deleted": s.deleted,
                "delivery_id": delivery_id,
                "changed_ms": at_ms,
            }
            for (kind, ident), (s, delivery_id) in self._changed.items()
        ]
        conn.execute(stmt, rows)
        n = len(rows)
        self._changed.clear()
        return n

    def undo(self) -> None:
        """Take the last decision back (its consumers failed: it will be tried again)."""
        if self._undo is None:
            return
        k, state, changed = self._undo
        self._states[k] = state
        if changed is None:
            self._changed.pop(k, None)
        else:
            self._changed[k] = changed
        self._undo = None
