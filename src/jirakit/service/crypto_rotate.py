"""`jirakit keys rotate`: every encrypted column re-encrypted under the newest key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_

from jirakit.service.models import Connection, IdempotencyRecord, PendingGrant, Subscription
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
    counts["kept idempotent responses"] = _rotate_idempotency(state, batch)
    return counts


def _rotate_idempotency(state: ServiceState, batch: int) -> int:
    """The responses kept for Idempotency-Keys (24 h; a webhook's secret may be in one),
    keyed by (tenant, key)."""
    done = 0
    last: tuple[str, str] = ("", "")
    pk = tuple_(IdempotencyRecord.tenant_id, IdempotencyRecord.key)
    while True:
        with state.sessions() as session, session.begin():
            rows = session.scalars(
                select(IdempotencyRecord)
                .where(pk > tuple_(*last))
                .order_by(IdempotencyRecord.tenant_id, IdempotencyRecord.key)
                .limit(batch)
            ).all()
            for row in rows:
                if row.response_body is not None:
                    blob = state.vault.rotate(row.response_body.decode("ascii"))
                    row.response_body = blob.encode("ascii")
                    done += 1
                last = (row.tenant_id, row.key)
        if len(rows) < batch:
            return done


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
