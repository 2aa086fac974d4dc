"""Domain events published by mutations (the hook webhooks delivery builds on)."""

from __future__ import annotations

import logging

import httpx
import pytest

from jirakit.sandbox import Sandbox
from jirakit.sandbox.events import Event

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
}


async def test_every_mutation_publishes_an_event(client: httpx.AsyncClient, sb: Sandbox) -> None:
    seen: list[Event] = []
    unsubscribe = sb.store.events.subscribe(seen.append)
    body = {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "E"}}
    key = (await client.post("/rest/api/3/issue", json=body)).json()["key"]
    other = (await client.post("/rest/api/3/issue", json=body)).json()["key"]
    await client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "E2"}})
    await client.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "21"}})
    cid = (await client.post(f"/rest/api/3/issue/{key}/comment", json={"body": ADF})).json()["id"]
    await client.delete(f"/rest/api/3/issue/{key}/comment/{cid}")
    wid = (await client.post(f"/rest/api/3/issue/{key}/worklog", json={"timeSpent": "1h"})).json()[
        "id"
    ]
    await client.delete(f"/rest/api/3/issue/{key}/worklog/{wid}")
    await client.post(
        "/rest/api/3/issueLink",
        json={
            "type": {"name": "Relates"},
            "inwardIssue": {"key": key},
            "outwardIssue": {"key": other},
        },
    )
    await client.delete(f"/rest/api/3/issue/{key}")
    unsubscribe()
    await client.delete(f"/rest/api/3/issue/{other}")
    names = [e.name for e in seen]
    assert names == [
        "jira:issue_created",
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_updated",
        "comment_created",
        "comment_deleted",
        "jira:issue_updated",
        "worklog_created",
        "jira:issue_updated",
        "worklog_deleted",
        "issuelink_created",
        "jira:issue_updated",  # a Link changelog item on each end
        "jira:issue_updated",
        "jira:issue_deleted",
    ]
    assert all(e.user == sb.admin_account_id for e in seen)
    assert seen[2].issue_key == key
    assert [i[2] for i in seen[2].data["history"].items] == ["summary"]
    assert {i[2] for i in seen[3].data["history"].items} == {"status"}
    assert seen[4].data["comment"]["id"] == cid
    links = [(e.issue_key, e.data["history"].items) for e in seen[11:13]]
    assert [(k, [i[:3] for i in items]) for k, items in links] == [
        (key, [("Link", "jira", "issuelinks")]),
        (other, [("Link", "jira", "issuelinks")]),
    ]
    assert links[0][1][0][5:] == (other, f"This issue relates to {other}")


async def test_a_failing_subscriber_does_not_break_requests(
    client: httpx.AsyncClient, sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    sb.store.events.subscribe(boom)
    with caplog.at_level(logging.ERROR, logger="jirakit.sandbox.events"):
        r = await client.put("/rest/api/3/issue/ENG-1", json={"fields": {"summary": "still fine"}})
    assert r.status_code == 204
    assert "subscriber failed" in caplog.text
