"""Attachments, remote links, filters, groups and admin routes in the sandbox: state,
changelog, persistence (``--data``) and Jira's errors."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jirakit.sandbox import Sandbox
from jirakit.sandbox.generator import generate

P = "/rest/api/3"
XSRF = {"X-Atlassian-Token": "no-check"}


def test_generator_seeds_a_few_small_attachments_deterministically():
    a, b = generate(seed=3, issues=120), generate(seed=3, issues=120)
    assert a.attachments and a.attachments == b.attachments
    assert all(att["size"] <= 128 for att in a.attachments.values())
    assert all(len(base64.b64decode(att["data"])) == att["size"] for att in a.attachments.values())
    # the rest of the org is what it was without attachments
    assert [r.fields["summary"] for r in a.issues.values()][:20] == [
        r.fields["summary"] for r in b.issues.values()
    ][:20]


async def test_attachment_lifecycle_and_persistence(client_for: Any, tmp_path: Path):
    sandbox = Sandbox(seed=5, issues=20)
    async with client_for(sandbox) as c:
        r = await c.post(
            f"{P}/issue/ENG-1/attachments",
            files=[("file", ("a.txt", b"one")), ("file", ("b.txt", b"two"))],
            headers=XSRF,
        )
        assert r.status_code == 200
        first, second = r.json()
        issue = (await c.get(f"{P}/issue/ENG-1?fields=attachment")).json()
        assert {"a.txt", "b.txt"} <= {a["filename"] for a in issue["fields"]["attachment"]}
        v2 = (await c.get(f"/rest/api/2/attachment/{first['id']}")).json()
        assert v2["content"].endswith(f"/rest/api/2/attachment/content/{first['id']}")
        assert (await c.delete(f"{P}/attachment/{second['id']}")).status_code == 204
        assert (await c.get(f"{P}/attachment/{second['id']}")).status_code == 404
        made = await c.post(
            f"{P}/issue/ENG-1/remotelink",
            json={"object": {"url": "https://e.x/1", "title": "E"}},
        )
        assert made.status_code == 201
        f = await c.post(f"{P}/filter", json={"name": "F", "jql": "project = ENG"})
        assert f.status_code == 200
        missing = await c.post(
            f"{P}/issue/ENG-999/attachments", files={"file": ("x", b"x")}, headers=XSRF
        )
        assert missing.status_code == 404
    path = tmp_path / "state.json"
    sandbox.save(path)
    again = Sandbox.load(path)
    async with client_for(again) as c:
        r = await c.get(f"{P}/attachment/content/{first['id']}")
        assert r.status_code == 303
        media = await c.get(r.headers["location"], headers={"Authorization": ""})
        assert media.content == b"one"
        assert len((await c.get(f"{P}/issue/ENG-1/remotelink")).json()) == 1
        assert (await c.get(f"{P}/filter/{f.json()['id']}")).json()["name"] == "F"
        # new ids continue after the loaded ones
        r = await c.post(
            f"{P}/issue/ENG-2/attachments", files={"file": ("c.txt", b"3")}, headers=XSRF
        )
        assert int(r.json()[0]["id"]) > int(second["id"])


async def test_deleting_an_issue_drops_its_attachments(client_for: Any):
    sandbox = Sandbox(seed=5, issues=20)
    async with client_for(sandbox) as c:
        r = await c.post(
            f"{P}/issue/ENG-3/attachments", files={"file": ("a.txt", b"x")}, headers=XSRF
        )
        att = r.json()[0]["id"]
        assert (await c.delete(f"{P}/issue/ENG-3?deleteSubtasks=true")).status_code == 204
        assert (await c.get(f"{P}/attachment/{att}")).status_code == 404
    assert att not in sandbox.store.attachments


async def test_admin_errors_look_like_jira(client_for: Any):
    sandbox = Sandbox(seed=5, issues=10)
    admin = sandbox.admin_account_id
    async with client_for(sandbox) as c:
        r = await c.post(f"{P}/project", json={"key": "ENG", "name": "X", "leadAccountId": admin})
        assert r.json()["errors"]["projectKey"] == "Project 'ENG' uses this project key."
        r = await c.post(f"{P}/project", json={"key": "TOOLONGKEY1", "name": "Y"})
        assert set(r.json()["errors"]) == {"projectKey", "projectLead"}
        r = await c.post(f"{P}/component", json={"project": "NOPE", "name": "c"})
        assert r.status_code == 400 and "project" in r.json()["errors"]
        r = await c.post(f"{P}/version", json={"project": "ENG", "name": "1.0"})
        assert r.json()["errors"]["name"].startswith("A version with this name already exists")
        r = await c.post(f"{P}/version", json={"project": "ENG", "name": "9", "releaseDate": "x"})
        assert "releaseDate" in r.json()["errors"]
        r = await c.get(f"{P}/field/summary/context")
        assert r.status_code == 404
        r = await c.get(f"{P}/field/customfield_10001/context/10101/option")
        assert r.status_code in (400, 404)
        r = await c.put(f"{P}/version/99999", json={"released": True})
        assert r.status_code == 404
        r = await c.post(f"{P}/group", json={"name": "jira-users"})
        assert r.status_code == 400
        r = await c.post(f"{P}/group/user?groupname=jira-users", json={"accountId": "nobody"})
        assert r.status_code == 400


async def test_option_rename_shows_in_issues_and_search(client_for: Any):
    sandbox = Sandbox(seed=5, issues=60)
    rec = next(r for r in sandbox.store.issues.values() if r.fields.get("customfield_10030"))
    option = rec.fields["customfield_10030"]
    async with client_for(sandbox) as c:
        r = await c.put(
            f"{P}/field/customfield_10030/context/10130/option",
            json={"options": [{"id": option["id"], "value": "Renamed"}]},
        )
        assert r.status_code == 200
        issue = (await c.get(f"{P}/issue/{rec.key}?fields=customfield_10030")).json()
        assert issue["fields"]["customfield_10030"]["value"] == "Renamed"
        found = await c.post(
            f"{P}/search/jql",
            json={"jql": f'project = {rec.key.split("-")[0]} AND cf[10030] = "Renamed"'},
        )
        assert found.status_code == 200, found.text
        assert {"id": rec.sid} in found.json()["issues"]


async def test_datacenter_serves_attachment_bytes_itself(client_for: Any):
    sandbox = Sandbox(seed=5, issues=10, flavour="datacenter")
    async with client_for(sandbox) as c:
        r = await c.post(
            "/rest/api/2/issue/ENG-1/attachments", files={"file": ("d.txt", b"dc")}, headers=XSRF
        )
        att = r.json()[0]["id"]
        r = await c.get(f"/rest/api/2/attachment/content/{att}")
    assert r.status_code == 200 and r.content == b"dc"


async def test_jql_sees_attachments(client_for: Any):
    sandbox = Sandbox(seed=1, issues=200)
    with_files = {str(a["issue"]) for a in sandbox.store.attachments.values()}
    async with client_for(sandbox) as c:
        r = await c.post(
            f"{P}/search/jql",
            json={
                "jql": "project in (ENG, OPS, MKT) AND attachments IS NOT EMPTY",
                "maxResults": 500,
            },
        )
    assert {i["id"] for i in r.json()["issues"]} == with_files
