"""Fetch-on-notify: an event marks its issue dirty; dirty issues are read again in batches.

What a consumer applies is then Jira's current truth, not what a (possibly old, possibly
forged) body said, and a burst of events costs one read: 100 events on one issue mark it
once, and the next flush reads it with one ``issue/bulkfetch`` and one
``changelog/bulkfetch``. Up to 100 dirty issues share those two requests.

`FetchOnNotify` is a consumer (it marks; the marks commit with the delivery) and a job
(`FetchOnNotify.flush`: read a batch, hand a `Snapshot` to each sink, unmark what was
read). Worklog events mark their worklog (``worklog/list``); an issue or worklog that a
read no longer finds is gone (deleted, or out of the account's sight), as the sync's id
reconciliation also judges. A sink that raises leaves the marks in place: the next flush
reads them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from jirakit._logging import get_logger
from jirakit.webhooks.consumers import Effects, Snapshot
from jirakit.webhooks.models import (
    AFTER_DELETE,
    STALE,
    AttachmentEvent,
    CommentEvent,
    IssueEvent,
    IssueLinkEvent,
    WebhookEvent,
    WorklogEvent,
)
from jirakit.webhooks.store import Inbox, now_ms

if TYPE_CHECKING:
    from jirakit.client import Jira

__all__ = ["FetchOnNotify", "SnapshotSink"]

log = get_logger("jirakit.webhooks")

SnapshotSink = Callable[[Snapshot], Any]
BULK = 100
WORKLOG_FIELDS = frozenset({"WorklogId", "worklogid"})
PARENT_FIELDS = frozenset({"Parent", "IssueParentAssociation", "parent"})
# What Jira embeds of an issue in its parent's, sub-tasks' and linked issues' bodies.
EMBEDDED = frozenset({"summary", "status", "priority", "issuetype", "Status", "Priority"})


def _related(event: IssueEvent) -> list[int]:
    """The parent and the linked issues of the issue in ``event``'s body."""
    fields = event.fields
    found: list[int] = []
    parent = fields.get("parent")
    if isinstance(parent, dict) and str(parent.get("id", "")).isdigit():
        found.append(int(parent["id"]))
    for link in fields.get("issuelinks") or []:
        if not isinstance(link, dict):
            continue
        for end in ("outwardIssue", "inwardIssue"):
            other = link.get(end)
            if isinstance(other, dict) and str(other.get("id", "")).isdigit():
                found.append(int(other["id"]))
    for sub in fields.get("subtasks") or []:
        if isinstance(sub, dict) and str(sub.get("id", "")).isdigit():
            found.append(int(sub["id"]))
    return found


class FetchOnNotify:
    """Marks on events, reads on `flush` (see the module docstring)."""

    name = "fetch-on-notify"

    def __init__(
        self,
        inbox: Inbox,
        jira: Jira,
        sinks: Sequence[SnapshotSink] = (),
        *,
        batch: int = BULK,
    ) -> None:
        if not 1 <= batch <= BULK:
            raise ValueError(f"batch must be 1..{BULK} (issue/bulkfetch reads 100 at a time)")
        self.inbox = inbox
        self.jira = jira
        self.sinks = list(sinks)
        self.batch = batch
        self.reads = 0  # issues and worklogs read, for tests and metrics

    def add_sink(self, sink: SnapshotSink) -> None:
        self.sinks.append(sink)

    # -- marking (a consumer) -----------------------------------------------------------

    def handle(self, event: WebhookEvent, effects: Effects) -> None:
        if event.ordering in (STALE, AFTER_DELETE) and not event.replay:
            return  # a newer event marked it already; a deleted issue stays deleted
        if isinstance(event, IssueEvent) and event.issue_id is not None:
            effects.mark_dirty("issue", event.issue_id, deleted=event.deleted)
            if event.name != "jira:issue_updated" or set(event.changed_fields) & EMBEDDED:
                # Its parent, sub-tasks and linked issues show this issue's summary,
                # status, priority and type (or its existence) in their own bodies, and
                # get no event of their own when those change.
                for related in _related(event):
                    effects.mark_dirty("issue", related)
            for item in (event.raw.get("changelog") or {}).get("items") or []:
                if not isinstance(item, dict):
                    continue
                field = str(item.get("field"))
                values = [v for v in (item.get("to"), item.get("from")) if v is not None]
                if field in WORKLOG_FIELDS:
                    for value in values:
                        if str(value).isdigit():
                            effects.mark_dirty("worklog", int(value), issue_id=event.issue_id)
                elif field in PARENT_FIELDS:  # the old and the new parent's sub-tasks
                    for value in values:
                        if str(value).isdigit():
                            effects.mark_dirty("issue", int(value))
        elif isinstance(event, CommentEvent) and event.issue_id is not None:
            effects.mark_dirty("issue", event.issue_id)
        elif isinstance(event, WorklogEvent) and event.worklog_id is not None:
            effects.mark_dirty(
                "worklog", event.worklog_id, issue_id=event.issue_id, deleted=event.deleted
            )
            if event.issue_id is not None:  # time tracking totals change with it
                effects.mark_dirty("issue", event.issue_id)
        elif isinstance(event, IssueLinkEvent):
            for end in ("sourceIssueId", "destinationIssueId"):
                value = event.link.get(end)
                if value is not None and str(value).isdigit():
                    effects.mark_dirty("issue", int(value))
        elif isinstance(event, AttachmentEvent) and event.issue_id is not None:
            effects.mark_dirty("issue", event.issue_id)

    def mark(self, issue_ids: Sequence[int]) -> None:
        """Mark issues to read again outside any delivery (recovery, catch-up)."""
        with self.inbox.write() as conn:
            self.inbox.mark_dirty(conn, [("issue", int(i), None, False) for i in issue_ids])

    # -- reading (a job) -------------------------------------------------------------------

    def flush(self) -> int:
        """Read one batch of dirty issues and worklogs, hand it to the sinks, unmark it;
        returns how many entities were read (0: nothing was dirty)."""
        issues = self.inbox.dirty("issue", self.batch)
        worklogs = self.inbox.dirty("worklog", 1000)
        if not issues and not worklogs:
            return 0
        fetched_ms = now_ms()
        issue_ids = [i for i, _, _, _ in issues]
        found: list[dict[str, Any]] = []
        histories: dict[int, list[dict[str, Any]]] = {}
        if issue_ids:
            result = self.jira.issues.bulk_fetch(issue_ids, fields=["*all"])
            found = [dict(i.raw) for i in result.issues]
            present = [int(i["id"]) for i in found]
            if present:
                for log_page in self.jira.changelogs.bulk_fetch(present):
                    histories.setdefault(int(log_page.issue_id), []).extend(
                        dict(h) for h in log_page.histories
                    )
        seen = {int(i["id"]) for i in found}
        gone_issues = [i for i in issue_ids if i not in seen]
        worklog_ids = [w for w, _, _, _ in worklogs]
        found_worklogs = (
            [dict(w.raw) for w in self.jira.worklogs.by_ids(worklog_ids)] if worklog_ids else []
        )
        present_worklogs = {int(w["id"]) for w in found_worklogs}
        snapshot = Snapshot(
            issues=found,
            histories=histories,
            deleted_issues=gone_issues,
            worklogs=found_worklogs,
            deleted_worklogs=[w for w in worklog_ids if w not in present_worklogs],
            fetched_ms=fetched_ms,
        )
        for sink in self.sinks:
            sink(snapshot)
        self.inbox.clear_dirty("issue", [(i, mark) for i, _, _, mark in issues])
        self.inbox.clear_dirty("worklog", [(w, mark) for w, _, _, mark in worklogs])
        self.reads += len(issue_ids) + len(worklog_ids)
        log.info(
            "webhooks.fetched",
            issues=len(found),
            gone=len(gone_issues),
            worklogs=len(found_worklogs),
        )
        return len(issue_ids) + len(worklog_ids)

    def drain(self, max_batches: int = 10_000) -> int:
        total = 0
        for _ in range(max_batches):
            n = self.flush()
            if not n:
                break
            total += n
        return total
