"""Idempotency keys: the first response to a (tenant, key), kept 24 hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from jirakit.service.models.base import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body hash
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list[Any] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
