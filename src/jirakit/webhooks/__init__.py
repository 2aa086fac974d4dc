"""Receiving Jira webhooks that lose nothing (docs/webhooks.md).

- `verify` / `Secrets` / `sign`: framework-free checks of ``X-Hub-Signature`` (HMAC) and
  ``Authorization: JWT`` (dynamic webhooks) over the raw body;
- `Receiver`: the durable inbox (SQLite or Postgres), the ASGI app (``POST
  /webhooks/jira``), ordering, and consumers: `Handlers` (``@receiver.on(...)``),
  `Forwarder` (HTTP), the warehouse (`jirakit.webhooks.warehouse`);
- typed events (`IssueEvent`, `CommentEvent`, ...), fetch-on-notify, dynamic webhook
  registration and refresh, recovery, and virtual webhooks (polling).

Names load on first use (PEP 562): ``from jirakit.webhooks import verify`` needs neither
SQLAlchemy nor dlt.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jirakit.webhooks.consumers import Consumer, Effects, Forwarder, Handlers, Snapshot
    from jirakit.webhooks.fetch import FetchOnNotify
    from jirakit.webhooks.models import (
        CommentEvent,
        IssueEvent,
        UnknownEvent,
        WebhookEvent,
        WorklogEvent,
        parse_event,
    )
    from jirakit.webhooks.processor import Processor
    from jirakit.webhooks.receiver import Job, Receiver
    from jirakit.webhooks.store import Inbox
    from jirakit.webhooks.verification import (
        Secrets,
        VerificationError,
        Verified,
        Verifier,
        sign,
        sign_jwt,
        verify,
    )
    from jirakit.webhooks.virtual import VirtualWebhooks
    from jirakit.webhooks.warehouse import attach_warehouse

_HOMES = {
    "FetchOnNotify": "jirakit.webhooks.fetch",
    "VirtualWebhooks": "jirakit.webhooks.virtual",
    "attach_warehouse": "jirakit.webhooks.warehouse",
    "Consumer": "jirakit.webhooks.consumers",
    "Effects": "jirakit.webhooks.consumers",
    "Forwarder": "jirakit.webhooks.consumers",
    "Handlers": "jirakit.webhooks.consumers",
    "Snapshot": "jirakit.webhooks.consumers",
    "CommentEvent": "jirakit.webhooks.models",
    "IssueEvent": "jirakit.webhooks.models",
    "UnknownEvent": "jirakit.webhooks.models",
    "WebhookEvent": "jirakit.webhooks.models",
    "WorklogEvent": "jirakit.webhooks.models",
    "parse_event": "jirakit.webhooks.models",
    "Processor": "jirakit.webhooks.processor",
    "Job": "jirakit.webhooks.receiver",
    "Receiver": "jirakit.webhooks.receiver",
    "Inbox": "jirakit.webhooks.store",
    "Secrets": "jirakit.webhooks.verification",
    "VerificationError": "jirakit.webhooks.verification",
    "Verified": "jirakit.webhooks.verification",
    "Verifier": "jirakit.webhooks.verification",
    "sign": "jirakit.webhooks.verification",
    "sign_jwt": "jirakit.webhooks.verification",
    "verify": "jirakit.webhooks.verification",
}

__all__ = [
    "CommentEvent",
    "Consumer",
    "Effects",
    "FetchOnNotify",
    "Forwarder",
    "Handlers",
    "Inbox",
    "IssueEvent",
    "Job",
    "Processor",
    "Receiver",
    "Secrets",
    "Snapshot",
    "UnknownEvent",
    "VerificationError",
    "Verified",
    "Verifier",
    "VirtualWebhooks",
    "WebhookEvent",
    "WorklogEvent",
    "attach_warehouse",
    "parse_event",
    "sign",
    "sign_jwt",
    "verify",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jirakit.webhooks' has no attribute {name!r}")
    return getattr(import_module(home), name)
