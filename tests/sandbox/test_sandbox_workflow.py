"""Comments (ADF) and workflow-enforced transitions."""

from __future__ import annotations

import httpx

from jirakit.sandbox import Sandbox

BODY = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "LGTM"}]}],
}


async def test_comment_lifecycle(client: httpx.AsyncClient, sb: Sandbox) -> None:
    rec = sb.store.issue("ENG-1")
    assert rec is not None
    n = len(rec.comments)
    v0 = rec.version
    r = await client.post("/rest/api/3/issue/ENG-1/comment", json={"body": BODY})
    assert r.status_code == 201
    c = r.json()
    assert c["body"] == BODY and c["author"]["accountId"] == sb.admin_account_id
    assert c["self"] == f"http://sandbox.test/rest/api/3/issue/{rec.id}/comment/{c['id']}"
    assert len(rec.comments) == n + 1 and rec.version == v0 + 1
    got = (
        await client.get(f"/rest/api/3/issue/ENG-1/comment/{c['id']}?expand=renderedBody")
    ).json()
    assert got["renderedBody"] == "<p>LGTM</p>"
    v2 = (await client.get(f"/rest/api/2/issue/ENG-1/comment/{c['id']}")).json()
    assert v2["body"] == "LGTM"
    new_body = {
        **BODY,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Edited"}]}],
    }
    upd = await client.put(f"/rest/api/3/issue/ENG-1/comment/{c['id']}", json={"body": new_body})
    assert upd.status_code == 200 and upd.json()["body"] == new_body
    page = (await client.get("/rest/api/3/issue/ENG-1/comment?maxResults=1&startAt=0")).json()
    assert page["total"] == n + 1 and len(page["comments"]) == 1
    assert (await client.delete(f"/rest/api/3/issue/ENG-1/comment/{c['id']}")).status_code == 204
    assert len(rec.comments) == n
    missing = await client.get(f"/rest/api/3/issue/ENG-1/comment/{c['id']}")
    assert missing.status_code == 404


async def test_comment_validation(client: httpx.AsyncClient) -> None:
    r = await client.post("/rest/api/3/issue/ENG-1/comment", json={"body": "plain"})
    assert r.status_code == 400 and "Atlassian Document" in r.json()["errors"]["comment"]
    r = await client.post("/rest/api/3/issue/ENG-1/comment", json={})
    assert r.json()["errors"] == {"comment": "Comment body can not be empty!"}
    r = await client.post("/rest/api/2/issue/ENG-1/comment", json={"body": "plain is fine in v2"})
    assert r.status_code == 201 and r.json()["body"] == "plain is fine in v2"
    r = await client.post("/rest/api/3/issue/NOPE-1/comment", json={"body": BODY})
    assert r.status_code == 404


async def test_transitions_follow_the_workflow(client: httpx.AsyncClient, sb: Sandbox) -> None:
    r = await client.post(
        "/rest/api/3/issue",
        json={
            "fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "Flow"}
        },
    )
    key = r.json()["key"]
    ts = (
        await client.get(f"/rest/api/3/issue/{key}/transitions?expand=transitions.fields")
    ).json()["transitions"]
    assert {t["name"] for t in ts} == {"In Progress", "Done"}
    done = next(t for t in ts if t["name"] == "Done")
    assert "resolution" in done["fields"]
    review = next(
        t for t in sb.store.workflows["software"]["transitions"] if t["name"] == "In Review"
    )
    bad = await client.post(
        f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": review["id"]}}
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "errorMessages": [f"Transition id '{review['id']}' is not valid for this issue."],
        "errors": {},
    }
    prog = next(t for t in ts if t["name"] == "In Progress")
    ok = await client.post(
        f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": prog["id"]}}
    )
    assert ok.status_code == 204
    rec = sb.store.issue(key)
    assert rec is not None and rec.fields["status"]["name"] == "In Progress"
    assert rec.fields.get("resolution") is None
    r = await client.post(
        f"/rest/api/3/issue/{key}/transitions",
        json={
            "transition": {"id": done["id"]},
            "fields": {"resolution": {"name": "Won't Do"}},
            "update": {"comment": [{"add": {"body": BODY}}]},
        },
    )
    assert r.status_code == 204, r.text
    assert rec.fields["status"]["name"] == "Done"
    assert rec.fields["resolution"]["name"] == "Won't Do"
    assert rec.fields["resolutiondate"] == rec.fields["updated"]
    assert rec.comments[-1]["body"] == BODY
    last = {i[2]: i for i in rec.histories[-1].items}
    assert last["status"][4:] == ("In Progress", "10002", "Done")
    assert last["resolution"][6] == "Won't Do"
    # reopening clears the resolution
    reopen = next(
        t
        for t in (await client.get(f"/rest/api/3/issue/{key}/transitions")).json()["transitions"]
        if t["name"] == "To Do"
    )
    await client.post(
        f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": reopen["id"]}}
    )
    assert rec.fields.get("resolution") is None and rec.fields.get("resolutiondate") is None
    assert rec.fields["statuscategorychangedate"] == rec.fields["updated"]


async def test_resolution_only_on_done(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/rest/api/3/issue",
        json={"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "R"}},
    )
    key = r.json()["key"]
    bad = await client.post(
        f"/rest/api/3/issue/{key}/transitions",
        json={"transition": {"id": "21"}, "fields": {"resolution": {"name": "Done"}}},
    )
    assert bad.status_code == 400 and "resolution" in bad.json()["errors"]
    missing = await client.post(f"/rest/api/3/issue/{key}/transitions", json={})
    assert missing.status_code == 400
