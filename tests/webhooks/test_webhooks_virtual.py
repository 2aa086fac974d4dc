"""Virtual webhooks (polling) and the start-up catch-up, against a served sandbox with
search lag: every change seen once, within one poll interval plus the lookback."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from webhook_helpers import ShiftedClock
from workload import Shared

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.recovery import HEARTBEAT, catch_up, last_heartbeat
from jirakit.webhooks.runtime import ServeOptions, build_receiver
from jirakit.webhooks.virtual import VirtualWebhooks

LAG = 1.0  # seconds before the sandbox's search sees a change


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=4, issues=150, projects=2, search_lag=LAG, clock=ShiftedClock()) as sb:
        yield sb


@pytest.fixture
def jira(sandbox: Sandbox) -> Iterator[Jira]:
    with sandbox.serve() as url, Jira(url, auth=BasicAuth(*sandbox.auth)) as client:
        yield client


def test_every_change_and_deletion_is_seen_once(sandbox: Sandbox, jira: Jira, store_url: str):
    receiver = Receiver(store_url, push=False)
    handled: list[Any] = []
    receiver.on("*")(handled.append)
    poller = VirtualWebhooks(jira, receiver.inbox, lookback=timedelta(minutes=2))
    assert poller.poll().emitted == 0  # the first poll records what exists
    shared = Shared(sandbox)
    edited = shared.keys[:100]
    for n, key in enumerate(edited):
        jira.issues.edit(key, summary=f"virtual {n}")
    doomed = shared.keys[100:110]
    for key in doomed:
        jira.issues.delete(key)
    comment = jira.comments.add(edited[0], "seen by polling")
    made = jira.issues.create(project=shared.projects[0], summary="new one", issue_type="Task")
    # within the lag: the first poll may miss what search does not show yet
    first = poller.poll()
    time.sleep(LAG + 0.2)
    second = poller.poll()
    third = poller.poll()  # the windows overlap: nothing new
    assert third.emitted == 0
    assert first.emitted + second.emitted == 100 + 10 + 1 + 1  # edits, deletions, comment, new
    ids = {k: shared.ids[k] for k in [*edited, *doomed]}
    rows = receiver.inbox.deliveries()
    updated = Counter(r.issue_id for r in rows if r.event == "jira:issue_updated")
    assert {ids[k] for k in edited} == set(updated) and set(updated.values()) == {1}
    deleted = [r.issue_id for r in rows if r.event == "jira:issue_deleted"]
    assert sorted(deleted) == sorted(ids[k] for k in doomed)
    assert [r.issue_id for r in rows if r.event == "jira:issue_created"] == [int(made.id)]
    [c] = [r for r in rows if r.event == "comment_created"]
    assert c.delivery_id == f"virtual:comment_created:{comment.id}"
    assert {r.source for r in rows} == {"virtual"}
    # the same consumers: handlers get typed events
    receiver.process_pending()
    assert len(handled) == len(rows) and all(e.source == "virtual" for e in handled)
    receiver.close()


def test_comment_edits_and_deletions_and_worklogs(sandbox: Sandbox, jira: Jira, store_url: str):
    receiver = Receiver(store_url, push=False)
    poller = VirtualWebhooks(jira, receiver.inbox, lookback=timedelta(minutes=2))
    poller.poll()
    key = Shared(sandbox).keys[0]
    comment = jira.comments.add(key, "one")
    time.sleep(LAG + 0.2)
    poller.poll()  # sees the issue for the first time: its new comment with it
    jira.comments.update(key, str(comment.id), "two")
    other = jira.comments.add(key, "three")
    jira.comments.delete(key, str(comment.id))
    worklog = jira.worklogs.add(key, 600, sandbox.clock.now())
    sandbox.clock.advance(minutes=2)  # type: ignore[attr-defined]  # past worklog/updated's last minute
    time.sleep(LAG + 0.2)
    poller.poll()
    names = Counter(r.event for r in receiver.inbox.deliveries())
    assert names["comment_created"] == 2  # "one" on the issue's first sight, then "three"
    assert names["comment_deleted"] == 1
    assert names["worklog_created"] == 1
    rows = {r.delivery_id for r in receiver.inbox.deliveries()}
    assert f"virtual:comment_created:{comment.id}" in rows
    assert f"virtual:comment_created:{other.id}" in rows
    assert f"virtual:comment_deleted:{comment.id}" in rows
    assert f"virtual:worklog_created:{worklog.id}" in rows
    receiver.close()


def test_catch_up_after_downtime(sandbox: Sandbox, jira: Jira, store_url: str):
    """The receiver was down: on start it reads what changed since its last heartbeat and
    emits it, as source 'catchup'."""
    first = build_receiver(
        ServeOptions(store=store_url, secrets=["s"], heartbeat_interval=0.05), jira
    )
    assert last_heartbeat(first.inbox) is None
    first.start()
    deadline = time.monotonic() + 10
    while last_heartbeat(first.inbox) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.close()
    check = Receiver(store_url, Secrets(hmac=("s",)))
    assert last_heartbeat(check.inbox) is not None
    check.close()
    keys = Shared(sandbox).keys[:5]
    for key in keys:  # while nobody listens
        jira.issues.edit(key, summary="changed while down")
    time.sleep(LAG + 0.2)
    again = build_receiver(
        ServeOptions(store=store_url, secrets=["s"], heartbeat_interval=0.05), jira
    )
    seen: list[Any] = []
    again.on("jira:issue_updated")(seen.append)
    again.start()
    deadline = time.monotonic() + 20
    while len(seen) < len(keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    again.close()
    assert sorted(e.raw["issue"]["key"] for e in seen) == sorted(keys)
    assert {e.source for e in seen} == {"catchup"}


def test_catch_up_without_a_heartbeat_does_nothing(jira: Jira, store_url: str):
    receiver = Receiver(store_url, Secrets(hmac=("s",)))
    assert catch_up(jira, receiver.inbox, None) is None
    assert receiver.inbox.get_state(HEARTBEAT) is None
    receiver.close()


def test_a_polling_receiver_refuses_pushes(store_url: str):
    import httpx

    from jirakit.webhooks.serve import serve_in_thread

    receiver = Receiver(store_url, push=False)
    with serve_in_thread(receiver.app) as url:
        r = httpx.post(
            f"{url}/webhooks/jira", content=b"{}", headers={"content-type": "application/json"}
        )
    receiver.close()
    assert r.status_code == 404 and "virtual" in r.text
