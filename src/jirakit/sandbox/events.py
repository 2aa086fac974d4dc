"""Domain events: what changed, for webhooks delivery and tests to subscribe to.

Mutations publish one `Event` per change, named like Jira's ``webhookEvent`` values.
``data`` carries the changed object, in store form:

- issue events (``issue_id``/``issue_key`` set): ``jira:issue_created``,
  ``jira:issue_updated`` (``history``), ``jira:issue_deleted`` (``record``),
  ``comment_created|updated|deleted`` (``comment``), ``worklog_created|updated|deleted``
  (``worklog``), ``attachment_created|deleted`` (``attachment``, the stored attachment),
  ``issuelink_created|deleted`` (``link``: the id, ``entry``: ``(type id, source id,
  destination id)``, kept for a link already removed);
- site events (``issue_id=None``): ``project_created|updated|soft_deleted|deleted|
  archived|restored_deleted|restored_archived`` (``project``),
  ``jira:version_created|updated|released|unreleased|deleted`` (``version``),
  ``sprint_created|updated|started|closed|deleted`` (``sprint``, a sprint view; ``old``,
  the sprint before a ``sprint_updated``), ``board_created|deleted`` (``board``).

Subscribers are called synchronously, after the change, with the store lock held: they
should queue work, not do it (a delivery engine reads the queue on its own task). A failing
subscriber is logged and skipped; it never breaks the request that made the change.
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
    `jirakit.sandbox.store.History`), ``comment`` / ``worklog`` / ``attachment`` /
    ``project`` / ``version`` / ``board`` (dicts), ``link`` id ... (see the module)."""

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
