"""Tenants and their API keys (only a SHA-256 of each key is stored)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jirakit.errors import ConfigurationError
from jirakit.service.crypto import hash_api_key, new_api_key
from jirakit.service.models import ApiKey, Tenant


def create_tenant(session: Session, name: str) -> tuple[Tenant, str]:
    """A new tenant and its first API key (returned once, never stored)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigurationError("a tenant name must be 1-200 characters")
    if session.scalar(select(Tenant.id).where(Tenant.name == name)) is not None:
        raise ConfigurationError(f"a tenant named {name!r} already exists")
    tenant = Tenant(name=name)
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError:
        raise ConfigurationError(f"a tenant named {name!r} already exists") from None
    return tenant, add_key(session, tenant)


def add_key(session: Session, tenant: Tenant) -> str:
    key = new_api_key()
    session.add(ApiKey(key_hash=hash_api_key(key), tenant_id=tenant.id, prefix=key[:10]))
    session.flush()
    return key


def tenant_for_key(session: Session, key: str) -> str | None:
    """The tenant id an API key belongs to, or None."""
    return session.scalar(select(ApiKey.tenant_id).where(ApiKey.key_hash == hash_api_key(key)))


def find_tenant(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise ConfigurationError(
            f"no tenant named {name!r} (create it with `jirakit tenants create`)"
        )
    return tenant
