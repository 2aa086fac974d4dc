"""Configuration reads (roles, permissions, schemes, screens, workflows, dashboards, paged
versions and components, issue properties, the legacy createmeta): every answer names
things that exist on the site and follows it when the site changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from jirakit.sandbox import Sandbox
from jirakit.sandbox.store import Store

P = "/rest/api/3"


@pytest.fixture
def site() -> Sandbox:
    sb = Sandbox(seed=16, issues=80, projects=3)
    sb.restrict_project("MKT", ["jira-admins"])
    return sb


def outsider(sb: Sandbox) -> tuple[str, str]:
    admins = set(sb.store.group_members["jira-admins"])
    user = next(u for a, u in sb.store.users.items() if a not in admins and u["active"])
    return user["emailAddress"], "sandbox-token"


async def get(c: httpx.AsyncClient, url: str, status: int = 200) -> Any:
    r = await c.get(P + url)
    assert r.status_code == status, f"{url}: {r.status_code} {r.text[:300]}"
    return r.json()


async def test_project_roles_name_real_users_and_groups(site: Sandbox, client_for: Any) -> None:
    store = site.store
    async with client_for(site) as c:
        roles = await get(c, "/project/ENG/role")
        assert set(roles) == {"Administrators", "Developers", "Users"}
        admin_role = await get(c, roles["Administrators"].split("/rest/api/3")[1])
        lead = store.project("ENG")["lead"]  # type: ignore[index]
        users = {a["actorUser"]["accountId"] for a in admin_role["actors"] if "actorUser" in a}
        groups = {a["name"] for a in admin_role["actors"] if "actorGroup" in a}
        assert users == {lead["accountId"]} and groups == {"jira-admins"}
        devs = await get(c, "/project/ENG/role/10001")
        group = devs["actors"][0]["actorGroup"]
        assert store.groups["developers"]["groupId"] == group["groupId"]
        site_roles = await get(c, "/role")
        assert {r["id"] for r in site_roles} == {10000, 10001, 10002}
        details = await get(c, "/project/ENG/roledetails?currentMember=true")
        assert {r["name"] for r in details} == {"Administrators", "Developers", "Users"}
        await get(c, "/project/ENG/role/99", 404)


async def test_assignable_users_follow_browse_permission(site: Sandbox, client_for: Any) -> None:
    store = site.store
    me = outsider(site)
    my_id = store.user_by_login(me[0])["accountId"]  # type: ignore[index]
    async with client_for(site) as c:
        eng = await get(c, "/user/assignable/search?project=ENG&maxResults=1000")
        active = {a for a, u in store.users.items() if u["active"]}
        assert {u["accountId"] for u in eng} == active
        mkt = await get(c, "/user/assignable/search?project=MKT&maxResults=1000")
        assert my_id not in {u["accountId"] for u in mkt}  # cannot browse MKT
        assert site.admin_account_id in {u["accountId"] for u in mkt}
        both = await get(c, "/user/assignable/multiProjectSearch?projectKeys=ENG,MKT")
        assert {u["accountId"] for u in both} == {u["accountId"] for u in mkt}
        name = store.users[my_id]["displayName"].split()[0]
        found = await get(c, f"/user/assignable/search?issueKey=ENG-1&query={name}")
        assert my_id in {u["accountId"] for u in found}
        await get(c, "/user/assignable/search?project=NOPE", 404)
    async with client_for(site, auth=me) as c:
        await get(c, "/user/assignable/search?project=MKT", 404)


async def test_my_permissions_follow_groups_and_access(site: Sandbox, client_for: Any) -> None:
    keys = "BROWSE_PROJECTS,ADMINISTER,EDIT_ISSUES,ADMINISTER_PROJECTS"
    async with client_for(site) as c:
        mine = (await get(c, f"/mypermissions?permissions={keys}&projectKey=MKT"))["permissions"]
        assert all(p["havePermission"] for p in mine.values())
        await get(c, "/mypermissions?permissions=NOT_A_PERMISSION", 400)
        everything = (await get(c, "/permissions"))["permissions"]
        assert {"BROWSE_PROJECTS", "ADMINISTER", "ASSIGNABLE_USER"} <= set(everything)
        scheme = await get(c, "/permissionscheme/0?expand=permissions")
        role_ids = {str(r["id"]) for r in await get(c, "/role")}
        assert {g["holder"]["parameter"] for g in scheme["permissions"]} <= role_ids
        assert {g["permission"] for g in scheme["permissions"]} <= set(everything)
    async with client_for(site, auth=outsider(site)) as c:
        eng = (await get(c, f"/mypermissions?permissions={keys}&projectKey=ENG"))["permissions"]
        assert eng["BROWSE_PROJECTS"]["havePermission"] and eng["EDIT_ISSUES"]["havePermission"]
        assert not eng["ADMINISTER"]["havePermission"]
        assert not eng["ADMINISTER_PROJECTS"]["havePermission"]  # not the lead, not an admin
        await get(c, f"/mypermissions?permissions={keys}&projectKey=MKT", 404)


async def test_screens_and_schemes_name_what_exists(site: Sandbox, client_for: Any) -> None:
    async with client_for(site) as c:
        field_ids = {f["id"] for f in await get(c, "/field")} | {"resolution"}
        screen_ids = {s["id"] for s in (await get(c, "/screens"))["values"]}
        for sid in screen_ids:
            (tab,) = await get(c, f"/screens/{sid}/tabs")
            fields = await get(c, f"/screens/{sid}/tabs/{tab['id']}/fields")
            assert fields and {f["id"] for f in fields} <= field_ids
        default = await get(c, "/screens/1/tabs/10000/fields")
        assert {"summary", "description", "customfield_10016"} <= {f["id"] for f in default}
        (scheme,) = (await get(c, "/screenscheme"))["values"]
        assert set(scheme["screens"].values()) <= screen_ids
        (mapping,) = (await get(c, "/issuetypescreenscheme/mapping"))["values"]
        assert mapping["screenSchemeId"] == str(scheme["id"])
        types = {t["id"] for t in await get(c, "/issuetype")}
        schemes_ = (await get(c, "/issuetypescheme/mapping?maxResults=100"))["values"]
        assert {m["issueTypeId"] for m in schemes_} <= types
        by_project = (await get(c, "/issuetypescheme/project?projectId=10000&projectId=10002"))[
            "values"
        ]
        for entry in by_project:
            scheme_types = {
                m["issueTypeId"]
                for m in schemes_
                if m["issueTypeSchemeId"] == entry["issueTypeScheme"]["id"]
            }
            for pid in entry["projectIds"]:
                project = await get(c, f"/project/{pid}")
                assert {t["id"] for t in project["issueTypes"]} <= scheme_types
        items = (await get(c, "/fieldconfiguration/10000/fields?maxResults=1000"))["values"]
        assert {i["id"] for i in items} == field_ids
        assert next(i for i in items if i["id"] == "summary")["isRequired"] is True


async def test_workflows_match_the_transitions_issues_offer(site: Sandbox, client_for: Any) -> None:
    async with client_for(site) as c:
        workflows = (await get(c, "/workflow/search?expand=transitions,statuses,projects"))[
            "values"
        ]
        statuses = {s["id"] for s in await get(c, "/status")}
        for wf in workflows:
            assert {s["id"] for s in wf["statuses"]} <= statuses
        schemes_ = (await get(c, "/workflowscheme/project?projectId=10000"))["values"]
        default = schemes_[0]["workflowScheme"]["defaultWorkflow"]
        eng_wf = next(w for w in workflows if w["id"]["name"] == default)
        assert "ENG" in {p["key"] for p in eng_wf["projects"]}
        offered = await get(c, "/issue/ENG-1/transitions")
        names = {t["name"] for t in eng_wf["transitions"]}
        assert {t["name"] for t in offered["transitions"]} <= names


async def test_dashboards_are_owned_by_leads_and_follow_access(
    site: Sandbox, client_for: Any
) -> None:
    store = site.store
    async with client_for(site) as c:
        page = await get(c, "/dashboard?maxResults=100")
        assert page["total"] == len(store.projects) + 1
        owned = [d for d in page["dashboards"] if not d["systemDashboard"]]
        for d in owned:
            project = store.project(d["sharePermissions"][0]["project"]["key"])
            assert d["owner"]["accountId"] == project["lead"]["accountId"]  # type: ignore[index]
    async with client_for(site, auth=outsider(site)) as c:
        page = await get(c, "/dashboard?maxResults=100")
        assert "MKT" not in {
            d["sharePermissions"][0].get("project", {}).get("key") for d in page["dashboards"]
        }
        await get(c, "/dashboard/10003", 404)  # the MKT dashboard


async def test_paged_versions_and_components_count_what_is_there(
    site: Sandbox, client_for: Any
) -> None:
    store = site.store
    eng = store.project("ENG")
    assert eng is not None
    async with client_for(site) as c:
        seen: list[str] = []
        url = "/project/ENG/version?maxResults=1"
        while url:
            page = await get(c, url)
            seen += [v["id"] for v in page["values"]]
            url = page.get("nextPage", "").split("/rest/api/3")[-1] if not page["isLast"] else ""
        assert seen == sorted((v["id"] for v in eng["versions"]), key=int)
        released = await get(c, "/project/ENG/version?status=released")
        assert all(v["released"] for v in released["values"])
        comps = (await get(c, "/project/ENG/component?maxResults=50"))["values"]
        for comp in comps:
            r = await c.post(
                P + "/search/approximate-count",
                json={"jql": f'project = ENG AND component = "{comp["name"]}"'},
            )
            assert comp["issueCount"] == r.json()["count"]
        labels = (await get(c, "/label?maxResults=1000"))["values"]
        assert labels == sorted({x for r in store.issues.values() for x in r.fields["labels"]})
        r = await c.put(P + "/issue/ENG-1", json={"update": {"labels": [{"add": "zz-new"}]}})
        assert r.status_code == 204
        assert "zz-new" in (await get(c, "/label?maxResults=1000"))["values"]


async def test_security_levels_follow_membership(site: Sandbox, client_for: Any) -> None:
    async with client_for(site) as c:
        levels = (await get(c, "/project/ENG/securitylevel"))["levels"]
        assert {lv["name"] for lv in levels} == {"Staff", "Administrators"}
        assert (await get(c, "/project/MKT/securitylevel"))["levels"] == []  # business
    async with client_for(site, auth=outsider(site)) as c:
        levels = (await get(c, "/project/ENG/securitylevel"))["levels"]
        assert {lv["name"] for lv in levels} == {"Staff"}


async def test_legacy_createmeta_matches_the_paged_one(site: Sandbox, client_for: Any) -> None:
    async with client_for(site) as c:
        meta = await get(c, "/issue/createmeta?projectKeys=ENG&expand=projects.issuetypes.fields")
        (project,) = meta["projects"]
        assert project["key"] == "ENG"
        for itype in project["issuetypes"]:
            paged = await get(c, f"/issue/createmeta/ENG/issuetypes/{itype['id']}?maxResults=200")
            assert set(itype["fields"]) == {f["fieldId"] for f in paged["fields"]}
        bugs = await get(c, "/issue/createmeta?issuetypeNames=Bug")
        assert {t["name"] for p in bugs["projects"] for t in p["issuetypes"]} == {"Bug"}
        assert "fields" not in bugs["projects"][0]["issuetypes"][0]
    async with client_for(site, auth=outsider(site)) as c:
        meta = await get(c, "/issue/createmeta")
        assert "MKT" not in {p["key"] for p in meta["projects"]}


async def test_issue_properties_round_trip(site: Sandbox, client_for: Any) -> None:
    async with client_for(site) as c:
        url = P + "/issue/ENG-2/properties/triage"
        assert (await c.put(url, json={"score": 3})).status_code == 201
        assert (await c.put(url, json={"score": 4, "tags": ["a"]})).status_code == 200
        assert (await c.get(url)).json() == {"key": "triage", "value": {"score": 4, "tags": ["a"]}}
        keys = (await c.get(P + "/issue/ENG-2/properties")).json()["keys"]
        assert [k["key"] for k in keys] == ["triage"]
        too_big = await c.put(url, json={"x": "y" * 40_000})
        assert too_big.status_code == 400 and "32768 bytes" in too_big.text
        saved = Store.from_json(site.store.to_json())
        assert saved.issue_properties == site.store.issue_properties
        assert (await c.delete(url)).status_code == 204
        assert (await c.get(url)).status_code == 404
        assert (await c.delete(url)).status_code == 404
        assert (await c.get(P + "/issue/ENG-2/properties")).json() == {"keys": []}
        await c.put(url, json=1)
        sid = site.store.issue("ENG-2").sid  # type: ignore[union-attr]
        assert site.store.issue_properties[sid] == {"triage": 1}
        assert (await c.delete(P + "/issue/ENG-2?deleteSubtasks=true")).status_code == 204
        assert sid not in site.store.issue_properties
    async with client_for(site, auth=outsider(site)) as c:
        mkt = next(site.store.iter_project_issues(10002)).key
        r = await c.put(P + f"/issue/{mkt}/properties/x", json=1)
        assert r.status_code == 404


async def test_project_categories_are_the_ones_projects_are_filed_under(
    site: Sandbox, client_for: Any
) -> None:
    async with client_for(site) as c:
        categories = {x["id"]: x for x in await get(c, "/projectCategory")}
        projects = (await get(c, "/project/search?maxResults=100"))["values"]
        filed = {p["key"]: p["projectCategory"] for p in projects}
        assert all(cat == categories[cat["id"]] for cat in filed.values())
        assert {cat["id"] for cat in filed.values()} == set(categories)  # every one in use
        assert (await get(c, "/project/MKT"))["projectCategory"]["name"] == "Business"
        lead = site.admin_account_id
        body = {"key": "CAT", "name": "Cat", "leadAccountId": lead, "categoryId": 10001}
        assert (await c.post(P + "/project", json=body)).status_code == 201
        assert (await get(c, "/project/CAT"))["projectCategory"] == categories["10001"]
        r = await c.put(P + "/project/CAT", json={"categoryId": "10000"})
        assert r.status_code == 200 and r.json()["projectCategory"] == categories["10000"]
        r = await c.put(P + "/project/CAT", json={"description": "kept"})
        assert r.json()["projectCategory"] == categories["10000"]
        r = await c.put(P + "/project/CAT", json={"categoryId": -1})  # the spec's "none"
        assert r.status_code == 200 and "projectCategory" not in r.json()
        r = await c.put(P + "/project/CAT", json={"categoryId": 99})
        assert r.status_code == 400
        assert r.json()["errors"] == {
            "categoryId": "The project category with ID 99 does not exist."
        }
        bare = {"key": "NOCAT", "name": "No cat", "leadAccountId": lead}
        assert (await c.post(P + "/project", json=bare)).status_code == 201
        assert "projectCategory" not in await get(c, "/project/NOCAT")
