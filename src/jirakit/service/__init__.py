"""`jirakit serve`: a self-hostable unified task API over customers' Jira connections.

Routes and models follow Unified.to's Task, HRIS, Storage, Passthrough and Unified APIs
(see docs/service.md). ``sign``/``verify`` are the Standard Webhooks helpers for the app
receiving our webhooks; ``publish`` queues an event for delivery.
"""

from jirakit.service.config import Settings, load_settings
from jirakit.service.main import create_app
from jirakit.service.outbox import publish
from jirakit.service.signing import WebhookVerificationError, sign, verify

__all__ = [
    "Settings",
    "WebhookVerificationError",
    "create_app",
    "load_settings",
    "publish",
    "sign",
    "verify",
]
