"""Recovering what Jira could not deliver.

- `recover_failed`: Jira gives up on a delivery after about 30 minutes of retries and lists
  it at ``GET /rest/api/3/webhook/failed`` for 72 hours (an app's dynamic webhooks). Each
  failure is stored under its own identifier (so one that did arrive is a duplicate and
  changes nothing), with ``source = "recovered"``, and goes through the consumers like any
  delivery (fetch-on-notify then re-reads its issue).
- `catch_up`: a receiver that was down for longer than Jira retries misses changes. The
  receiver writes a heartbeat while it runs; on start it reads what changed since the last
  heartbeat (less a lookback) with a closed ``updated`` range and emits those changes as
  events (`jirakit.webhooks.virtual`, ``source = "catchup"``). Deletions while it was down
  reach it through Jira's retries or `recover_failed` (a poll cannot see a deleted issue
  without a list of the ids that existed before).

Both are plain functions (jobs for a queue); ``jirakit webhooks serve`` runs them on threads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from jirakit._logging import get_logger
from jirakit.errors import Forbidden, NotFound, Unauthorized
from jirakit.webhooks.app import describe
from jirakit.webhooks.store import STORED, Inbox, Incoming, now_ms
from jirakit.webhooks.virtual import PollResult, VirtualWebhooks

if TYPE_CHECKING:
    from jirakit.client import Jira

__all__ = ["HEARTBEAT", "catch_up", "heartbeat", "last_heartbeat", "recover_failed"]

log = get_logger("jirakit.webhooks")
HEARTBEAT = "heartbeat_ms"
FAILED_AFTER = "failed_after_ms"


def recover_failed(jira: Jira, inbox: Inbox) -> int:
    """Store the deliveries Jira lists as failed since the last call; returns how many were
    new to the inbox. An account that may not read the list (not an app) is logged once
    per call and skipped."""
    after = int(inbox.get_state(FAILED_AFTER, 0) or 0)
    newest = after
    items: list[Incoming] = []
    try:
        for failure in jira.webhooks.failed():
            failed_ms = int(failure.failed_at.timestamp() * 1000)
            if failed_ms <= after:
                continue
            newest = max(newest, failed_ms)
            raw = (failure.body or "").encode()
            item = Incoming(
                failure.id[:255], raw, {"x-jirakit-recovered": "1"}, now_ms(), "recovered"
            )
            malformed = describe(raw, item)
            if malformed is not None:
                item.status, item.outcome, item.error = "rejected", "malformed", malformed
            items.append(item)
    except (Unauthorized, Forbidden, NotFound) as exc:
        log.warning("webhooks.failed_list_unavailable", error=type(exc).__name__)
        return 0
    stored = sum(1 for r in inbox.store_many(items) if r == STORED) if items else 0
    if newest > after:
        inbox.set_state(FAILED_AFTER, newest)
    if items:
        log.info("webhooks.recovered", listed=len(items), new=stored)
    return stored


def heartbeat(inbox: Inbox) -> None:
    """Record that the receiver is up now (`catch_up` starts from the last one)."""
    inbox.set_state(HEARTBEAT, now_ms())


def last_heartbeat(inbox: Inbox) -> int | None:
    """When the receiver was last known up (read it before a new run writes its own)."""
    value = inbox.get_state(HEARTBEAT)
    return None if value is None else int(value)


def catch_up(
    jira: Jira,
    inbox: Inbox,
    since_ms: int | None,
    *,
    lookback: timedelta = timedelta(minutes=2),
    jql: str | None = None,
) -> PollResult | None:
    """Emit the changes made since ``since_ms`` (the last heartbeat, less ``lookback``) as
    events; None when there is no heartbeat (a first start: nothing to catch up on)."""
    if since_ms is None:
        return None
    poller = VirtualWebhooks(jira, inbox, jql=jql, lookback=lookback, source="catchup")
    return poller.window(since_ms - poller.lookback_ms, poller.server_ms())
