"""`jirakit keys rotate`: every encrypted column re-encrypted under the newest key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from jirakit.service.models import Connection, PendingGrant, Subscription
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
    return counts


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
