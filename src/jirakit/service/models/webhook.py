"""Outgoing webhooks: subscriptions, the durable outbox, and the virtual-webhook cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jirakit.service.models.base import Base, UTCDateTime, new_id, utcnow


class Subscription(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    object_type: Mapped[str] = mapped_column(String(50))
    event: Mapped[str] = mapped_column(String(20))
    hook_url: Mapped[str] = mapped_column(String(2000))
    webhook_type: Mapped[str] = mapped_column(String(20), default="virtual")
    interval: Mapped[float] = mapped_column(default=1.0)  # minutes, as Unified's
    fields: Mapped[str | None] = mapped_column(String(1000))
    filters: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Fernet ciphertext of {"current": "whsec_...", "previous": [...]}.
    secrets: Mapped[str] = mapped_column(Text)
    is_paused: Mapped[bool] = mapped_column(default=False)
    is_healthy: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Virtual webhooks: the `updated` instant polled up to, and when the next poll is due.
    cursor: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    poll_owner: Mapped[str | None] = mapped_column(String(64))
    poll_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One message to one subscription; its id is the ``webhook-id`` (stable across retries)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("msg_"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body sent
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
