"""Typed webhook events: what handlers receive.

`parse_event` turns one stored delivery into the event class for its ``webhookEvent``:
`IssueEvent` (``jira:issue_created|updated|deleted``), `CommentEvent`, `WorklogEvent`,
`IssueLinkEvent`, `AttachmentEvent`, `ProjectEvent`, `VersionEvent`, `SprintEvent`,
`BoardEvent`, and `UnknownEvent` for anything else (stored and acknowledged, never applied).
Every event keeps the whole body (``raw``): the typed attributes are the ones ordering and
routing need, not a schema of Jira.

``ordering`` says what the event did to the receiver's state (`jirakit.webhooks.ordering`):
``applied`` (it is the newest state of its entity), ``stale`` (a later state was applied
first: deliveries arrive out of order), ``after_delete`` (its entity, or the issue it
belongs to, was deleted: a late update cannot bring it back), ``ignored`` (unknown event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from jirakit.client.models import parse_datetime

__all__ = [
    "AFTER_DELETE",
    "APPLIED",
    "IGNORED",
    "STALE",
    "AttachmentEvent",
    "BoardEvent",
    "CommentEvent",
    "EntityKey",
    "IssueEvent",
    "IssueLinkEvent",
    "ProjectEvent",
    "SprintEvent",
    "UnknownEvent",
    "VersionEvent",
    "WebhookEvent",
    "WorklogEvent",
    "parse_event",
]

APPLIED = "applied"
STALE = "stale"
AFTER_DELETE = "after_delete"
IGNORED = "ignored"

Json = Mapping[str, Any]


def epoch_ms(value: Any) -> int | None:
    """A Jira timestamp (``2026-01-10T09:30:00.000+0000``, or epoch ms) as epoch ms."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    moment = parse_datetime(str(value))
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _obj(value: Any) -> Json:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class EntityKey:
    """Which state an event is about (``kind`` + ``id``) and where it sits in that
    entity's own order: ``version`` (its ``updated`` time in ms, or the webhook's
    ``timestamp`` for entities without one) then ``sequence`` (the changelog id)."""

    kind: str
    id: str
    version: int
    sequence: int = 0
    deletes: bool = False
    issue_id: int | None = None  # the issue a comment/worklog/attachment belongs to


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    """One delivery as an event. ``name`` is ``webhookEvent``; ``raw`` the whole body."""

    kinds: ClassVar[tuple[str, ...]] = ()

    delivery_id: str
    name: str
    raw: Json
    received_at: datetime
    source: str = "hmac"  # hmac | jwt | none | recovered | virtual | catchup
    retry: int = 0
    ordering: str = APPLIED
    replay: bool = False

    @property
    def timestamp(self) -> datetime | None:
        ms = epoch_ms(self.raw.get("timestamp"))
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)

    @property
    def type_name(self) -> str | None:
        """``issue_event_type_name`` (``issue_assigned``, ``issue_commented`` ...)."""
        value = self.raw.get("issue_event_type_name")
        return None if value is None else str(value)

    @property
    def user_account_id(self) -> str | None:
        value = _obj(self.raw.get("user")).get("accountId")
        return None if value is None else str(value)

    @property
    def issue_id(self) -> int | None:
        return _int(_obj(self.raw.get("issue")).get("id"))

    @property
    def current(self) -> bool:
        """True when the event carries the newest state the receiver has seen."""
        return self.ordering == APPLIED

    def key(self) -> EntityKey | None:
        """The entity this event changes (None: nothing to order); computed once."""
        cache = self.__dict__
        if "_key" not in cache:
            cache["_key"] = self._entity()
        found: EntityKey | None = cache["_key"]
        return found

    def _entity(self) -> EntityKey | None:
        return None

    def _timestamp_ms(self) -> int:
        return epoch_ms(self.raw.get("timestamp")) or 0


@dataclass(frozen=True, kw_only=True)
class IssueEvent(WebhookEvent):
    """``jira:issue_created``, ``jira:issue_updated`` (with ``changelog``, or ``comment``
    for ``issue_commented``), ``jira:issue_deleted``."""

    kinds: ClassVar[tuple[str, ...]] = (
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
    )

    @property
    def issue(self) -> Json:
        return _obj(self.raw.get("issue"))

    @property
    def issue_key(self) -> str | None:
        value = self.issue.get("key")
        return None if value is None else str(value)

    @property
    def fields(self) -> Json:
        return _obj(self.issue.get("fields"))

    @property
    def project_key(self) -> str | None:
        value = _obj(self.fields.get("project")).get("key")
        return None if value is None else str(value)

    @property
    def updated(self) -> datetime | None:
        ms = epoch_ms(self.fields.get("updated"))
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)

    @property
    def changelog_id(self) -> int | None:
        return _int(_obj(self.raw.get("changelog")).get("id"))

    @property
    def changed_fields(self) -> list[str]:
        """Field ids (or names) the changelog touches."""
        items = _obj(self.raw.get("changelog")).get("items") or []
        return [str(i.get("fieldId") or i.get("field")) for i in items if isinstance(i, Mapping)]

    @property
    def deleted(self) -> bool:
        return self.name == "jira:issue_deleted"

    def _entity(self) -> EntityKey | None:
        issue_id = self.issue_id
        if issue_id is None:
            return None
        version = epoch_ms(self.fields.get("updated")) or self._timestamp_ms()
        return EntityKey(
            "issue",
            str(issue_id),
            version,
            self.changelog_id or 0,
            deletes=self.deleted,
            issue_id=issue_id,
        )


@dataclass(frozen=True, kw_only=True)
class CommentEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = ("comment_created", "comment_updated", "comment_deleted")

    @property
    def comment(self) -> Json:
        return _obj(self.raw.get("comment"))

    @property
    def comment_id(self) -> int | None:
        return _int(self.comment.get("id"))

    @property
    def issue_id(self) -> int | None:
        found = _int(_obj(self.raw.get("issue")).get("id"))
        if found is not None:
            return found
        # Older payloads only link the issue: .../issue/10010/comment/10013
        parts = str(self.comment.get("self") or "").split("/")
        return _int(parts[parts.index("issue") + 1]) if "issue" in parts[:-1] else None

    @property
    def deleted(self) -> bool:
        return self.name == "comment_deleted"

    def _entity(self) -> EntityKey | None:
        cid = self.comment_id
        if cid is None:
            return None
        version = epoch_ms(self.comment.get("updated")) or self._timestamp_ms()
        return EntityKey("comment", str(cid), version, deletes=self.deleted, issue_id=self.issue_id)


@dataclass(frozen=True, kw_only=True)
class WorklogEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = ("worklog_created", "worklog_updated", "worklog_deleted")

    @property
    def worklog(self) -> Json:
        return _obj(self.raw.get("worklog"))

    @property
    def worklog_id(self) -> int | None:
        return _int(self.worklog.get("id"))

    @property
    def issue_id(self) -> int | None:
        return _int(self.worklog.get("issueId"))

    @property
    def deleted(self) -> bool:
        return self.name == "worklog_deleted"

    def _entity(self) -> EntityKey | None:
        wid = self.worklog_id
        if wid is None:
            return None
        version = epoch_ms(self.worklog.get("updated")) or self._timestamp_ms()
        return EntityKey("worklog", str(wid), version, deletes=self.deleted, issue_id=self.issue_id)


def _simple_key(event: WebhookEvent, kind: str, obj: Json, deletes: bool) -> EntityKey | None:
    ident = obj.get("id")
    if ident is None:
        return None
    return EntityKey(kind, str(ident), event._timestamp_ms(), deletes=deletes)


@dataclass(frozen=True, kw_only=True)
class IssueLinkEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = ("issuelink_created", "issuelink_deleted")

    @property
    def link(self) -> Json:
        return _obj(self.raw.get("issueLink"))

    @property
    def issue_id(self) -> int | None:
        return _int(self.link.get("sourceIssueId"))

    def _entity(self) -> EntityKey | None:
        return _simple_key(self, "issuelink", self.link, self.name.endswith("_deleted"))


@dataclass(frozen=True, kw_only=True)
class AttachmentEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = ("attachment_created", "attachment_deleted")

    @property
    def attachment(self) -> Json:
        return _obj(self.raw.get("attachment"))

    @property
    def issue_id(self) -> int | None:
        return _int(self.attachment.get("issueId"))

    def _entity(self) -> EntityKey | None:
        return _simple_key(self, "attachment", self.attachment, self.name.endswith("_deleted"))


@dataclass(frozen=True, kw_only=True)
class ProjectEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = (
        "project_created",
        "project_updated",
        "project_deleted",
        "project_soft_deleted",
        "project_restored_deleted",
        "project_archived",
        "project_restored_archived",
    )

    @property
    def project(self) -> Json:
        return _obj(self.raw.get("project"))

    def _entity(self) -> EntityKey | None:
        return _simple_key(self, "project", self.project, self.name == "project_deleted")


@dataclass(frozen=True, kw_only=True)
class VersionEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = (
        "jira:version_created",
        "jira:version_updated",
        "jira:version_released",
        "jira:version_unreleased",
        "jira:version_moved",
        "jira:version_deleted",
    )

    @property
    def version(self) -> Json:
        return _obj(self.raw.get("version"))

    def _entity(self) -> EntityKey | None:
        return _simple_key(self, "version", self.version, self.name == "jira:version_deleted")


@dataclass(frozen=True, kw_only=True)
class SprintEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = (
        "sprint_created",
        "sprint_updated",
        "sprint_started",
        "sprint_closed",
        "sprint_deleted",
    )

    @property
    def sprint(self) -> Json:
        return _obj(self.raw.get("sprint"))

    def _entity(self) -> EntityKey | None:
        return _simple_key(self, "sprint", self.sprint, self.name == "sprint_deleted")


@dataclass(frozen=True, kw_only=True)
class BoardEvent(WebhookEvent):
    kinds: ClassVar[tuple[str, ...]] = (
        "board_created",
        "board_updated",
        "board_deleted",
        "board_configuration_changed",
    )

    @property
    def board(self) -> Json:
        return _obj(self.raw.get("board"))

    def _entity(self) -> EntityKey | None:
        return _simple_key(self, "board", self.board, self.name == "board_deleted")


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(WebhookEvent):
    """An event type this receiver does not know: stored, acknowledged, never applied."""


EVENT_CLASSES: tuple[type[WebhookEvent], ...] = (
    IssueEvent,
    CommentEvent,
    WorklogEvent,
    IssueLinkEvent,
    AttachmentEvent,
    ProjectEvent,
    VersionEvent,
    SprintEvent,
    BoardEvent,
)
_BY_NAME: dict[str, type[WebhookEvent]] = {name: cls for cls in EVENT_CLASSES for name in cls.kinds}
KNOWN_EVENTS: frozenset[str] = frozenset(_BY_NAME)


def parse_event(
    body: Json,
    *,
    delivery_id: str,
    received_at: datetime | None = None,
    source: str = "hmac",
    retry: int = 0,
    replay: bool = False,
) -> WebhookEvent:
    """The typed event for one delivery's parsed body."""
    name = str(body.get("webhookEvent") or "")
    cls = _BY_NAME.get(name, UnknownEvent)
    return cls(
        delivery_id=delivery_id,
        name=name,
        raw=body,
        received_at=received_at or datetime.now(UTC),
        source=source,
        retry=retry,
        replay=replay,
        ordering=APPLIED if cls is not UnknownEvent else IGNORED,
    )
