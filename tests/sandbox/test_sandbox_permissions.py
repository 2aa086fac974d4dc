"""Browse permission per project: hidden projects answer with Jira's 404s and vanish from
search and project listings, for users outside the allowed groups only."""

from __future__ import annotations

from typing import Any

import httpx

from jirakit.sandbox import Sandbox


async def test_restricted_project_is_invisible_to_outsiders(sb: Sandbox, client_for: Any) -> None:
    sb.restrict_project("MKT", ["jira-admins"])
    outsider = next(
        u for a, u in sb.store.users.items() if a not in sb.store.group_members["jira-admins"]
    )
    mkt = next(sb.store.iter_project_issues(10002))
    eng = next(sb.store.iter_project_issues(10000))
    async with client_for(sb, auth=(outsider["emailAddress"], "sandbox-token")) as c:
        r = await c.get(f"/rest/api/3/issue/{mkt.key}")
        assert r.status_code == 404
        assert r.json()["errorMessages"] == [
            "Issue does not exist or you do not have permission to see it."
        ]
        assert (await c.get(f"/rest/api/3/issue/{eng.key}")).status_code == 200
        assert (await c.get("/rest/api/3/project/MKT")).status_code == 404
        keys = {p["key"] for p in (await c.get("/rest/api/3/project")).json()}
        assert "MKT" not in keys and "ENG" in keys
        found = (await c.get("/rest/api/3/project/search")).json()["values"]
        assert "MKT" not in {p["key"] for p in found}
        page = (
            await c.post(
                "/rest/api/3/search/jql", json={"jql": "project in (ENG, MKT)", "maxResults": 1000}
            )
        ).json()
        assert mkt.sid not in {i["id"] for i in page["issues"]} and eng.sid in {
            i["id"] for i in page["issues"]
        }
        bulk = (
            await c.post("/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [mkt.key, eng.key]})
        ).json()
        assert [i["key"] for i in bulk["issues"]] == [eng.key] and bulk["issueErrors"][0][
            "id"
        ] == mkt.key
        create = await c.post(
            "/rest/api/3/issue",
            json={
                "fields": {"project": {"key": "MKT"}, "issuetype": {"name": "Task"}, "summary": "x"}
            },
        )
        assert (
            create.status_code == 400
            and create.json()["errors"]["project"] == "Specify a valid project ID or key"
        )
        assert (
            await c.post(f"/rest/api/3/issue/{mkt.key}/comment", json={"body": "x"})
        ).status_code == 404
    async with client_for(sb) as admin:  # the admin is in jira-admins
        assert (await admin.get(f"/rest/api/3/issue/{mkt.key}")).status_code == 200
        page = (
            await admin.post(
                "/rest/api/3/search/jql", json={"jql": "project = MKT", "maxResults": 1000}
            )
        ).json()
        assert len(page["issues"]) == len(sb.store.by_project[10002])
    sb.restrict_project("MKT", [])
    async with client_for(sb, auth=(outsider["emailAddress"], "sandbox-token")) as c:
        assert (await c.get(f"/rest/api/3/issue/{mkt.key}")).status_code == 200


async def test_access_lists_survive_persistence(tmp_path: Any) -> None:
    sb = Sandbox(seed=2, issues=20)
    sb.restrict_project("OPS", ["developers"])
    sb.save(tmp_path / "s.json")
    again = Sandbox.load(tmp_path / "s.json")
    assert again.store.project_access == {"10001": ["developers"]}
    outsider = next(
        a for a in again.store.users if a not in again.store.group_members["developers"]
    )
    assert not again.store.can_browse(outsider, 10001)
    assert again.store.can_browse(outsider, 10000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=again.app), base_url="http://x", auth=again.auth
    ) as c:
        assert (await c.get("/rest/api/3/myself")).status_code == 200


async def test_access_lists_name_groups_without_regard_to_case(
    sb: Sandbox, client_for: Any
) -> None:
    sb.restrict_project("MKT", ["JIRA-Admins"])
    members = sb.store.group_members["jira-admins"]
    insider = next(u for a, u in sb.store.users.items() if a in members)
    outsider = next(u for a, u in sb.store.users.items() if a not in members)
    mkt = next(sb.store.iter_project_issues(10002))
    async with client_for(sb, auth=(insider["emailAddress"], "sandbox-token")) as c:
        assert (await c.get(f"/rest/api/3/issue/{mkt.key}")).status_code == 200
    async with client_for(sb, auth=(outsider["emailAddress"], "sandbox-token")) as c:
        assert (await c.get(f"/rest/api/3/issue/{mkt.key}")).status_code == 404


async def test_a_link_to_a_hidden_issue_can_be_neither_read_nor_deleted(
    sb: Sandbox, client_for: Any
) -> None:
    mkt = next(sb.store.iter_project_issues(10002))
    eng = next(sb.store.iter_project_issues(10000))
    async with client_for(sb) as admin:
        made = await admin.post(
            "/rest/api/3/issueLink",
            json={
                "type": {"name": "Blocks"},
                "inwardIssue": {"key": eng.key},
                "outwardIssue": {"key": mkt.key},
            },
        )
        assert made.status_code == 201, made.text
    [lid] = [i for i, (_, a, b) in sb.store.links.items() if {a, b} == {eng.id, mkt.id}]
    sb.restrict_project("MKT", ["jira-admins"])
    outsider = next(
        u for a, u in sb.store.users.items() if a not in sb.store.group_members["jira-admins"]
    )
    async with client_for(sb, auth=(outsider["emailAddress"], "sandbox-token")) as c:
        for method in ("GET", "DELETE"):
            r = await c.request(method, f"/rest/api/3/issueLink/{lid}")
            assert r.status_code == 404
            assert r.json()["errorMessages"] == [f"No issue link with id '{lid}' exists."]
    assert lid in sb.store.links  # nothing was removed
    async with client_for(sb) as admin:
        assert (await admin.delete(f"/rest/api/3/issueLink/{lid}")).status_code == 204
    assert lid not in sb.store.links
