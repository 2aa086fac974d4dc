"""Domain events: what changed, for webhooks delivery and tests to subscribe to.

Mutations publish one `Event` per change, named like Jira's ``webhookEvent`` values
(``jira:issue_created``, ``jira:issue_updated``, ``jira:issue_deleted``,
``comment_created|updated|deleted``, ``worklog_created|updated|deleted``,
``issuelink_created|deleted``, ``attachment_created|deleted`` (the stored attachment in
``data["attachment"]``), ``sprint_created|updated|started|closed|deleted`` with
``issue_id=None`` and the sprint in ``data["sprint"]``). Subscribers are called synchronously, after the change,
with the store lock held: they should queue work, not do it (a delivery engine reads the
queue on its own task). A failing subscriber is logged and skipped; it never breaks the
request that made the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One change. ``data`` holds the affected objects in store form: ``history`` (a
    `jirakit.sandbox.store.History`), ``comment`` / ``worklog`` (dicts), ``link`` id ..."""

    name: str
    timestamp_ms: int
    issue_id: int | None
    issue_key: str | None
    user: str | None  # accountId of whoever made the change
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn`` for every event from now on; returns a function that unsubscribes."""
        self._subscribers.append(fn)

        def unsubscribe() -> None:
            if fn in self._subscribers:
                self._subscribers.remove(fn)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:
                log.exception("sandbox event subscriber failed on %s", event.name)
