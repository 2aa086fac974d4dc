"""Virtual webhooks: where Jira cannot push (an API-token user without admin rights, a
locked-down Data Center), poll for changes and emit the same events to the same consumers.

Each `VirtualWebhooks.poll`:

1. reads the issues updated in a closed range, ``updated >= <cursor - lookback> AND
   updated <= <now>`` (epoch milliseconds, so no time-zone reading; Jira filters at minute
   granularity and search lags, which the lookback covers), with their full histories;
2. emits ``jira:issue_created`` for an issue not seen before, one ``jira:issue_updated``
   per new changelog entry (or one for a change without one), ``comment_created`` /
   ``comment_updated`` / ``comment_deleted`` by comparing each issue's comments with the
   last poll's, and ``worklog_*`` from ``worklog/updated`` and ``worklog/deleted``;
3. reconciles every id in scope with the ids seen before: one missing is
   ``jira:issue_deleted``.

The events go into the inbox like deliveries (``source = "virtual"``) under ids made from
what they describe (``virtual:jira:issue_updated:10001:h:12345``), so the overlap of two
polls' windows is deduplicated by the inbox itself, and a poll repeated after a crash emits
nothing twice. The cursor moves only after the poll's events are committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jirakit._logging import get_logger
from jirakit.webhooks.models import epoch_ms
from jirakit.webhooks.store import STORED, Inbox, Incoming, now_ms

if TYPE_CHECKING:
    from jirakit.client import Jira

__all__ = ["PollResult", "VirtualWebhooks"]

log = get_logger("jirakit.webhooks")
ID_PAGE = 5000
CHANGELOG_BATCH = 1000


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(set(ids)):
        if out and out[-1][1] + 1 == i:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _unranges(spans: Iterable[Sequence[int]]) -> set[int]:
    return {i for start, end in spans for i in range(int(start), int(end) + 1)}


def _versions(comments: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    return {cid: epoch_ms(c.get("updated")) or 0 for cid, c in comments.items()}


@dataclass
class PollResult:
    """What one poll saw and emitted (``emitted``: events new to the inbox)."""

    window: tuple[int, int]
    changed: int = 0
    emitted: int = 0
    events: dict[str, int] = field(default_factory=dict)


class VirtualWebhooks:
    """Polls ``jira`` and stores the events it finds in ``inbox`` (module docstring).

    ``jql`` narrows the scope (``project = ENG``); ``lookback`` is how far each poll reads
    before the last one's end; ``source`` marks the deliveries (``virtual``, or ``catchup``
    for a receiver catching up on the time it was down)."""

    def __init__(
        self,
        jira: Jira,
        inbox: Inbox,
        *,
        jql: str | None = None,
        lookback: timedelta = timedelta(minutes=2),
        source: str = "virtual",
        worklogs: bool = True,
    ) -> None:
        self.jira = jira
        self.inbox = inbox
        self.scope = jql.strip() if jql and jql.strip() else None
        self.lookback_ms = int(lookback.total_seconds() * 1000)
        self.source = source
        self.worklogs = worklogs
        digest = hashlib.sha256(f"{jira.base_url}\n{self.scope or ''}".encode()).hexdigest()
        self.key = f"virtual:{digest[:12]}"

    # -- state ----------------------------------------------------------------------------

    def _state(self, name: str, default: Any = None) -> Any:
        return self.inbox.get_state(f"{self.key}:{name}", default)

    def server_ms(self) -> int:
        """Jira's clock (``updated`` values are Jira's), in epoch ms."""
        info = self.jira.server_info()
        moment = info.server_time or datetime.now(UTC)
        return int(moment.timestamp() * 1000)

    def _where(self, clause: str) -> str:
        return f"({self.scope}) AND {clause}" if self.scope else clause

    def _ids(self, jql: str) -> set[int]:
        return {int(i.id) for i in self.jira.search.iter(jql, fields=["id"], page_size=ID_PAGE)}

    # -- polling --------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """One poll (the first one only records what exists: there is nothing to compare
        it with yet)."""
        until = self.server_ms()
        cursor = self._state("cursor")
        if cursor is None:
            known = self._ids(self._where("updated >= 0"))
            self.inbox.set_state(f"{self.key}:known", _ranges(known))
            self.inbox.set_state(f"{self.key}:cursor", until)
            self.inbox.set_state(f"{self.key}:worklogs_since", until)
            log.info("webhooks.virtual_baseline", issues=len(known))
            return PollResult((until, until))
        since = int(cursor) - self.lookback_ms
        known = _unranges(self._state("known", []))
        result = self.window(since, until, known=known, reconcile=True)
        self.inbox.set_state(f"{self.key}:cursor", until)
        return result

    def window(
        self,
        since_ms: int,
        until_ms: int,
        *,
        known: set[int] | None = None,
        reconcile: bool = False,
    ) -> PollResult:
        """Emit the events of [since, until]. Without ``known`` (catch-up), an issue
        created inside the window is ``issue_created`` and every other one updated."""
        result = PollResult((since_ms, until_ms))
        jql = (
            self._where(f"updated >= {since_ms} AND updated <= {until_ms}")
            + " ORDER BY updated ASC"
        )
        issues = [dict(i.raw) for i in self.jira.search.iter(jql, fields=["*all"])]
        result.changed = len(issues)
        histories = self._histories([int(i["id"]) for i in issues])
        events: list[tuple[str, dict[str, Any]]] = []
        seen_state: dict[str, Any] = {}
        for issue in issues:
            iid = int(issue["id"])
            key = f"{self.key}:issue:{iid}"
            before = self.inbox.get_state(key)  # what the last sight of it recorded
            fields = issue.get("fields") or {}
            if known is not None:
                new = iid not in known
            else:
                new = (epoch_ms(fields.get("created")) or 0) >= since_ms and before is None
            events += self._issue_events(issue, histories.get(iid, []), new, since_ms, before)
            comments = self._comments(issue)
            events += self._comment_events(issue, comments, before, since_ms)
            seen_state[key] = {
                "updated": epoch_ms(fields.get("updated")) or 0,
                "comments": _versions(comments),
            }
            if known is not None:
                known.add(iid)
        if self.worklogs:
            events += self._worklog_events(since_ms, known if self.scope else None)
        if reconcile and known is not None:
            current = self._ids(self._where("updated >= 0"))
            visible = current | {int(i["id"]) for i in issues}
            for gone in sorted(known - visible):
                body = {
                    "timestamp": until_ms,
                    "webhookEvent": "jira:issue_deleted",
                    "issue_event_type_name": "issue_deleted",
                    "issue": {"id": str(gone), "fields": {}},
                }
                events.append((f"virtual:jira:issue_deleted:{gone}", body))
            known &= visible
        stored = self._store(events, until_ms)
        with self.inbox.write() as conn:
            for key, value in seen_state.items():
                self.inbox.set_state(key, value, conn)
            if known is not None:
                self.inbox.set_state(f"{self.key}:known", _ranges(known), conn)
        result.emitted = stored
        for _, body in events:
            name = str(body["webhookEvent"])
            result.events[name] = result.events.get(name, 0) + 1
        log.info(
            "webhooks.virtual_poll",
            source=self.source,
            changed=result.changed,
            emitted=stored,
            since_ms=since_ms,
            until_ms=until_ms,
        )
        return result

    def _histories(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), CHANGELOG_BATCH):
            for page in self.jira.changelogs.bulk_fetch(ids[start : start + CHANGELOG_BATCH]):
                out.setdefault(int(page.issue_id), []).extend(dict(h) for h in page.histories)
        return out

    def _issue_events(
        self,
        issue: dict[str, Any],
        histories: list[dict[str, Any]],
        new: bool,
        since_ms: int,
        before: Mapping[str, Any] | None,
    ) -> list[tuple[str, dict[str, Any]]]:
        iid = int(issue["id"])
        fields = issue.get("fields") or {}
        updated = epoch_ms(fields.get("updated")) or 0
        out: list[tuple[str, dict[str, Any]]] = []
        if new:
            body = {
                "timestamp": epoch_ms(fields.get("created")) or updated,
                "webhookEvent": "jira:issue_created",
                "issue_event_type_name": "issue_created",
                "issue": issue,
            }
            out.append((f"virtual:jira:issue_created:{iid}", body))
        last = int(before["updated"]) if before else None
        # histories made since the last sight (or inside the window on a first sight)
        floor = since_ms if last is None else min(since_ms, last)
        recent = [h for h in histories if (epoch_ms(h.get("created")) or 0) >= floor]
        for h in sorted(recent, key=lambda h: int(h.get("id") or 0)):
            body = {
                "timestamp": epoch_ms(h.get("created")) or updated,
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_updated",
                "user": h.get("author"),
                "issue": issue,
                "changelog": {"id": str(h.get("id")), "items": h.get("items") or []},
            }
            out.append((f"virtual:jira:issue_updated:{iid}:h:{h.get('id')}", body))
        if not new and not recent and (last is None or updated > last):
            body = {
                "timestamp": updated,
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_updated",
                "issue": issue,
            }
            out.append((f"virtual:jira:issue_updated:{iid}:u:{updated}", body))
        return out

    def _comments(self, issue: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The issue's comments by id (every page of them)."""
        embedded = (issue.get("fields") or {}).get("comment") or {}
        comments = [dict(c) for c in embedded.get("comments") or [] if isinstance(c, Mapping)]
        total = embedded.get("total")
        if isinstance(total, int) and total > len(comments):
            comments = [dict(c.raw) for c in self.jira.comments.list(str(issue["id"])).all()]
        return {str(c["id"]): c for c in comments}

    def _comment_events(
        self,
        issue: dict[str, Any],
        comments: dict[str, dict[str, Any]],
        before: Mapping[str, Any] | None,
        since_ms: int,
    ) -> list[tuple[str, dict[str, Any]]]:
        fields = issue.get("fields") or {}
        brief: dict[str, Any] = {"id": str(issue["id"]), "key": issue.get("key"), "fields": {}}
        now = _versions(comments)
        if before is None:
            # first sight of this issue: what was made (or edited) inside the window is new
            then = {
                cid: (updated if (epoch_ms(comments[cid].get("updated")) or 0) < since_ms else -1)
                for cid, updated in now.items()
                if (epoch_ms(comments[cid].get("created")) or 0) < since_ms
            }
        else:
            then = dict(before.get("comments") or {})
        out: list[tuple[str, dict[str, Any]]] = []
        for cid, updated in now.items():
            body = {"timestamp": updated, "comment": comments[cid], "issue": brief}
            if cid not in then:
                out.append(
                    (f"virtual:comment_created:{cid}", {**body, "webhookEvent": "comment_created"})
                )
            elif then[cid] != updated:
                ident = f"virtual:comment_updated:{cid}:{updated}"
                out.append((ident, {**body, "webhookEvent": "comment_updated"}))
        for cid in sorted(set(then) - set(now)):
            body = {
                "timestamp": epoch_ms(fields.get("updated")) or 0,
                "webhookEvent": "comment_deleted",
                "comment": {"id": cid, "updated": None},
                "issue": brief,
            }
            out.append((f"virtual:comment_deleted:{cid}", body))
        return out

    def _worklog_events(
        self, since_ms: int, in_scope: set[int] | None
    ) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        changed = [c.worklog_id for c in self.jira.worklogs.updated_since(max(0, since_ms))]
        for start in range(0, len(changed), 1000):
            for w in self.jira.worklogs.by_ids(changed[start : start + 1000]):
                raw = dict(w.raw)
                issue_id = int(raw.get("issueId") or 0)
                if in_scope is not None and issue_id not in in_scope:
                    continue
                created, updated = epoch_ms(raw.get("created")), epoch_ms(raw.get("updated"))
                wid = str(raw["id"])
                if created == updated:
                    name, ident = "worklog_created", f"virtual:worklog_created:{wid}"
                else:
                    name, ident = "worklog_updated", f"virtual:worklog_updated:{wid}:{updated}"
                out.append((ident, {"timestamp": updated, "webhookEvent": name, "worklog": raw}))
        for gone in self.jira.worklogs.deleted_since(max(0, since_ms)):
            wid = str(gone.worklog_id)
            body = {
                "timestamp": gone.updated_ms,
                "webhookEvent": "worklog_deleted",
                "worklog": {"id": wid, "updated": gone.updated_ms},
            }
            out.append((f"virtual:worklog_deleted:{wid}", body))
        return out

    def _store(self, events: list[tuple[str, dict[str, Any]]], at_ms: int) -> int:
        if not events:
            return 0
        from jirakit.webhooks.app import describe

        items = []
        for ident, body in events:
            raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            item = Incoming(ident[:255], raw, {"x-jirakit-virtual": "1"}, now_ms(), self.source)
            describe(raw, item)
            items.append(item)
        results = self.inbox.store_many(items)
        return sum(1 for r in results if r == STORED)
