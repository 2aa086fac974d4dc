"""Connections (one customer's Jira), pending OAuth consents, and grants awaiting a site."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jirakit.service.models.base import Base, UTCDateTime, new_id, utcnow


class Connection(Base):
    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # api_token | pat | oauth2
    # The Jira site as people know it, and the base URL API calls go to (they differ
    # for OAuth: https://api.atlassian.com/ex/jira/{cloudId}).
    site: Mapped[str] = mapped_column(String(500))
    api_base: Mapped[str] = mapped_column(String(500))
    flavour: Mapped[str] = mapped_column(String(20), default="cloud")
    cloud_id: Mapped[str | None] = mapped_column(String(100))
    # Fernet ciphertext of a JSON object (email/token, or the OAuth token set).
    credentials: Mapped[str] = mapped_column(Text)
    credential_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="healthy")
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_healthy_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_unhealthy_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_xref: Mapped[str | None] = mapped_column(String(300))
    environment: Mapped[str] = mapped_column(String(100), default="Production")
    is_paused: Mapped[bool] = mapped_column(default=False)
    # The per-connection refresh lock: a lease taken by compare-and-set.
    lock_owner: Mapped[str | None] = mapped_column(String(64))
    lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OAuthState(Base):
    """A consent in progress: the ``state`` bound to a tenant, short-lived, single use."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    site: Mapped[str | None] = mapped_column(String(500))
    success_redirect: Mapped[str | None] = mapped_column(String(1000))
    external_xref: Mapped[str | None] = mapped_column(String(300))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingGrant(Base):
    """Tokens from a consent that covers several sites, waiting for the caller to pick one."""

    __tablename__ = "pending_grants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    credentials: Mapped[str] = mapped_column(Text)
    sites: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    external_xref: Mapped[str | None] = mapped_column(String(300))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
