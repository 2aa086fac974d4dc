"""Links, watchers, votes, groups and JQL parsing against the served sandbox (sync and
async), plus filters against a strict router (over HTTP: test_client_admin_http.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.errors import BadRequest
from jirakit.sandbox import Sandbox


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, Sandbox]]:
    sandbox = Sandbox(seed=9, issues=30)
    with sandbox.serve() as url:
        yield url, sandbox


def test_issue_links_both_ways(site):
    url, sandbox = site
    with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        names = {t["name"] for t in jira.links.types()}
        assert "Blocks" in names
        jira.links.create("Blocks", "ENG-1", "ENG-2", comment="found while testing")
        source = jira.issues.get("ENG-1", fields=["issuelinks"]).fields["issuelinks"]
        mine = [link for link in source if (link.get("outwardIssue") or {}).get("key") == "ENG-2"]
        assert mine and mine[0]["type"]["name"] == "Blocks"
        target = jira.issues.get("ENG-2", fields=["issuelinks"]).fields["issuelinks"]
        assert any((link.get("inwardIssue") or {}).get("key") == "ENG-1" for link in target)
        link_id = mine[0]["id"]
        assert jira.links.get(link_id)["type"]["name"] == "Blocks"
        jira.links.delete(link_id)
        after = jira.issues.get("ENG-1", fields=["issuelinks"]).fields["issuelinks"]
        assert all(link["id"] != link_id for link in after)


def test_watchers_and_votes(site):
    url, sandbox = site
    with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        me = jira.myself().account_id
        assert me is not None
        jira.watchers.add("ENG-3", me)
        assert me in {u.account_id for u in jira.watchers.list("ENG-3")}
        jira.watchers.remove("ENG-3", me)
        assert me not in {u.account_id for u in jira.watchers.list("ENG-3")}
        theirs = next(
            i.key
            for i in jira.search.iter("project = ENG", fields=["reporter"])
            if i.reporter is not None and i.reporter.account_id != me
        )
        before = jira.watchers.votes(theirs)["votes"]
        jira.watchers.vote(theirs)
        assert jira.watchers.votes(theirs)["votes"] == before + 1
        jira.watchers.unvote(theirs)
        assert jira.watchers.votes(theirs)["votes"] == before


def test_group_members_and_jql_parse(site):
    url, sandbox = site
    with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        group = next(iter(sandbox.store.groups))
        members = jira.groups.members(group).all()
        assert members and all(m.account_id for m in members)
        parsed = jira.filters.parse_jql(["project = ENG", "project = "])
        assert "structure" in parsed[0] and not parsed[0].get("errors")
        assert parsed[1]["errors"] and "JQL" in parsed[1]["errors"][0]


async def test_async_twins_over_http(site):
    url, sandbox = site
    async with AsyncJira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        me = (await jira.myself()).account_id
        assert me is not None
        await jira.links.create("Relates", "ENG-4", "ENG-5")
        links = (await jira.issues.get("ENG-4", fields=["issuelinks"])).fields["issuelinks"]
        assert any((link.get("outwardIssue") or {}).get("key") == "ENG-5" for link in links)
        await jira.watchers.add("ENG-4", me)
        assert me in {u.account_id for u in await jira.watchers.list("ENG-4")}
        group = next(iter(sandbox.store.groups))
        assert [m async for m in jira.groups.members(group)]


def test_filters_and_group_changes_against_the_router(router: Router):
    router.add(
        "POST",
        "/rest/api/3/filter",
        ok({"id": "10", "name": "Mine", "jql": "assignee = currentUser()"}),
    )
    router.add("GET", "/rest/api/3/filter/10", ok({"id": "10", "name": "Mine"}))
    router.add("PUT", "/rest/api/3/filter/10", ok({"id": "10", "name": "Renamed"}))
    router.add("GET", "/rest/api/3/filter/search", ok({"isLast": True, "values": [{"id": "10"}]}))
    router.add("DELETE", "/rest/api/3/filter/10", ok(status=204))
    router.add("POST", "/rest/api/3/group/user", ok({"name": "devs"}, 201))
    router.add("DELETE", "/rest/api/3/group/user", ok(status=200))
    router.add(
        "GET",
        "/rest/api/3/jql/autocompletedata",
        ok({"visibleFieldNames": [], "jqlReservedWords": ["and"]}),
    )
    router.add(
        "POST", "/rest/api/3/filter", ok({"errorMessages": ["The filter name is taken."]}, 400)
    )
    with Jira(BASE, auth=BasicAuth("me@acme.com", "tok"), transport=router.transport()) as jira:
        created = jira.filters.create("Mine", "assignee = currentUser()", favourite=True)
        assert created["id"] == "10"
        assert jira.filters.get("10")["name"] == "Mine"
        assert jira.filters.update("10", name="Renamed")["name"] == "Renamed"
        assert [f["id"] for f in jira.filters.search("Mine")] == ["10"]
        jira.filters.delete("10")
        jira.groups.add_user("devs", "acc-1")
        jira.groups.remove_user("devs", "acc-1")
        assert router.requests[-1].url.params["accountId"] == "acc-1"
        assert "and" in jira.filters.autocomplete()["jqlReservedWords"]
        with pytest.raises(BadRequest, match="filter name is taken"):
            jira.filters.create("Mine", "x = 1")
    assert router.pending() == []
