"""The API's per-tenant token buckets, shared by every `jirakit serve` on one Postgres."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from jirakit.service.models.base import Base


class RateBucket(Base):
    __tablename__ = "api_rate_buckets"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)  # the database's clock, epoch seconds
    allowed: Mapped[bool] = mapped_column(Boolean)  # whether the last request went ahead
