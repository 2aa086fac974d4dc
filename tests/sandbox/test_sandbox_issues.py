"""Issue routes: create (validated), get (fields/expand), edit, delete, metadata, bulk reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from jirakit.sandbox import FrozenClock, Sandbox
from needs import shared_json

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}],
}


async def create(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {
        "fields": {
            "project": {"key": "ENG"},
            "issuetype": {"name": "Task"},
            "summary": "New",
            **fields,
        }
    }
    return await client.post("/rest/api/3/issue", json=body)


async def test_create_returns_201_and_is_readable(client: httpx.AsyncClient, sb: Sandbox) -> None:
    before = len(sb.store.issues)
    r = await create(
        client,
        summary="Write the docs",
        description=ADF,
        labels=["docs"],
        priority={"name": "High"},
    )
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "key", "self"}
    assert (
        body["key"].startswith("ENG-")
        and body["self"] == f"http://sandbox.test/rest/api/3/issue/{body['id']}"
    )
    assert len(sb.store.issues) == before + 1
    issue = (await client.get(f"/rest/api/3/issue/{body['key']}")).json()
    f = issue["fields"]
    assert f["summary"] == "Write the docs"
    assert f["description"] == ADF
    assert f["status"]["name"] == "To Do"
    assert f["priority"]["name"] == "High"
    assert f["labels"] == ["docs"]
    assert f["reporter"]["accountId"] == sb.admin_account_id
    assert f["created"] == f["updated"] == "2026-02-01T12:00:00.000+0000"
    v2 = (await client.get(f"/rest/api/2/issue/{body['key']}")).json()
    assert v2["fields"]["description"] == "Hello"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"summary": ""}, {"summary": "You must specify a summary of the issue."}),
        ({"summary": "x" * 300}, {"summary": "Summary must be less than 255 characters."}),
        ({"project": {"key": "NOPE"}}, {"project": "Specify a valid project ID or key"}),
        ({"issuetype": {"name": "Gizmo"}}, {"issuetype": "Specify a valid issue type"}),
        ({"priority": {"id": "99"}}, {"priority": "The priority selected is invalid."}),
        (
            {"description": "plain text"},
            {
                "description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            },
        ),
        (
            {"foo": 1},
            {"foo": "Field 'foo' cannot be set. It is not on the appropriate screen, or unknown."},
        ),
        ({"customfield_10040": "hot"}, {"customfield_10040": "Operation value must be a number"}),
        (
            {"customfield_10030": {"value": "Diamond"}},
            {"customfield_10030": "Option value 'Diamond' is not valid"},
        ),
        ({"duedate": "tomorrow"}, {"duedate": "Error parsing date string: tomorrow"}),
        (
            {"issuetype": {"name": "Sub-task"}},
            {"parent": "Given parent work item does not belong to appropriate hierarchy."},
        ),
    ],
)
async def test_create_validation_errors(
    client: httpx.AsyncClient, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    r = await create(client, **fields)
    assert r.status_code == 400
    assert r.json() == {"errorMessages": [], "errors": errors}


async def test_create_missing_summary_in_v2(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/rest/api/2/issue",
        json={"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Bug"}}},
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {"summary": "You must specify a summary of the issue."}


async def test_create_subtask_and_custom_fields(client: httpx.AsyncClient, sb: Sandbox) -> None:
    parent = next(
        r for r in sb.store.iter_project_issues(10000) if r.fields["issuetype"]["name"] == "Task"
    )
    r = await create(
        client,
        issuetype={"name": "Sub-task"},
        parent={"key": parent.key},
        customfield_10030={"value": "Gold"},
        customfield_10031=[{"value": "iOS"}, {"value": "Web"}],
        customfield_10040=7,
        customfield_10033="2026-03-01",
        customfield_10020=next(iter(sb.store.sprints)),
    )
    assert r.status_code == 201, r.text
    child = sb.store.issue(r.json()["key"])
    assert child is not None and child.parent_id == parent.id
    got = (
        await client.get(f"/rest/api/3/issue/{parent.key}", params={"fields": "subtasks"})
    ).json()
    assert child.key in [s["key"] for s in got["fields"]["subtasks"]]
    f = (await client.get(f"/rest/api/3/issue/{child.key}")).json()["fields"]
    assert (
        f["parent"]["key"] == parent.key
        and f["parent"]["fields"]["summary"] == parent.fields["summary"]
    )
    assert f["customfield_10030"]["value"] == "Gold"
    assert [o["value"] for o in f["customfield_10031"]] == ["iOS", "Web"]
    assert f["customfield_10040"] == 7.0
    assert f["customfield_10020"][0]["id"] == next(iter(sb.store.sprints))


async def test_get_fields_filter(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/rest/api/3/issue/ENG-2")).json()["fields"]
    assert {"summary", "status", "comment", "worklog", "customfield_10020"} <= set(everything)
    only = (await client.get("/rest/api/3/issue/ENG-2", params={"fields": "summary,status"})).json()
    assert set(only["fields"]) == {"summary", "status"}
    minus = (await client.get("/rest/api/3/issue/ENG-2", params={"fields": "*all,-comment"})).json()
    assert "comment" not in minus["fields"] and "summary" in minus["fields"]
    nav = (await client.get("/rest/api/3/issue/ENG-2", params={"fields": "*navigable"})).json()
    assert "worklog" not in nav["fields"] and "summary" in nav["fields"]
    multi = (await client.get("/rest/api/3/issue/ENG-2?fields=summary&fields=labels")).json()
    assert set(multi["fields"]) == {"summary", "labels"}


async def test_get_expand(client: httpx.AsyncClient, sb: Sandbox) -> None:
    rec = next(r for r in sb.store.issues.values() if r.histories and r.fields.get("description"))
    r = await client.get(
        f"/rest/api/3/issue/{rec.key}",
        params={"expand": "renderedFields,names,schema,changelog,transitions,editmeta"},
    )
    body = r.json()
    assert body["names"]["summary"] == "Summary"
    assert body["schema"]["customfield_10020"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert body["renderedFields"]["description"].startswith("<p>")
    assert body["changelog"]["total"] == len(rec.histories)
    # The last 100, newest first ("sorted by date, starting from the most recent").
    newest_first = [str(h.id) for h in reversed(rec.histories)][:100]
    assert [h["id"] for h in body["changelog"]["histories"]] == newest_first
    assert {t["id"] for t in body["transitions"]}
    assert "summary" in body["editmeta"]["fields"]


async def test_get_missing_issue_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/rest/api/3/issue/ENG-99999")
    assert r.status_code == 404
    assert r.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }


async def test_edit_fields_and_update_ops(
    client: httpx.AsyncClient, sb: Sandbox, clock: FrozenClock
) -> None:
    rec = sb.store.issue("ENG-3")
    assert rec is not None
    v0, n_hist = rec.version, len(rec.histories)
    clock.advance(minutes=5)
    r = await client.put(
        "/rest/api/3/issue/ENG-3",
        json={
            "fields": {"summary": "Renamed"},
            "update": {"labels": [{"add": "added-label"}], "components": [{"set": []}]},
        },
    )
    assert r.status_code == 204, r.text
    assert rec.version == v0 + 1
    assert len(rec.histories) == n_hist + 1
    items = {i[2]: i for i in rec.histories[-1].items}
    assert items["summary"][6] == "Renamed"
    assert "added-label" in (items["labels"][6] or "")
    f = (await client.get("/rest/api/3/issue/ENG-3")).json()["fields"]
    assert f["summary"] == "Renamed" and "added-label" in f["labels"] and f["components"] == []
    assert f["updated"] == "2026-02-01T12:05:00.000+0000"
    r = await client.put(
        "/rest/api/3/issue/ENG-3", json={"update": {"labels": [{"remove": "added-label"}]}}
    )
    assert r.status_code == 204
    assert "added-label" not in rec.fields["labels"]
    r = await client.put(
        "/rest/api/3/issue/ENG-3", json={"fields": {"assignee": {"accountId": "nope"}}}
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "assignee": "Specified user does not exist or you do not have required permissions"
    }
    r = await client.put("/rest/api/3/issue/ENG-3", json={"fields": {"assignee": None}})
    assert r.status_code == 204 and "assignee" not in rec.fields


async def test_edit_notify_users_and_return_issue(client: httpx.AsyncClient) -> None:
    r = await client.put(
        "/rest/api/3/issue/ENG-4?notifyUsers=false&returnIssue=true",
        json={"fields": {"summary": "Quiet"}},
    )
    assert r.status_code == 200
    assert r.json()["fields"]["summary"] == "Quiet"


async def test_delete_with_and_without_subtasks(client: httpx.AsyncClient, sb: Sandbox) -> None:
    parent = next(
        sb.store.issues[p]
        for p, kids in sb.store.children.items()
        if p in sb.store.issues
        and any(
            sb.store.issues[k].fields["issuetype"]["subtask"] for k in kids if k in sb.store.issues
        )
    )
    r = await client.delete(f"/rest/api/3/issue/{parent.key}")
    assert r.status_code == 400
    assert "has subtasks" in r.json()["errorMessages"][0]
    kids = list(sb.store.children[parent.id])
    r = await client.delete(f"/rest/api/3/issue/{parent.key}?deleteSubtasks=true")
    assert r.status_code == 204
    assert sb.store.issue(parent.key) is None
    assert all(
        sb.store.issues.get(k) is None or not sb.store.issues[k].fields["issuetype"]["subtask"]
        for k in kids
    )
    assert (await client.get(f"/rest/api/3/issue/{parent.key}")).status_code == 404


async def test_createmeta(client: httpx.AsyncClient) -> None:
    types = (await client.get("/rest/api/3/issue/createmeta/ENG/issuetypes")).json()
    names = [t["name"] for t in types["issueTypes"]]
    assert names == ["Epic", "Story", "Task", "Bug", "Sub-task"] and types["total"] == 5
    paged = (
        await client.get("/rest/api/3/issue/createmeta/ENG/issuetypes?maxResults=2&startAt=2")
    ).json()
    assert [t["name"] for t in paged["issueTypes"]] == ["Task", "Bug"]
    task = next(t for t in types["issueTypes"] if t["name"] == "Task")
    meta = (
        await client.get(f"/rest/api/3/issue/createmeta/ENG/issuetypes/{task['id']}?maxResults=200")
    ).json()
    by_id = {f["fieldId"]: f for f in meta["fields"]}
    assert by_id["summary"]["required"] is True and by_id["description"]["required"] is False
    assert [o["value"] for o in by_id["customfield_10030"]["allowedValues"]] == [
        "Platinum",
        "Gold",
        "Silver",
        "Bronze",
    ]
    assert (await client.get("/rest/api/3/issue/createmeta/NOPE/issuetypes")).status_code == 400


async def test_editmeta(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/rest/api/3/issue/ENG-1/editmeta")).json()
    assert meta["fields"]["labels"]["operations"] == ["add", "set", "remove"]
    assert meta["fields"]["priority"]["allowedValues"][0]["name"] == "Highest"


async def test_bulkfetch(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/rest/api/3/issue/bulkfetch",
        json={"issueIdsOrKeys": ["ENG-2", "ENG-1", "NOPE-1", "10001"], "fields": ["summary"]},
    )
    body = r.json()
    # In ascending id order whatever the request's (the spec); 10001 is ENG-1 again.
    assert [i["key"] for i in body["issues"]] == ["ENG-1", "ENG-2"]
    assert int(body["issues"][0]["id"]) < int(body["issues"][1]["id"])
    assert set(body["issues"][0]["fields"]) == {"summary"}
    assert body["issueErrors"] == [
        {
            "id": "NOPE-1",
            "errorMessage": "Issue does not exist or you do not have permission to see it.",
        }
    ]
    too_many = await client.post(
        "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [str(i) for i in range(101)]}
    )
    assert too_many.status_code == 400


async def test_issue_changelog_paged(client: httpx.AsyncClient, sb: Sandbox) -> None:
    rec = max(sb.store.issues.values(), key=lambda r: len(r.histories))
    assert len(rec.histories) >= 3
    page = (await client.get(f"/rest/api/3/issue/{rec.key}/changelog?maxResults=2")).json()
    assert (
        page["total"] == len(rec.histories) and page["isLast"] is False and len(page["values"]) == 2
    )
    rest = (
        await client.get(f"/rest/api/3/issue/{rec.key}/changelog?startAt=2&maxResults=100")
    ).json()
    ids = [v["id"] for v in page["values"] + rest["values"]]
    assert ids == [str(h.id) for h in rec.histories]
    assert rest["isLast"] is True


async def test_changelog_bulkfetch_pages_and_filters(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    keys = [r.key for r in list(sb.store.issues.values())[:40]]
    expected = sum(len(sb.store.issue(k).histories) for k in keys)  # type: ignore[union-attr]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body: dict[str, Any] = {"issueIdsOrKeys": keys, "maxResults": 7}
        if token:
            body["nextPageToken"] = token
        page = (await client.post("/rest/api/3/changelog/bulkfetch", json=body)).json()
        pages += 1
        for log in page["issueChangeLogs"]:
            seen.extend(h["id"] for h in log["changeHistories"])
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == expected == len(set(seen)) and pages == -(-expected // 7)
    only = (
        await client.post(
            "/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": keys, "fieldIds": ["status"]}
        )
    ).json()
    for log in only["issueChangeLogs"]:
        for h in log["changeHistories"]:
            assert {i["fieldId"] for i in h["items"]} == {"status"}


async def test_watchers_votes_worklogs(client: httpx.AsyncClient, sb: Sandbox) -> None:
    rec = next(r for r in sb.store.issues.values() if r.voters and r.worklogs)
    w = (await client.get(f"/rest/api/3/issue/{rec.key}/watchers")).json()
    assert w["watchCount"] == len(rec.watchers) == len(w["watchers"])
    v = (await client.get(f"/rest/api/3/issue/{rec.key}/votes")).json()
    assert v["votes"] == len(rec.voters)
    logs = (await client.get(f"/rest/api/3/issue/{rec.key}/worklog")).json()
    assert logs["total"] == len(rec.worklogs)
    assert sum(x["timeSpentSeconds"] for x in logs["worklogs"]) == rec.fields["timespent"]
    r = await client.post(f"/rest/api/3/issue/{rec.key}/watchers", json=sb.admin_account_id)
    assert r.status_code == 204 and sb.admin_account_id in rec.watchers


async def test_updated_moves_with_the_clock(
    client: httpx.AsyncClient, sb: Sandbox, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=1).total_seconds())
    await client.put("/rest/api/3/issue/ENG-5", json={"fields": {"summary": "Tomorrow"}})
    rec = sb.store.issue("ENG-5")
    assert rec is not None and rec.fields["updated"] == "2026-02-02T12:00:00.000+0000"
    assert sb.store.updated_index[-1] == (rec.updated_ms, rec.id)


REAL_ISSUE = ("jira", "fixtures", "cloud-v3-demisto", "get_issue_test", "raw_response.json")


@pytest.fixture
def real_issue() -> dict[str, Any]:
    data: dict[str, Any] = shared_json(*REAL_ISSUE)
    return data


async def test_issue_shape_matches_a_recorded_cloud_issue(
    client: httpx.AsyncClient, real_issue: dict[str, Any]
) -> None:
    """Every system field of a real Cloud issue (demisto fixture) is there, with the same JSON type."""
    real = real_issue
    ours = (
        await client.get("/rest/api/3/issue/ENG-2?expand=renderedFields,names,transitions")
    ).json()
    assert set(real) <= set(ours)
    for key, value in real["fields"].items():
        if key.startswith("customfield_"):
            continue
        assert key in ours["fields"], key
        mine = ours["fields"][key]
        if value is not None and mine is not None:
            assert type(mine) is type(value) or {type(mine), type(value)} <= {int, float}, key


async def test_assign_and_unassign(client: httpx.AsyncClient, sb: Sandbox) -> None:
    user = next(u for u in sb.store.users.values() if u["accountId"] != sb.admin_account_id)
    r = await client.put("/rest/api/3/issue/ENG-6/assignee", json={"accountId": user["accountId"]})
    assert r.status_code == 204
    rec = sb.store.issue("ENG-6")
    assert rec is not None and rec.fields["assignee"]["accountId"] == user["accountId"]
    assert rec.histories[-1].items[-1][5] == user["accountId"]
    assert (
        await client.put("/rest/api/3/issue/ENG-6/assignee", json={"accountId": None})
    ).status_code == 204
    assert "assignee" not in rec.fields
    bad = await client.put("/rest/api/3/issue/ENG-6/assignee", json={"accountId": "nobody"})
    assert bad.status_code == 400


async def test_reads_reflect_watcher_changes_at_once(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    before = (await client.get("/rest/api/3/issue/ENG-7?fields=watches")).json()["fields"][
        "watches"
    ]
    other = next(a for a in sb.store.users if a not in sb.store.issue("ENG-7").watchers)  # type: ignore[union-attr]
    assert (await client.post("/rest/api/3/issue/ENG-7/watchers", json=other)).status_code == 204
    after = (await client.get("/rest/api/3/issue/ENG-7?fields=watches")).json()["fields"]["watches"]
    assert after["watchCount"] == before["watchCount"] + 1


async def test_v2_speaks_wiki_markup(client: httpx.AsyncClient) -> None:
    wiki = "h1. Title\n\n* first *bold*\n* second"
    body = {
        "fields": {
            "project": {"key": "ENG"},
            "issuetype": {"name": "Task"},
            "summary": "W",
            "description": wiki,
        }
    }
    key = (await client.post("/rest/api/2/issue", json=body)).json()["key"]
    v3 = (await client.get(f"/rest/api/3/issue/{key}?fields=description")).json()["fields"][
        "description"
    ]
    assert [n["type"] for n in v3["content"]] == ["heading", "bulletList"]
    v2 = (await client.get(f"/rest/api/2/issue/{key}?fields=description")).json()["fields"][
        "description"
    ]
    assert v2 == wiki


async def test_bulk_create_reports_failures_by_index(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    good = {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "Bulk"}}
    bad = {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}}}
    r = await client.post("/rest/api/3/issue/bulk", json={"issueUpdates": [good, bad, good]})
    assert r.status_code == 201
    body = r.json()
    assert len(body["issues"]) == 2 and all(sb.store.issue(i["key"]) for i in body["issues"])
    assert body["errors"] == [
        {
            "status": 400,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"summary": "You must specify a summary of the issue."},
            },
            "failedElementNumber": 1,
        }
    ]
    all_bad = await client.post("/rest/api/3/issue/bulk", json={"issueUpdates": [bad]})
    assert all_bad.status_code == 400 and all_bad.json()["issues"] == []
    too_many = await client.post("/rest/api/3/issue/bulk", json={"issueUpdates": [good] * 51})
    assert too_many.status_code == 400
