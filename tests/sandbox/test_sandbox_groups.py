"""Groups in the sandbox: create, delete (with a swap group for restricted comments), and
the group picker, with Jira's statuses and error bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jirakit.sandbox import Sandbox

P = "/rest/api/3"


async def test_create_group_and_its_errors(client_for: Any):
    sandbox = Sandbox(seed=5, issues=5)
    async with client_for(sandbox) as c:
        r = await c.post(f"{P}/group", json={"name": "release-managers"})
        assert r.status_code == 201
        body = r.json()
        assert body["name"] == "release-managers" and body["users"]["size"] == 0
        assert body["self"] == f"http://sandbox.test{P}/group?groupId={body['groupId']}"
        assert sandbox.store.groups["release-managers"]["groupId"] == body["groupId"]

        again = await c.post(f"{P}/group", json={"name": "Release-Managers"})
        assert again.status_code == 400
        assert again.json() == {
            "errorMessages": ["A group or user with this name already exists."],
            "errors": {},
        }
        for payload in ({}, {"name": "  "}, ["release"]):
            bad = await c.post(f"{P}/group", json=payload)
            assert bad.status_code == 400
            assert bad.json()["errors"] == {"name": "You must specify a group name."}
        # a new group can be given members and is found by the picker
        admin = sandbox.admin_account_id
        r = await c.post(f"{P}/group/user?groupname=release-managers", json={"accountId": admin})
        assert r.status_code == 201 and r.json()["users"]["size"] == 1


async def test_delete_group(client_for: Any):
    sandbox = Sandbox(seed=5, issues=5)
    async with client_for(sandbox) as c:
        made = (await c.post(f"{P}/group", json={"name": "temp"})).json()
        r = await c.delete(f"{P}/group", params={"groupId": made["groupId"]})
        assert r.status_code == 200 and "temp" not in sandbox.store.groups
        assert "temp" not in sandbox.store.group_members

        r = await c.delete(f"{P}/group", params={"groupname": "temp"})
        assert r.status_code == 404
        assert r.json() == {"errorMessages": ["Specified group does not exist."], "errors": {}}
        r = await c.delete(f"{P}/group")
        assert r.status_code == 400
        assert r.json()["errorMessages"] == ["You must specify a group name or group ID."]
        r = await c.delete(f"{P}/group", params={"groupname": "site-admins"})
        assert r.status_code == 400 and "site-admins" in sandbox.store.groups


async def test_swap_group_inherits_restricted_comments(client_for: Any):
    sandbox = Sandbox(seed=5, issues=5)
    async with client_for(sandbox) as c:
        await c.post(f"{P}/group", json={"name": "old-team"})
        heirs = (await c.post(f"{P}/group", json={"name": "new-team"})).json()
        body = {
            "body": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
            },
            "visibility": {"type": "group", "value": "old-team"},
        }
        restricted = (await c.post(f"{P}/issue/ENG-1/comment", json=body)).json()
        body["visibility"] = {"type": "role", "value": "Developers"}
        by_role = (await c.post(f"{P}/issue/ENG-1/comment", json=body)).json()

        r = await c.delete(f"{P}/group", params={"groupname": "old-team", "swapGroup": "nope"})
        assert r.status_code == 400 and "old-team" in sandbox.store.groups
        assert "does not exist" in r.json()["errorMessages"][0]
        r = await c.delete(f"{P}/group", params={"groupname": "old-team", "swapGroup": "old-team"})
        assert r.status_code == 400
        assert r.json()["errorMessages"] == ["You cannot swap a group with itself."]

        r = await c.delete(
            f"{P}/group", params={"groupname": "old-team", "swapGroupId": heirs["groupId"]}
        )
        assert r.status_code == 200
        moved = (await c.get(f"{P}/issue/ENG-1/comment/{restricted['id']}")).json()
        assert moved["visibility"] == {
            "type": "group",
            "value": "new-team",
            "identifier": heirs["groupId"],
        }
        kept = (await c.get(f"{P}/issue/ENG-1/comment/{by_role['id']}")).json()
        assert kept["visibility"] == {"type": "role", "value": "Developers"}


async def test_group_picker(client_for: Any):
    sandbox = Sandbox(seed=5, issues=5)
    async with client_for(sandbox) as c:
        for name in ("Beta-Testers", "alpha-testers", "testers"):
            await c.post(f"{P}/group", json={"name": name})
        r = await c.get(f"{P}/groups/picker", params={"query": "testers"})
        found = r.json()
        # case-sensitive by default (Jira's caseInsensitive=false), sorted by name
        assert [g["name"] for g in found["groups"]] == ["alpha-testers", "testers"]
        assert found["groups"][0]["html"] == "alpha-<b>testers</b>"
        assert found["header"] == "Showing 2 of 2 matching groups" and found["total"] == 2

        r = await c.get(
            f"{P}/groups/picker", params={"query": "TESTERS", "caseInsensitive": "true"}
        )
        names = [g["name"] for g in r.json()["groups"]]
        assert names == ["alpha-testers", "Beta-Testers", "testers"]
        assert r.json()["groups"][1]["html"] == "Beta-<b>Testers</b>"

        r = await c.get(
            f"{P}/groups/picker",
            params=[("query", "testers"), ("exclude", "testers"), ("caseInsensitive", "true")],
        )
        assert [g["name"] for g in r.json()["groups"]] == ["alpha-testers", "Beta-Testers"]
        r = await c.get(f"{P}/groups/picker", params={"query": "", "maxResults": 1})
        page = r.json()
        assert len(page["groups"]) == 1 and page["total"] == len(sandbox.store.groups)
        assert page["header"] == f"Showing 1 of {len(sandbox.store.groups)} matching groups"
        assert set(page["groups"][0]) == {"name", "html", "labels", "groupId"}


async def test_a_deleted_groups_id_is_never_given_again(client_for: Any, tmp_path: Path):
    sandbox = Sandbox(seed=5, issues=5)
    async with client_for(sandbox) as c:
        a = (await c.post(f"{P}/group", json={"name": "a"})).json()
        b = (await c.post(f"{P}/group", json={"name": "b"})).json()
        assert (await c.delete(f"{P}/group", params={"groupname": "a"})).status_code == 200
        x = (await c.post(f"{P}/group", json={"name": "x"})).json()
        assert x["groupId"] not in (a["groupId"], b["groupId"])
        ids = [g["groupId"] for g in sandbox.store.groups.values()]
        assert len(ids) == len(set(ids))
        # the id is the group's: asking for it by id finds x, not b
        r = await c.get(f"{P}/group/member", params={"groupId": x["groupId"]})
        assert r.status_code == 200 and f"groupId={x['groupId']}&" in r.json()["self"]
    # the counter is saved with the store: a reloaded sandbox does not reuse ids either
    sandbox.save(tmp_path / "site.json")
    async with client_for(Sandbox.load(tmp_path / "site.json")) as c:
        await c.delete(f"{P}/group", params={"groupname": "x"})
        y = (await c.post(f"{P}/group", json={"name": "y"})).json()
        assert y["groupId"] not in [a["groupId"], *ids]


async def test_group_names_are_case_insensitive_everywhere(client_for: Any):
    sandbox = Sandbox(seed=5, issues=5)
    admin = sandbox.admin_account_id
    async with client_for(sandbox) as c:
        made = (await c.post(f"{P}/group", json={"name": "Release-Managers"})).json()
        heirs = (await c.post(f"{P}/group", json={"name": "QA"})).json()
        r = await c.post(f"{P}/group/user?groupname=release-managers", json={"accountId": admin})
        assert r.status_code == 201 and r.json()["name"] == "Release-Managers"
        r = await c.get(f"{P}/group/member", params={"groupname": "RELEASE-MANAGERS"})
        assert r.status_code == 200 and [u["accountId"] for u in r.json()["values"]] == [admin]
        r = await c.delete(
            f"{P}/group/user", params={"groupname": "release-MANAGERS", "accountId": admin}
        )
        assert r.status_code == 200 and sandbox.store.group_members["Release-Managers"] == []

        body = {
            "body": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
            },
            "visibility": {"type": "group", "value": "release-managers"},
        }
        restricted = (await c.post(f"{P}/issue/ENG-1/comment", json=body)).json()
        r = await c.delete(
            f"{P}/group", params={"groupname": "qa", "swapGroup": "QA"}
        )  # the same group, named in another case
        assert r.status_code == 400
        assert r.json()["errorMessages"] == ["You cannot swap a group with itself."]
        r = await c.delete(
            f"{P}/group", params={"groupname": "RELEASE-managers", "swapGroup": "qa"}
        )
        assert r.status_code == 200 and "Release-Managers" not in sandbox.store.groups
        moved = (await c.get(f"{P}/issue/ENG-1/comment/{restricted['id']}")).json()
        assert moved["visibility"] == {
            "type": "group",
            "value": "QA",
            "identifier": heirs["groupId"],
        }
        assert made["groupId"] not in {g["groupId"] for g in sandbox.store.groups.values()}
