"""`jirakit keys rotate`: every encrypted column re-encrypted under the newest key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_

from jirakit.errors import ConfigurationError
from jirakit.service.models import (
    Connection,
    IdempotencyRecord,
    PendingGrant,
    Subscription,
    utcnow,
)
from jirakit.service.state import ServiceState

COLUMNS = (
    ("connections", Connection, "credentials"),
    ("webhook secrets", Subscription, "secrets"),
    ("pending grants", PendingGrant, "credentials"),
)


def rotate_all(state: ServiceState, batch: int = 500) -> dict[str, int]:
    """Re-encrypt in batches, each committed; safe to run again after an interruption."""
    counts: dict[str, int] = {}
    for label, model, column in COLUMNS:
        key: Any = getattr(model, "id")  # noqa: B009  (every table here has an id)
        done = 0
        last = ""
        while True:
            with state.sessions() as session, session.begin():
                rows = session.scalars(
                    select(model).where(key > last).order_by(key).limit(batch)
                ).all()
                for row in rows:
                    setattr(row, column, state.vault.rotate(getattr(row, column)))
                    last = str(getattr(row, "id"))  # noqa: B009
                done += len(rows)
            if len(rows) < batch:
                break
        counts[label] = done
    counts["connection webhook secrets"] = _rotate_extra(state)
    kept, unreadable = _rotate_idempotency(state, batch)
    counts["kept idempotent responses"] = kept
    if unreadable:
        counts["kept idempotent responses no configured key decrypts (left as they are)"] = (
            unreadable
        )
    return counts


def _rotate_idempotency(state: ServiceState, batch: int) -> tuple[int, int]:
    """The live responses kept for Idempotency-Keys (24 h; a webhook's secret may be in
    one), keyed by (tenant, key): (re-encrypted, unreadable). A kept response no
    configured key decrypts (its key was dropped before this was rotated too) cannot be
    replayed whatever happens; it is left as it is, and expires, rather than stopping the
    rotation (dropping the record would let a retry of its request run again)."""
    done = unreadable = 0
    last: tuple[str, str] = ("", "")
    pk = tuple_(IdempotencyRecord.tenant_id, IdempotencyRecord.key)
    now = utcnow()
    while True:
        with state.sessions() as session, session.begin():
            rows = session.scalars(
                select(IdempotencyRecord)
                .where(pk > tuple_(*last), IdempotencyRecord.expires_at >= now)
                .order_by(IdempotencyRecord.tenant_id, IdempotencyRecord.key)
                .limit(batch)
            ).all()
            for row in rows:
                last = (row.tenant_id, row.key)
                if row.response_body is None:
                    continue
                try:
                    blob = state.vault.rotate(row.response_body.decode("ascii"))
                except ConfigurationError:
                    unreadable += 1
                    continue
                row.response_body = blob.encode("ascii")
                done += 1
        if len(rows) < batch:
            return done, unreadable


def _rotate_extra(state: ServiceState) -> int:
    """Secrets kept in a connection's ``extra`` (the admin-webhook HMAC secret)."""
    from jirakit.service.inbound import SECRET_KEY

    done = 0
    with state.sessions() as session, session.begin():
        for conn in session.scalars(select(Connection)):
            held = (conn.extra or {}).get(SECRET_KEY)
            if held:
                conn.extra = {**conn.extra, SECRET_KEY: state.vault.rotate(held)}
                done += 1
    return done
