"""Worklogs (time tracking, estimates, changelog, updated/deleted feeds), issue links,
watchers and votes."""

from __future__ import annotations

from typing import Any

import httpx

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox.clock import to_ms

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "work"}]}],
}


async def new_issue(client: httpx.AsyncClient, **fields: Any) -> str:
    body = {
        "fields": {
            "project": {"key": "ENG"},
            "issuetype": {"name": "Task"},
            "summary": "T",
            **fields,
        }
    }
    r = await client.post("/rest/api/3/issue", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


async def test_worklog_lifecycle_tracks_time(
    client: httpx.AsyncClient, sb: Sandbox, clock: FrozenClock
) -> None:
    key = await new_issue(client, timetracking={"originalEstimate": "1d"})
    rec = sb.store.issue(key)
    assert rec is not None and rec.fields["timeestimate"] == 8 * 3600
    r = await client.post(
        f"/rest/api/3/issue/{key}/worklog",
        json={"timeSpent": "2h", "comment": ADF, "started": "2026-02-01T09:00:00.000+0000"},
    )
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["timeSpentSeconds"] == 7200 and w["timeSpent"] == "2h" and w["comment"] == ADF
    assert w["issueId"] == rec.sid and w["started"] == "2026-02-01T09:00:00.000+0000"
    assert rec.fields["timespent"] == 7200 and rec.fields["timeestimate"] == 6 * 3600
    items = {i[2]: i for i in rec.histories[-1].items}
    assert items["WorklogId"][5] == w["id"] and items["timespent"][5] == "7200"
    got = (await client.get(f"/rest/api/3/issue/{key}/worklog/{w['id']}")).json()
    assert got["id"] == w["id"]
    v2 = (await client.get(f"/rest/api/2/issue/{key}/worklog/{w['id']}")).json()
    assert v2["comment"] == "work"
    upd = await client.put(
        f"/rest/api/3/issue/{key}/worklog/{w['id']}", json={"timeSpentSeconds": 3600}
    )
    assert (
        upd.status_code == 200
        and rec.fields["timespent"] == 3600
        and rec.fields["timeestimate"] == 7 * 3600
    )
    leave = await client.post(
        f"/rest/api/3/issue/{key}/worklog?adjustEstimate=leave", json={"timeSpentSeconds": 60}
    )
    assert leave.status_code == 201 and rec.fields["timeestimate"] == 7 * 3600
    field = (await client.get(f"/rest/api/3/issue/{key}?fields=timetracking,worklog")).json()[
        "fields"
    ]
    assert field["timetracking"]["timeSpentSeconds"] == 3660 and field["worklog"]["total"] == 2
    clock.advance(5)
    assert (await client.delete(f"/rest/api/3/issue/{key}/worklog/{w['id']}")).status_code == 204
    assert rec.fields["timespent"] == 60 and [x["id"] for x in rec.worklogs] == [leave.json()["id"]]
    assert sb.store.deleted_worklogs[-1] == [int(w["id"]), to_ms(clock.now())]
    missing = await client.get(f"/rest/api/3/issue/{key}/worklog/{w['id']}")
    assert missing.status_code == 404


async def test_worklog_validation(client: httpx.AsyncClient) -> None:
    r = await client.post("/rest/api/3/issue/ENG-1/worklog", json={})
    assert r.status_code == 400 and r.json()["errors"] == {
        "timeLogged": "You must indicate the time spent working."
    }
    r = await client.post("/rest/api/3/issue/ENG-1/worklog", json={"timeSpent": "soon"})
    assert r.status_code == 400 and "timeLogged" in r.json()["errors"]
    r = await client.post(
        "/rest/api/3/issue/ENG-1/worklog", json={"timeSpent": "1h", "started": "yesterday"}
    )
    assert r.status_code == 400 and "started" in r.json()["errors"]


async def test_worklog_feeds_exclude_the_last_minute(
    client: httpx.AsyncClient, sb: Sandbox, clock: FrozenClock
) -> None:
    key = await new_issue(client)
    w = (await client.post(f"/rest/api/3/issue/{key}/worklog", json={"timeSpent": "1h"})).json()
    since = to_ms(clock.now()) - 1000
    fresh = (await client.get(f"/rest/api/3/worklog/updated?since={since}")).json()
    assert fresh["values"] == [] and fresh["lastPage"] is True
    clock.advance(61)
    later = (await client.get(f"/rest/api/3/worklog/updated?since={since}")).json()
    assert [v["worklogId"] for v in later["values"]] == [int(w["id"])]
    assert later["until"] == later["values"][0]["updatedTime"]
    listed = (await client.post("/rest/api/3/worklog/list", json={"ids": [int(w["id"])]})).json()
    assert [x["id"] for x in listed] == [w["id"]]
    await client.delete(f"/rest/api/3/issue/{key}/worklog/{w['id']}")
    assert (await client.get(f"/rest/api/3/worklog/deleted?since={since}")).json()["values"] == []
    clock.advance(61)
    gone = (await client.get(f"/rest/api/3/worklog/deleted?since={since}")).json()
    assert [v["worklogId"] for v in gone["values"]] == [int(w["id"])]
    everything = (await client.get("/rest/api/3/worklog/updated?since=0")).json()
    total = sum(len(r.worklogs) for r in sb.store.issues.values())
    assert len(everything["values"]) == min(total, 1000)


async def test_issue_links(client: httpx.AsyncClient, sb: Sandbox) -> None:
    a, b = await new_issue(client, summary="A"), await new_issue(client, summary="B")
    r = await client.post(
        "/rest/api/3/issueLink",
        json={
            "type": {"name": "Blocks"},
            "inwardIssue": {"key": a},
            "outwardIssue": {"key": b},
            "comment": {"body": ADF},
        },
    )
    assert r.status_code == 201
    fa = (await client.get(f"/rest/api/3/issue/{a}?fields=issuelinks,comment")).json()["fields"]
    fb = (await client.get(f"/rest/api/3/issue/{b}?fields=issuelinks")).json()["fields"]
    assert (
        fa["issuelinks"][0]["outwardIssue"]["key"] == b
        and fa["issuelinks"][0]["type"]["outward"] == "blocks"
    )
    assert fb["issuelinks"][0]["inwardIssue"]["key"] == a
    assert fa["comment"]["comments"][-1]["body"] == ADF
    lid = fa["issuelinks"][0]["id"]
    link = (await client.get(f"/rest/api/3/issueLink/{lid}")).json()
    assert link["inwardIssue"]["key"] == a and link["outwardIssue"]["key"] == b
    found = (
        await client.post("/rest/api/3/search/jql", json={"jql": f"issue in linkedIssues({a})"})
    ).json()
    assert [i["id"] for i in found["issues"]] == [sb.store.issue(b).sid]  # type: ignore[union-attr]
    assert (await client.delete(f"/rest/api/3/issueLink/{lid}")).status_code == 204
    assert (await client.get(f"/rest/api/3/issueLink/{lid}")).status_code == 404
    assert sb.store.issue(a).links == []  # type: ignore[union-attr]
    bad = await client.post(
        "/rest/api/3/issueLink",
        json={"type": {"name": "Nope"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}},
    )
    assert bad.status_code == 404
    types = (await client.get("/rest/api/3/issueLinkType")).json()["issueLinkTypes"]
    assert {t["name"] for t in types} == {"Blocks", "Cloners", "Duplicate", "Relates"}


async def test_watchers_and_votes_changes(
    client: httpx.AsyncClient, sb: Sandbox, client_for: Any
) -> None:
    key = await new_issue(client)
    rec = sb.store.issue(key)
    assert rec is not None and rec.watchers == [sb.admin_account_id]
    r = await client.delete(f"/rest/api/3/issue/{key}/watchers?accountId={sb.admin_account_id}")
    assert r.status_code == 204 and rec.watchers == []
    cannot = await client.post(f"/rest/api/3/issue/{key}/votes")
    assert cannot.status_code == 400  # reporters cannot vote for their own issues
    other = next(u for u in sb.store.users.values() if u["accountId"] != sb.admin_account_id)
    async with client_for(sb, auth=(other["emailAddress"], "sandbox-token")) as c2:
        assert (await c2.post(f"/rest/api/3/issue/{key}/votes")).status_code == 204
        votes = (await c2.get(f"/rest/api/3/issue/{key}/votes")).json()
        assert votes["votes"] == 1 and votes["hasVoted"] is True
        assert (await c2.delete(f"/rest/api/3/issue/{key}/votes")).status_code == 204
    assert rec.voters == []
