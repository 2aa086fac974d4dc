"""The rest of issue 5's resources over real HTTP against the served sandbox, sync and
async: worklogs (CRUD, changed/deleted since, bulk list), changelogs (paged per issue,
bulkfetch by field), users, groups (create, find, delete with a swap group), site and
project metadata, createmeta/editmeta, JQL services, links, watchers and votes,
comments and rich text. Other files cover the rest (see the docstrings of
test_client_*_http.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client import Text, Wiki
from jirakit.errors import BadRequest, NotFound
from jirakit.sandbox import FrozenClock, Sandbox

START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
STORY_POINTS = "customfield_10028"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    with Sandbox(seed=4, issues=30, clock=FrozenClock(START)) as sandbox, sandbox.serve() as url:
        yield sandbox, url


def _jira(site: tuple[Sandbox, str]) -> Jira:
    return Jira(site[1], auth=BasicAuth(*site[0].auth))


def _ajira(site: tuple[Sandbox, str]) -> AsyncJira:
    return AsyncJira(site[1], auth=BasicAuth(*site[0].auth))


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _adf_marks(doc: dict) -> list[list[dict]]:
    return [n.get("marks", []) for n in doc["content"][0]["content"]]


# -- worklogs ------------------------------------------------------------------------------


def test_worklogs(site: tuple[Sandbox, str]):
    sandbox, _ = site
    clock = sandbox.clock
    assert isinstance(clock, FrozenClock)
    since = _ms(clock.now())
    with _jira(site) as jira:
        me = jira.myself().account_id
        logged = jira.worklogs.add(
            "ENG-1", 3600, clock.now() - timedelta(hours=2), comment="Fixed **it**"
        )
        assert logged.time_spent_seconds == 3600 and logged.author is not None
        assert logged.author.account_id == me
        assert logged.raw["comment"]["content"][0]["content"][1]["marks"] == [{"type": "strong"}]
        assert logged.id in [w.id for w in jira.worklogs.list("ENG-1")]
        changed = jira.worklogs.update("ENG-1", logged.id, seconds=7200, comment=Text("a\nb"))
        assert changed.time_spent_seconds == 7200
        doomed = jira.worklogs.add("ENG-2", 600, clock.now() - timedelta(hours=1))
        jira.worklogs.delete("ENG-2", doomed.id)
        assert doomed.id not in [w.id for w in jira.worklogs.list("ENG-2")]
        with pytest.raises(NotFound):
            jira.worklogs.delete("ENG-2", doomed.id)

        # Jira leaves out the last minute of changes
        assert int(logged.id) not in {c.worklog_id for c in jira.worklogs.updated_since(since)}
        clock.advance(minutes=2)
        updated = {c.worklog_id: c.updated_ms for c in jira.worklogs.updated_since(since)}
        assert int(logged.id) in updated and int(doomed.id) not in updated
        assert all(ms >= since for ms in updated.values())
        deleted = [c.worklog_id for c in jira.worklogs.deleted_since(since)]
        assert deleted == [int(doomed.id)]
        [fetched] = jira.worklogs.by_ids([int(logged.id)])
        assert fetched.time_spent_seconds == 7200
        assert fetched.issue_id == jira.issues.get("ENG-1", fields=["summary"]).id


async def test_async_worklogs(site: tuple[Sandbox, str]):
    sandbox, _ = site
    clock = sandbox.clock
    assert isinstance(clock, FrozenClock)
    since = _ms(clock.now())
    async with _ajira(site) as ajira:
        logged = await ajira.worklogs.add("ENG-3", 900, clock.now(), comment="async")
        assert logged.id in [w.id async for w in ajira.worklogs.list("ENG-3")]
        assert (await ajira.worklogs.update("ENG-3", logged.id, seconds=1800)).time_spent_seconds
        doomed = await ajira.worklogs.add("ENG-3", 60, clock.now())
        await ajira.worklogs.delete("ENG-3", doomed.id)
        clock.advance(minutes=2)
        updated = [c.worklog_id async for c in ajira.worklogs.updated_since(since)]
        assert int(logged.id) in updated and int(doomed.id) not in updated
        assert [c.worklog_id async for c in ajira.worklogs.deleted_since(since)] == [int(doomed.id)]
        [fetched] = await ajira.worklogs.by_ids([int(logged.id)])
        assert fetched.time_spent_seconds == 1800


# -- changelogs ----------------------------------------------------------------------------


def test_changelogs_paged_per_issue_and_in_bulk_by_field(site: tuple[Sandbox, str]):
    with _jira(site) as jira:
        key = jira.issues.create(project="ENG", summary="s0", issue_type="Task").key
        for n in range(1, 106):
            jira.issues.edit(key, summary=f"s{n}")
        jira.issues.edit(key, labels=["history"])
        entries = jira.changelogs.list(key)
        changed = [i["field"] for e in entries for i in e["items"]]
        assert entries.pages == 2  # 106 entries, 100 a page
        assert changed == ["summary"] * 105 + ["labels"]
        first = jira.changelogs.list(key).all()[0]["items"][0]
        assert (first["fromString"], first["toString"]) == ("s0", "s1")

        pages = list(jira.changelogs.bulk_fetch([key, "ENG-1"], field_ids=["labels"]))
        mine = next(p for p in pages if p.issue_id == jira.issues.get(key, fields=["id"]).id)
        assert [item["field"] for _, _, item in mine.items()] == ["labels"]
        everything = list(jira.changelogs.bulk_fetch([key]))
        assert sum(1 for p in everything for _ in p.items()) == 106


async def test_async_changelogs(site: tuple[Sandbox, str]):
    async with _ajira(site) as ajira:
        key = (await ajira.issues.create(project="ENG", summary="a0", issue_type="Task")).key
        await ajira.issues.edit(key, summary="a1")
        await ajira.issues.edit(key, labels=["x"])
        entries = [e async for e in ajira.changelogs.list(key)]
        assert [i["field"] for e in entries for i in e["items"]] == ["summary", "labels"]
        pages = [p async for p in ajira.changelogs.bulk_fetch([key], field_ids=["summary"])]
        assert [item["toString"] for p in pages for _, _, item in p.items()] == ["a1"]


# -- users ---------------------------------------------------------------------------------


def _someone(sandbox: Sandbox) -> dict:
    return next(
        u
        for u in sandbox.store.users.values()
        if u.get("emailAddress") and u["accountId"] != sandbox.admin_account_id
    )


def test_users(site: tuple[Sandbox, str]):
    sandbox, _ = site
    person = _someone(sandbox)
    with _jira(site) as jira:
        found = jira.users.find(person["emailAddress"])
        assert [u.account_id for u in found] == [person["accountId"]]
        assert jira.users.get(person["accountId"]).display_name == person["displayName"]
        ids = [person["accountId"], sandbox.admin_account_id]
        assert {u.account_id for u in jira.users.bulk(ids)} == set(ids)
        everyone = jira.users.all().all()
        assert {u.account_id for u in everyone} == set(sandbox.store.users)
        with pytest.raises(NotFound):
            jira.users.get("no-such-account")


async def test_async_users(site: tuple[Sandbox, str]):
    sandbox, _ = site
    person = _someone(sandbox)
    async with _ajira(site) as ajira:
        found = await ajira.users.find(person["displayName"].split()[0])
        assert person["accountId"] in {u.account_id for u in found}
        assert (await ajira.users.get(person["accountId"])).email == person["emailAddress"]
        assert [u.account_id async for u in ajira.users.bulk([person["accountId"]])] == [
            person["accountId"]
        ]
        assert len(await ajira.users.all().aall()) == len(sandbox.store.users)


# -- groups --------------------------------------------------------------------------------


def test_groups_create_find_delete(site: tuple[Sandbox, str]):
    sandbox, _ = site
    person = _someone(sandbox)
    with _jira(site) as jira:
        made = jira.groups.create("qa-Leads")
        assert made["name"] == "qa-Leads" and made["groupId"]
        assert made["self"].endswith(f"/group?groupId={made['groupId']}")
        with pytest.raises(BadRequest, match="A group or user with this name already exists"):
            jira.groups.create("QA-leads")
        heirs = jira.groups.create("qa-everyone")
        assert [g["name"] for g in jira.groups.find("qa-")] == ["qa-everyone", "qa-Leads"]
        assert [g["name"] for g in jira.groups.find("QA-L")] == ["qa-Leads"]  # any case
        assert jira.groups.find("qa", exclude=["qa-everyone"])[0]["name"] == "qa-Leads"
        assert len(jira.groups.find("", limit=2)) == 2
        jira.groups.add_user("qa-Leads", person["accountId"])
        assert [u.account_id for u in jira.groups.members("qa-Leads")] == [person["accountId"]]

        # comments visible only to the deleted group move to the swap group
        secret = jira.comments.add(
            "ENG-4", "leads only", visibility={"type": "group", "value": "qa-Leads"}
        )
        jira.groups.delete("qa-Leads", swap_group="qa-everyone")
        moved = jira.comments.get("ENG-4", secret.id).raw["visibility"]
        assert moved == {"type": "group", "value": "qa-everyone", "identifier": heirs["groupId"]}
        assert jira.groups.find("qa-") == [
            {
                "name": "qa-everyone",
                "html": "<b>qa-</b>everyone",
                "labels": [],
                "groupId": heirs["groupId"],
            }
        ]
        with pytest.raises(NotFound):
            jira.groups.members("qa-Leads").all()
        with pytest.raises(NotFound, match="Specified group does not exist"):
            jira.groups.delete("qa-Leads")
        with pytest.raises(BadRequest, match="does not exist"):
            jira.groups.delete("qa-everyone", swap_group="no-such-group")
        jira.groups.delete("qa-everyone")
        assert jira.groups.find("qa-") == []


async def test_async_groups(site: tuple[Sandbox, str]):
    async with _ajira(site) as ajira:
        made = await ajira.groups.create("async-crew")
        assert [g["groupId"] for g in await ajira.groups.find("async")] == [made["groupId"]]
        with pytest.raises(BadRequest):
            await ajira.groups.create("async-crew")
        await ajira.groups.delete("async-crew")
        assert await ajira.groups.find("async") == []
        with pytest.raises(NotFound):
            await ajira.groups.delete("async-crew")


# -- site and project metadata, create/edit metadata ----------------------------------------


def test_site_and_project_metadata(site: tuple[Sandbox, str]):
    sandbox, _ = site
    with _jira(site) as jira:
        statuses = {s.name: s.category for s in jira.meta.statuses()}
        assert {"To Do", "In Progress", "Done"} <= set(statuses)
        assert statuses["Done"] == "done"
        assert {c["key"] for c in jira.meta.status_categories()} >= {"new", "done"}
        assert [p.name for p in jira.meta.priorities()] == [
            p["name"] for p in sandbox.store.priorities.values()
        ]
        assert {r.name for r in jira.meta.resolutions()} == {
            r["name"] for r in sandbox.store.resolutions.values()
        }
        assert {"Bug", "Task", "Story"} <= {t.name for t in jira.meta.issue_types()}

        per_type = jira.projects.statuses("ENG")
        assert {t["name"] for t in per_type} >= {"Bug", "Task"}
        assert all("To Do" in [s["name"] for s in t["statuses"]] for t in per_type)
        with pytest.raises(NotFound):
            jira.projects.statuses("NOPE")
        project = jira.projects.get("ENG")
        assert project.key == "ENG" and project.name == "Engineering Platform"
        assert "ENG" in [p.key for p in jira.projects.list()]
        stored = sandbox.store.project("ENG")
        assert stored is not None
        assert [c["name"] for c in jira.projects.components("ENG")] == [
            c["name"] for c in stored["components"]
        ]
        assert [v["name"] for v in jira.projects.versions("ENG")] == [
            v["name"] for v in stored["versions"]
        ]


async def test_async_metadata(site: tuple[Sandbox, str]):
    sandbox, _ = site
    store = sandbox.store
    async with _ajira(site) as ajira:
        assert "Done" in [s.name for s in await ajira.meta.statuses()]
        categories = await ajira.meta.status_categories()
        assert sorted((c["id"], c["key"], c["name"]) for c in categories) == sorted(
            (c["id"], c["key"], c["name"]) for c in store.status_categories.values()
        )
        assert [p.name for p in await ajira.meta.priorities()] == [
            p["name"] for p in store.priorities.values()
        ]
        resolutions = await ajira.meta.resolutions()
        assert sorted((r.id, r.name) for r in resolutions) == sorted(
            (r["id"], r["name"]) for r in store.resolutions.values()
        )
        assert "Bug" in [t.name for t in await ajira.meta.issue_types()]
        per_type = await ajira.projects.statuses("OPS")
        assert per_type and all(t["statuses"] for t in per_type)
        assert (await ajira.projects.get("OPS")).name == "Operations"
        assert "OPS" in [p.key async for p in ajira.projects.list()]
        stored = store.project("OPS")
        assert stored is not None and stored["components"] and stored["versions"]
        components = await ajira.projects.components("OPS")
        assert [(c["id"], c["name"]) for c in components] == [
            (c["id"], c["name"]) for c in stored["components"]
        ]
        versions = await ajira.projects.versions("OPS")
        assert [(v["id"], v["name"]) for v in versions] == [
            (v["id"], v["name"]) for v in stored["versions"]
        ]

        types = await ajira.issues.createmeta("ENG").aall()
        bug = next(t for t in types if t["name"] == "Bug")
        fields = {f["fieldId"]: f async for f in ajira.issues.createmeta_fields("ENG", bug["id"])}
        assert fields["summary"]["required"] is True and fields["priority"]["allowedValues"]
        editable = await ajira.issues.editmeta("ENG-1")
        assert "set" in editable["summary"]["operations"]


# -- JQL services, links, watchers and votes ----------------------------------------------


async def test_async_jql_services(site: tuple[Sandbox, str]):
    async with _ajira(site) as ajira:
        parsed = await ajira.filters.parse_jql(["project = ENG ORDER BY key", "status = "])
        assert "structure" in parsed[0] and not parsed[0].get("errors")
        assert parsed[1]["errors"]
        data = await ajira.filters.autocomplete()
        assert any(f["value"] == "project" for f in data["visibleFieldNames"])


async def test_async_links_watchers_and_votes(site: tuple[Sandbox, str]):
    sandbox, _ = site
    async with _ajira(site) as ajira:
        assert "Blocks" in {t["name"] for t in await ajira.links.types()}
        await ajira.links.create("Blocks", "ENG-6", "ENG-7", comment="async **link**")
        raw = (await ajira.issues.get("ENG-6", fields=["issuelinks"])).fields["issuelinks"]
        [link] = [x for x in raw if (x.get("outwardIssue") or {}).get("key") == "ENG-7"]
        assert (await ajira.links.get(link["id"]))["type"]["name"] == "Blocks"
        await ajira.links.delete(link["id"])
        with pytest.raises(NotFound):
            await ajira.links.get(link["id"])

        me = (await ajira.myself()).account_id
        assert me is not None
        await ajira.watchers.add("ENG-6", me)
        await ajira.watchers.remove("ENG-6", me)
        assert me not in {u.account_id for u in await ajira.watchers.list("ENG-6")}
        theirs = next(
            r.key
            for r in sandbox.store.issues.values()
            if (r.fields.get("reporter") or {}).get("accountId") not in (None, me)
        )
        before = (await ajira.watchers.votes(theirs))["votes"]
        await ajira.watchers.vote(theirs)
        assert (await ajira.watchers.votes(theirs))["votes"] == before + 1
        await ajira.watchers.unvote(theirs)
        assert (await ajira.watchers.votes(theirs))["votes"] == before


# -- comments, rich text and transitions (async; sync in test_client_richtext.py) ----------


async def test_async_rich_text_comments_and_transitions(site: tuple[Sandbox, str]):
    async with _ajira(site) as ajira:
        created = await ajira.issues.create(
            project="ENG",
            summary="async rich",
            issue_type="Story",
            description="Intro with `code`",
            fields={"environment": Text("macOS\nSafari"), "Root cause (analysis)": "*why*"},
        )
        issue = await ajira.issues.get(created.key)
        assert _adf_marks(issue.description)[1] == [{"type": "code"}]
        assert issue.fields["environment"]["content"][0]["content"][1] == {"type": "hardBreak"}
        comment = await ajira.comments.add(created.key, "First **take**")
        assert _adf_marks(comment.body)[1] == [{"type": "strong"}]
        edited = await ajira.comments.update(created.key, comment.id, Wiki("Second _take_"))
        assert _adf_marks(edited.body)[1] == [{"type": "em"}]
        assert (await ajira.comments.get(created.key, comment.id)).body == edited.body
        await ajira.comments.delete(created.key, comment.id)
        assert [c.id async for c in ajira.comments.list(created.key)] == []

        names = [t.name for t in await ajira.transitions.list(created.key)]
        assert names
        await ajira.transitions.do(
            created.key, to="In Progress", fields={"Story Points": 8}, comment="Started **now**"
        )
        moved = await ajira.issues.get(created.key, fields=["status", STORY_POINTS, "comment"])
        assert moved.status is not None and moved.status.name == "In Progress"
        assert moved.fields[STORY_POINTS] == 8
        [note] = [c async for c in ajira.comments.list(created.key)]
        assert _adf_marks(note.body)[1] == [{"type": "strong"}]


# -- the core the helpers stand on: issues, comments, search, fields ------------------------


def test_issue_comment_search_and_field_basics(site: tuple[Sandbox, str]):
    with _jira(site) as jira:
        fmap = jira.fields.map()
        assert fmap.names[STORY_POINTS] == "Story Points"
        assert jira.fields.id_of("story points") == STORY_POINTS
        assert STORY_POINTS in {f.id for f in jira.fields.list()}
        key = jira.issues.create(project="ENG", summary="basics", issue_type="Task").key
        note = jira.comments.add(key, "one")
        edited = jira.comments.update(key, note.id, Text("two *stars*"))
        assert edited.body["content"][0]["content"] == [{"type": "text", "text": "two *stars*"}]
        jira.comments.delete(key, note.id)
        with pytest.raises(NotFound):
            jira.comments.get(key, note.id)
        assert "In Progress" in [t.to.name for t in jira.transitions.list(key) if t.to]
        page = jira.search.page(f"key = {key}", fields=["summary"])
        assert [i.summary for i in page.issues] == ["basics"] and page.is_last
        every = [i.key for i in jira.search.iter("project = ENG", fields=["summary"])]
        assert key in every and jira.search.count("project = ENG") == len(every)
        assert [i.key for i in jira.issues.bulk_fetch([key], fields=["summary"]).issues] == [key]
        jira.issues.delete(key)
        with pytest.raises(NotFound):
            jira.issues.get(key)


async def test_async_issue_comment_search_and_field_basics(site: tuple[Sandbox, str]):
    async with _ajira(site) as ajira:
        assert (await ajira.fields.map()).id_of("Customer Tier") == "customfield_10030"
        assert await ajira.fields.id_of("STORY POINTS") == STORY_POINTS
        assert STORY_POINTS in {f.id for f in await ajira.fields.list()}
        made = await ajira.filters.create("async basics", "project = OPS")
        assert (await ajira.filters.get(made["id"]))["jql"] == "project = OPS"
        await ajira.filters.delete(made["id"])
        key = (await ajira.issues.create(project="OPS", summary="abasics", issue_type="Task")).key
        page = await ajira.search.page(f"key = {key}", fields=["summary"])
        assert [i.key for i in page.issues] == [key]
        assert await ajira.search.count("project = OPS") >= 1
        fetched = await ajira.issues.bulk_fetch([key], fields=["summary"])
        assert [i.summary for i in fetched.issues] == ["abasics"]
        await ajira.issues.delete(key)
        with pytest.raises(NotFound):
            await ajira.issues.get(key)
