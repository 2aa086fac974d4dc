"""Order-safe apply: each entity's own order, tombstones, handlers once per delivery."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.models import (
    CommentEvent,
    IssueEvent,
    UnknownEvent,
    WorklogEvent,
    parse_event,
)
from jirakit.webhooks.store import Incoming, now_ms
from needs import cases, shared_json, shared_path

# Real webhook bodies, under ../shared (read through the gate: tests/needs.py).
MATTERMOST = shared_path("jira", "fixtures", "webhooks-mattermost")


def at(minute: int, ms: int = 0) -> str:
    return f"2026-02-01T12:{minute:02d}:00.{ms:03d}+0000"


def issue(
    event: str, updated: str, *, changelog: int | None = None, iid: int = 1
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timestamp": 1,
        "webhookEvent": event,
        "issue": {
            "id": str(iid),
            "key": f"A-{iid}",
            "fields": {"updated": updated, "summary": updated},
        },
    }
    if changelog is not None:
        body["changelog"] = {
            "id": str(changelog),
            "items": [{"field": "summary", "fieldId": "summary"}],
        }
    return body


def comment(event: str, cid: int, updated: str, *, iid: int = 1) -> dict[str, Any]:
    return {
        "timestamp": 1,
        "webhookEvent": event,
        "comment": {"id": str(cid), "updated": updated, "body": "b"},
        "issue": {"id": str(iid), "key": f"A-{iid}", "fields": {}},
    }


def worklog(event: str, wid: int, updated: str, *, iid: int = 1) -> dict[str, Any]:
    return {
        "timestamp": 1,
        "webhookEvent": event,
        "worklog": {"id": str(wid), "issueId": str(iid), "updated": updated},
    }


class Harness:
    def __init__(self, store: str) -> None:
        self.receiver = Receiver(store, Secrets(hmac=("x",)))
        self.seen: list[tuple[str, str]] = []
        self.receiver.on("*")(lambda e: self.seen.append((e.delivery_id, e.ordering)))
        self.n = 0

    def deliver(self, *bodies: dict[str, Any]) -> list[str]:
        ids = []
        for body in bodies:
            self.n += 1
            ident = f"d{self.n}"
            ids.append(ident)
            raw = json.dumps(body).encode()
            self.receiver.inbox.store(
                Incoming(ident, raw, {}, now_ms(), "hmac", event=body["webhookEvent"])
            )
        self.receiver.process_pending()
        return ids

    def ordering(self, ident: str) -> str:
        row = self.receiver.inbox.get(ident)
        assert row is not None and row.status == "applied"
        return str(row.outcome)


@pytest.fixture
def h(store_url: str) -> Any:
    harness = Harness(store_url)
    yield harness
    harness.receiver.close()


def test_an_earlier_state_arriving_late_is_stale(h: Harness):
    late, early = h.deliver(
        issue("jira:issue_updated", at(5), changelog=12),
        issue("jira:issue_updated", at(3), changelog=11),
    )
    assert (h.ordering(late), h.ordering(early)) == ("applied", "stale")
    created = h.deliver(issue("jira:issue_created", at(1), changelog=10))[0]
    assert h.ordering(created) == "stale"
    newer = h.deliver(issue("jira:issue_updated", at(9), changelog=13))[0]
    assert h.ordering(newer) == "applied"


def test_same_millisecond_is_ordered_by_changelog_id(h: Harness):
    second, first = h.deliver(
        issue("jira:issue_updated", at(5), changelog=21),
        issue("jira:issue_updated", at(5), changelog=20),
    )
    assert (h.ordering(second), h.ordering(first)) == ("applied", "stale")


def test_the_same_state_twice_is_applied_once(h: Harness):
    """One change reaching two registrations: two deliveries, one state."""
    a, b = h.deliver(
        issue("jira:issue_updated", at(5), changelog=7),
        issue("jira:issue_updated", at(5), changelog=7),
    )
    assert (h.ordering(a), h.ordering(b)) == ("applied", "stale")


def test_a_deleted_issue_cannot_be_resurrected(h: Harness):
    gone, late_update, late_create = h.deliver(
        issue("jira:issue_deleted", at(4)),
        issue("jira:issue_updated", at(6), changelog=30),  # newer timestamp, still dead
        issue("jira:issue_created", at(1), changelog=29),
    )
    assert [h.ordering(i) for i in (gone, late_update, late_create)] == [
        "applied",
        "after_delete",
        "after_delete",
    ]
    # its comments and worklogs too, even ones never seen before
    c, w = h.deliver(comment("comment_created", 5, at(7)), worklog("worklog_updated", 6, at(7)))
    assert (h.ordering(c), h.ordering(w)) == ("after_delete", "after_delete")
    again = h.deliver(issue("jira:issue_deleted", at(4)))[0]
    assert h.ordering(again) == "stale"
    other = h.deliver(issue("jira:issue_updated", at(6), changelog=31, iid=2))[0]
    assert h.ordering(other) == "applied"


def test_comment_and_worklog_tombstones(h: Harness):
    made, gone, late = h.deliver(
        comment("comment_created", 5, at(1)),
        comment("comment_deleted", 5, at(1)),  # Jira sends the comment as it was
        comment("comment_updated", 5, at(2)),
    )
    assert [h.ordering(i) for i in (made, gone, late)] == ["applied", "applied", "after_delete"]
    w_gone, w_made = h.deliver(
        worklog("worklog_deleted", 9, at(3)), worklog("worklog_created", 9, at(3))
    )
    assert (h.ordering(w_gone), h.ordering(w_made)) == ("applied", "after_delete")


def test_any_arrival_order_gives_the_same_final_state(store_url: str, tmp_path: Path):
    """Ten shuffles of one issue's history: always the newest state wins."""
    bodies = [issue("jira:issue_updated", at(m), changelog=100 + m) for m in range(10)]
    bodies.append(comment("comment_created", 50, at(3)))
    bodies.append(comment("comment_updated", 50, at(8)))
    for seed in range(10):
        shuffled = bodies[:]
        random.Random(seed).shuffle(shuffled)
        harness = Harness(f"sqlite:///{tmp_path / f'o{seed}.db'}")
        ids = harness.deliver(*shuffled)
        applied = [
            b for b, i in zip(shuffled, ids, strict=True) if harness.ordering(i) == "applied"
        ]
        last_issue = [b for b in applied if "changelog" in b][-1]
        last_comment = [b for b in applied if "comment" in b][-1]
        assert last_issue["changelog"]["id"] == "109", seed
        assert last_comment["webhookEvent"] == "comment_updated", seed
        # every delivery reached the handlers exactly once
        assert sorted(i for i, _ in harness.seen) == sorted(ids)
        harness.receiver.close()


def test_a_failing_handler_retries_without_applying_twice(h: Harness):
    calls: list[str] = []
    fail = {"left": 1}

    @h.receiver.on("jira:issue_updated")
    def flaky(event: Any) -> None:
        calls.append(event.delivery_id)
        if fail["left"]:
            fail["left"] -= 1
            raise RuntimeError("downstream down")

    first, second = h.deliver(
        issue("jira:issue_updated", at(5), changelog=5),
        issue("jira:issue_updated", at(6), changelog=6),
    )
    row = h.receiver.inbox.get(first)
    assert row is not None and row.status == "accepted" and row.attempts == 1
    assert row.error is not None and "downstream down" in row.error
    assert h.ordering(second) == "applied"  # not held up behind the failed one
    # retried after its backoff: now older than what was applied meanwhile
    h.receiver.processor.retry_schedule = (0.0,)
    with h.receiver.inbox.write() as conn:
        from sqlalchemy import update

        from jirakit.webhooks.store import deliveries

        conn.execute(update(deliveries).values(next_ms=0).where(deliveries.c.delivery_id == first))
    h.receiver.process_pending()
    assert h.ordering(first) == "stale"
    assert calls == [first, second, first]
    assert h.receiver.inbox.journal_counts() == {first: 1, second: 1}


def test_current_only_handlers_skip_stale_and_deleted(h: Harness):
    current: list[str] = []
    h.receiver.on("jira:issue_updated", current_only=True)(lambda e: current.append(e.delivery_id))
    late, _early = h.deliver(
        issue("jira:issue_updated", at(5), changelog=2),
        issue("jira:issue_updated", at(4), changelog=1),
    )
    assert current == [late]


def test_handlers_match_event_type_names_too(h: Harness):
    seen: list[str] = []
    h.receiver.on("issue_assigned")(lambda e: seen.append(e.type_name))
    body = issue("jira:issue_updated", at(5), changelog=2)
    body["issue_event_type_name"] = "issue_assigned"
    h.deliver(body, issue("jira:issue_updated", at(6), changelog=3))
    assert seen == ["issue_assigned"]


def test_async_handlers_are_refused(h: Harness):
    async def handler(event: Any) -> None:
        return None

    with pytest.raises(TypeError, match="plain function"):
        h.receiver.on("*")(handler)


# -- typed events on real Jira payloads -----------------------------------------------------


PAYLOADS = cases(
    [pytest.param(p, id=p.stem) for p in sorted(MATTERMOST.glob("*.json"))],
    what="webhook payloads",
    source=MATTERMOST,
)


@pytest.mark.parametrize("path", PAYLOADS)
def test_real_payloads_parse_to_typed_events(path: Path):
    body = json.loads(path.read_text(encoding="utf-8"))
    event = parse_event(body, delivery_id="x")
    name = body.get("webhookEvent")
    if name in ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted"):
        assert isinstance(event, IssueEvent)
        assert event.issue_key == body["issue"]["key"]
        key = event.key()
        assert key is not None and key.kind == "issue" and key.id == str(body["issue"]["id"])
        assert key.version > 0
        if body.get("changelog", {}).get("id"):
            assert event.changelog_id == int(body["changelog"]["id"])
    elif name and name.startswith("comment_"):
        assert isinstance(event, CommentEvent)
        assert event.comment_id == int(body["comment"]["id"])
        assert event.issue_id is not None
    else:
        assert isinstance(event, UnknownEvent | WorklogEvent)


def test_issue_event_attributes():
    body = shared_json(
        "jira", "fixtures", "webhooks-mattermost", "webhook-issue-updated-assigned.json"
    )
    event = parse_event(body, delivery_id="d")
    assert isinstance(event, IssueEvent)
    assert event.type_name == "issue_assigned"
    assert "assignee" in event.changed_fields
    assert event.project_key == body["issue"]["fields"]["project"]["key"]
    assert event.updated is not None and event.timestamp is not None
    assert event.user_account_id == body["user"].get("accountId")
