"""The service's tables (SQLAlchemy 2); migrations in `jirakit.service.migrations`."""

from jirakit.service.models.base import Base, new_id, utcnow
from jirakit.service.models.connection import Connection, OAuthState, PendingGrant
from jirakit.service.models.idempotency import IdempotencyRecord
from jirakit.service.models.ratelimit import RateBucket
from jirakit.service.models.tenant import ApiKey, Tenant
from jirakit.service.models.webhook import Delivery, Subscription

__all__ = [
    "ApiKey",
    "Base",
    "Connection",
    "Delivery",
    "IdempotencyRecord",
    "OAuthState",
    "PendingGrant",
    "RateBucket",
    "Subscription",
    "Tenant",
    "new_id",
    "utcnow",
]
