"""The rendered-issue cache (`jirakit.sandbox.views.ViewCache`): whatever a mutation
touches (the issue itself, a neighbour its view embeds, or an object many issues share),
the next search page and GET issue show it.

Each case renders the ENG page twice (the second time from the cache, which is checked
to be in use), mutates through the REST API (or, for users, as the Sandbox API documents:
change the store, then `Store.changed`), and reads the page again: the change is visible
where expected, and the whole page equals what an empty cache renders now."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox.store import IssueRecord
from jirakit.sandbox.views import ViewCache

BASE = "http://sandbox.test"  # tests/sandbox/conftest.py
JQL = "project = ENG ORDER BY key"
Page = dict[str, dict[str, Any]]


async def page(client: httpx.AsyncClient, **extra: Any) -> Page:
    r = await client.get(
        "/rest/api/3/search/jql",
        params={"jql": JQL, "fields": "*all", "maxResults": 100, **extra},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["isLast"] is True  # the whole project on one page
    return {i["key"]: i for i in body["issues"]}


def fresh(sb: Sandbox, keys: list[str], now: Any, version: int = 3) -> Page:
    """The issues as an empty cache renders them now (the search route's parameters)."""
    cache = ViewCache(sb.store)
    recs = [sb.store.issue(k) for k in keys]
    texts = cache.issue_jsons(
        [r for r in recs if r is not None],
        version=version,
        selected=cache.select(["*all"], "id"),
        viewer=sb.admin_account_id,
        base=BASE,
        api=f"{BASE}/rest/api/{version}",
        caps=True,
        now=now,
    )
    return {(d := json.loads(t))["key"]: d for t in texts}


@dataclass
class Picks:
    """ENG issues with the relationships the cases need."""

    parent: IssueRecord  # has `child` as a sub-task
    child: IssueRecord
    other_parent: IssueRecord  # a standard issue unrelated to the two above
    a: IssueRecord  # two plain issues, not linked to each other
    b: IssueRecord
    in_sprint: IssueRecord  # in an open sprint
    with_option: IssueRecord  # has a "Customer Tier" (select) value


def picks(sb: Sandbox) -> Picks:
    s = sb.store
    eng = int(s.project("ENG")["id"])  # type: ignore[index]
    recs = list(s.iter_project_issues(eng))
    child = next(
        r
        for r in recs
        if r.fields["issuetype"]["subtask"]
        and r.parent_id is not None
        and s.issues[r.parent_id].project_id == eng
    )
    assert child.parent_id is not None
    parent = s.issues[child.parent_id]
    plain = [
        r
        for r in recs
        if not r.fields["issuetype"]["subtask"]
        and r.parent_id is None
        and r.id != parent.id
        and not r.links
        and not s.children.get(r.id)
    ]
    in_sprint = next(
        r for r in recs if any(sp["state"] != "closed" for sp in r.fields.get(SPRINT) or ())
    )
    with_option = next(r for r in recs if r.fields.get(TIER))
    return Picks(parent, child, plain[0], plain[1], plain[2], in_sprint, with_option)


SPRINT = "customfield_10020"
TIER = "customfield_10030"  # select: Customer Tier
Mutate = Callable[[httpx.AsyncClient, Sandbox, Picks], Awaitable[Any]]
Check = Callable[[Page, Page, Picks, Any], None]


def nested(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(i for i in items if i["key"] == key)


def link_keys(issue: dict[str, Any]) -> set[str]:
    out = set()
    for link in issue["fields"]["issuelinks"]:
        end = link.get("outwardIssue") or link.get("inwardIssue")
        out.add(end["key"])
    return out


# -- the cases: (mutation, what must show) ----------------------------------------------


async def edit_child_summary(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.put(f"/rest/api/3/issue/{p.child.key}", json={"fields": {"summary": "Renamed"}})
    assert r.status_code == 204, r.text


def check_child_summary(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert after[p.child.key]["fields"]["summary"] == "Renamed"
    # the parent embeds its sub-tasks' summaries: re-rendered too
    was = nested(before[p.parent.key]["fields"]["subtasks"], p.child.key)
    entry = nested(after[p.parent.key]["fields"]["subtasks"], p.child.key)
    assert was["fields"]["summary"] != "Renamed"
    assert entry["fields"]["summary"] == "Renamed"


async def transition_child(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    got = (await c.get(f"/rest/api/3/issue/{p.child.key}/transitions")).json()["transitions"]
    current = p.child.fields["status"]["id"]
    target = next(t for t in got if t["to"]["id"] != current)
    r = await c.post(
        f"/rest/api/3/issue/{p.child.key}/transitions", json={"transition": {"id": target["id"]}}
    )
    assert r.status_code == 204, r.text
    return target["to"]["name"]


def check_transition(before: Page, after: Page, p: Picks, status: Any) -> None:
    assert after[p.child.key]["fields"]["status"]["name"] == status
    entry = nested(after[p.parent.key]["fields"]["subtasks"], p.child.key)
    assert entry["fields"]["status"]["name"] == status
    assert after[p.child.key]["fields"]["updated"] != before[p.child.key]["fields"]["updated"]


async def rename_parent(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.put(f"/rest/api/3/issue/{p.parent.key}", json={"fields": {"summary": "Epic-ish"}})
    assert r.status_code == 204, r.text


def check_parent_renamed(before: Page, after: Page, p: Picks, _: Any) -> None:
    # the child embeds its parent's summary
    assert after[p.child.key]["fields"]["parent"]["fields"]["summary"] == "Epic-ish"
    assert before[p.child.key]["fields"]["parent"]["fields"]["summary"] != "Epic-ish"


async def add_comment(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    body = {"type": "doc", "version": 1, "content": [_para("cache me if you can")]}
    r = await c.post(f"/rest/api/3/issue/{p.a.key}/comment", json={"body": body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _para(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def check_comment_added(before: Page, after: Page, p: Picks, cid: Any) -> None:
    was, now = before[p.a.key]["fields"]["comment"], after[p.a.key]["fields"]["comment"]
    assert now["total"] == was["total"] + 1
    assert now["comments"][-1]["id"] == cid


async def edit_comment(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    cid = await add_comment(c, sb, p)
    await page(c)  # cached with the first text
    body = {"type": "doc", "version": 1, "content": [_para("edited text")]}
    r = await c.put(f"/rest/api/3/issue/{p.a.key}/comment/{cid}", json={"body": body})
    assert r.status_code == 200, r.text
    return cid


def check_comment_edited(before: Page, after: Page, p: Picks, cid: Any) -> None:
    [got] = [x for x in after[p.a.key]["fields"]["comment"]["comments"] if x["id"] == cid]
    assert got["body"]["content"][0]["content"][0]["text"] == "edited text"


async def delete_comment(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    cid = await add_comment(c, sb, p)
    await page(c)
    r = await c.delete(f"/rest/api/3/issue/{p.a.key}/comment/{cid}")
    assert r.status_code == 204, r.text
    return cid


def check_comment_deleted(before: Page, after: Page, p: Picks, cid: Any) -> None:
    comments = after[p.a.key]["fields"]["comment"]
    assert cid not in {x["id"] for x in comments["comments"]}
    assert comments["total"] == before[p.a.key]["fields"]["comment"]["total"]


async def log_work(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.post(
        f"/rest/api/3/issue/{p.a.key}/worklog",
        json={"timeSpentSeconds": 5400, "started": "2026-01-30T10:00:00.000+0000"},
    )
    assert r.status_code == 201, r.text


def check_worklog(before: Page, after: Page, p: Picks, _: Any) -> None:
    was, now = before[p.a.key]["fields"], after[p.a.key]["fields"]
    assert now["worklog"]["total"] == was["worklog"]["total"] + 1
    assert now["timespent"] == (was["timespent"] or 0) + 5400
    assert now["timetracking"]["timeSpentSeconds"] == now["timespent"]


async def link(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.post(
        "/rest/api/3/issueLink",
        json={
            "type": {"name": "Blocks"},
            "inwardIssue": {"key": p.a.key},
            "outwardIssue": {"key": p.b.key},
        },
    )
    assert r.status_code == 201, r.text


def check_linked(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert p.b.key not in link_keys(before[p.a.key])
    assert p.b.key in link_keys(after[p.a.key])
    assert p.a.key in link_keys(after[p.b.key])


async def rename_linked(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    await link(c, sb, p)
    await page(c)
    r = await c.put(f"/rest/api/3/issue/{p.b.key}", json={"fields": {"summary": "Linked, renamed"}})
    assert r.status_code == 204, r.text


def check_linked_renamed(before: Page, after: Page, p: Picks, _: Any) -> None:
    [end] = [
        lk.get("outwardIssue") or lk.get("inwardIssue")
        for lk in after[p.a.key]["fields"]["issuelinks"]
        if (lk.get("outwardIssue") or lk.get("inwardIssue"))["key"] == p.b.key
    ]
    assert end["fields"]["summary"] == "Linked, renamed"


async def unlink(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    await link(c, sb, p)
    await page(c)
    lid = next(iter(sb.store.issues[p.a.id].links))
    r = await c.delete(f"/rest/api/3/issueLink/{lid}")
    assert r.status_code == 204, r.text


def check_unlinked(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert p.b.key not in link_keys(after[p.a.key])
    assert p.a.key not in link_keys(after[p.b.key])


async def attach(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.post(
        f"/rest/api/3/issue/{p.a.key}/attachments",
        files={"file": ("notes.txt", b"hello", "text/plain")},
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert r.status_code == 200, r.text
    return r.json()[0]["id"]


def check_attached(before: Page, after: Page, p: Picks, att_id: Any) -> None:
    names = {a["filename"] for a in after[p.a.key]["fields"]["attachment"]}
    assert "notes.txt" in names
    assert att_id not in {a["id"] for a in before[p.a.key]["fields"]["attachment"]}


async def detach(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    att_id = await attach(c, sb, p)
    await page(c)
    r = await c.delete(f"/rest/api/3/attachment/{att_id}")
    assert r.status_code == 204, r.text
    return att_id


def check_detached(before: Page, after: Page, p: Picks, att_id: Any) -> None:
    assert att_id not in {a["id"] for a in after[p.a.key]["fields"]["attachment"]}


async def watch(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    sb.store.issues[p.a.id].watchers = []  # start from nobody
    sb.store.changed()
    await page(c)
    r = await c.post(f"/rest/api/3/issue/{p.a.key}/watchers", json=sb.admin_account_id)
    assert r.status_code == 204, r.text


def check_watched(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert after[p.a.key]["fields"]["watches"] == {
        "self": f"{BASE}/rest/api/3/issue/{p.a.key}/watchers",
        "watchCount": 1,
        "isWatching": True,
    }


async def unwatch(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    await watch(c, sb, p)
    await page(c)
    r = await c.delete(
        f"/rest/api/3/issue/{p.a.key}/watchers", params={"accountId": sb.admin_account_id}
    )
    assert r.status_code == 204, r.text


def check_unwatched(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert after[p.a.key]["fields"]["watches"]["isWatching"] is False


async def vote(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.post(f"/rest/api/3/issue/{p.a.key}/votes")
    assert r.status_code == 204, r.text


def check_voted(before: Page, after: Page, p: Picks, _: Any) -> None:
    was, now = before[p.a.key]["fields"]["votes"], after[p.a.key]["fields"]["votes"]
    assert (was["hasVoted"], now["hasVoted"]) == (False, True)
    assert now["votes"] == was["votes"] + 1


async def move_to_sprint(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    sprint = next(s for s in sb.store.sprints.values() if s["state"] == "future")
    r = await c.post(f"/rest/agile/1.0/sprint/{sprint['id']}/issue", json={"issues": [p.a.key]})
    assert r.status_code == 204, r.text
    return sprint["name"]


def check_moved(before: Page, after: Page, p: Picks, name: Any) -> None:
    names = [s["name"] for s in after[p.a.key]["fields"][SPRINT] or ()]
    assert name in names
    assert name not in [s["name"] for s in before[p.a.key]["fields"][SPRINT] or ()]


async def rename_sprint(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    sprint = next(s for s in p.in_sprint.fields[SPRINT] if s["state"] != "closed")
    r = await c.post(f"/rest/agile/1.0/sprint/{sprint['id']}", json={"name": "Sprint Zeta"})
    assert r.status_code == 200, r.text
    return sprint["id"]


def check_sprint_renamed(before: Page, after: Page, p: Picks, sid: Any) -> None:
    members = [
        k for k, i in after.items() if any(s["id"] == sid for s in i["fields"][SPRINT] or ())
    ]
    assert p.in_sprint.key in members
    for key in members:  # every issue in it, not just the one first rendered
        [s] = [s for s in after[key]["fields"][SPRINT] if s["id"] == sid]
        assert s["name"] == "Sprint Zeta"


async def rename_option(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    option = p.with_option.fields[TIER]
    r = await c.put(
        f"/rest/api/3/field/{TIER}/context/10130/option",
        json={"options": [{"id": option["id"], "value": "Unobtainium"}]},
    )
    assert r.status_code == 200, r.text
    return option["id"]


def check_option_renamed(before: Page, after: Page, p: Picks, oid: Any) -> None:
    holders = [i for i in after.values() if (i["fields"][TIER] or {}).get("id") == oid]
    assert holders
    assert all(i["fields"][TIER]["value"] == "Unobtainium" for i in holders)


async def rename_user(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    user = p.a.fields["reporter"]
    user["displayName"] = "Renamed Person"  # shared: every issue shows it
    sb.store.changed()
    return user["accountId"]


def check_user_renamed(before: Page, after: Page, p: Picks, aid: Any) -> None:
    reported = [i for i in after.values() if i["fields"]["reporter"]["accountId"] == aid]
    assert len(reported) >= 1
    assert {i["fields"]["reporter"]["displayName"] for i in reported} == {"Renamed Person"}


async def delete_child(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.delete(f"/rest/api/3/issue/{p.child.key}")
    assert r.status_code == 204, r.text


def check_child_deleted(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert p.child.key not in after
    kids = {k["key"] for k in after[p.parent.key]["fields"]["subtasks"]}
    assert p.child.key not in kids


async def create_subtask(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "ENG"},
                "issuetype": {"id": p.child.fields["issuetype"]["id"]},
                "parent": {"key": p.parent.key},
                "summary": "Fresh sub-task",
            }
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["key"]


def check_subtask_created(before: Page, after: Page, p: Picks, key: Any) -> None:
    kids = {k["key"]: k for k in after[p.parent.key]["fields"]["subtasks"]}
    assert kids[key]["fields"]["summary"] == "Fresh sub-task"


async def reparent(c: httpx.AsyncClient, sb: Sandbox, p: Picks) -> Any:
    r = await c.put(
        f"/rest/api/3/issue/{p.child.key}",
        json={"fields": {"parent": {"key": p.other_parent.key}}},
    )
    assert r.status_code == 204, r.text


def check_reparented(before: Page, after: Page, p: Picks, _: Any) -> None:
    assert p.child.key not in {k["key"] for k in after[p.parent.key]["fields"]["subtasks"]}
    assert p.child.key in {k["key"] for k in after[p.other_parent.key]["fields"]["subtasks"]}
    assert after[p.child.key]["fields"]["parent"]["key"] == p.other_parent.key


CASES: dict[str, tuple[Mutate, Check]] = {
    "edit a sub-task (its parent embeds it)": (edit_child_summary, check_child_summary),
    "transition a sub-task": (transition_child, check_transition),
    "rename a parent (its sub-tasks embed it)": (rename_parent, check_parent_renamed),
    "add a comment": (add_comment, check_comment_added),
    "edit a comment": (edit_comment, check_comment_edited),
    "delete a comment": (delete_comment, check_comment_deleted),
    "log work": (log_work, check_worklog),
    "link two issues": (link, check_linked),
    "rename a linked issue": (rename_linked, check_linked_renamed),
    "delete a link": (unlink, check_unlinked),
    "attach a file": (attach, check_attached),
    "delete an attachment": (detach, check_detached),
    "watch": (watch, check_watched),
    "stop watching": (unwatch, check_unwatched),
    "vote": (vote, check_voted),
    "move into a sprint": (move_to_sprint, check_moved),
    "rename a sprint (shared by many issues)": (rename_sprint, check_sprint_renamed),
    "rename a select option (shared)": (rename_option, check_option_renamed),
    "rename a user (shared)": (rename_user, check_user_renamed),
    "delete a sub-task": (delete_child, check_child_deleted),
    "create a sub-task": (create_subtask, check_subtask_created),
    "move a sub-task to another parent": (reparent, check_reparented),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_mutation_shows_in_the_next_search_page(
    case: str, client: httpx.AsyncClient, sb: Sandbox, clock: FrozenClock
) -> None:
    mutate, check = CASES[case]
    p = picks(sb)
    cache: ViewCache = sb.state.views
    before = await page(client)
    hits = cache.hits
    assert await page(client) == before
    assert cache.hits - hits == len(before)  # the second read came from the cache
    result = await mutate(client, sb, p)
    clock.advance(seconds=1)
    after = await page(client)
    check(before, after, p, result)
    assert after == fresh(sb, list(after), clock.now())  # nothing stale anywhere


async def test_get_issue_shows_a_change_after_being_cached(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    p = picks(sb)
    url = f"/rest/api/3/issue/{p.parent.key}"
    first = (await client.get(url)).json()
    assert (await client.get(url)).json() == first
    await edit_child_summary(client, sb, p)
    got = (await client.get(url)).json()
    assert nested(got["fields"]["subtasks"], p.child.key)["fields"]["summary"] == "Renamed"


async def test_entries_are_per_viewer_and_per_api_version(
    client: httpx.AsyncClient, client_for: Any, sb: Sandbox
) -> None:
    """Watches/votes depend on who asks; v2 shows rich text as wiki markup."""
    p = picks(sb)
    r = await client.post(f"/rest/api/3/issue/{p.a.key}/watchers", json=sb.admin_account_id)
    assert r.status_code == 204
    other = next(
        u for u in sb.store.users.values() if u["accountId"] != sb.admin_account_id and u["active"]
    )
    mine = (await page(client))[p.a.key]["fields"]["watches"]
    async with client_for(sb, auth=(other["emailAddress"], "sandbox-token")) as theirs:
        seen = (await page(theirs))[p.a.key]["fields"]["watches"]
    assert (mine["isWatching"], seen["isWatching"]) == (True, False)

    described = next(k for k, i in (await page(client)).items() if i["fields"]["description"])
    v2 = await client.get(
        "/rest/api/2/search/jql",
        params={"jql": f"key = {described}", "fields": "description"},
    )
    assert isinstance(v2.json()["issues"][0]["fields"]["description"], str)
    assert "/rest/api/2/issue/" in v2.json()["issues"][0]["self"]


async def test_output_equals_an_uncached_render_for_every_version_and_expand(
    client: httpx.AsyncClient, sb: Sandbox, clock: FrozenClock
) -> None:
    """The fragment renderer (shared objects pre-rendered, URLs written directly) gives
    the same JSON as building the plain view and substituting the URL markers."""
    from jirakit.sandbox.store import API
    from jirakit.sandbox.store import BASE as MARK
    from jirakit.sandbox.views import issue_view, to_json_bytes

    cache: ViewCache = sb.state.views
    selected = cache.select(["*all"], "id")
    recs = list(sb.store.issues.values())
    for version in (2, 3):
        api = f"{BASE}/rest/api/{version}"
        for expand in ((), ("changelog",), ("renderedFields", "names", "schema")):
            got = cache.issue_jsons(
                recs,
                version=version,
                selected=selected,
                expand=expand,
                viewer=sb.admin_account_id,
                base=BASE,
                api=api,
                caps=True,
                now=clock.now(),
            )
            for rec, text in zip(recs, got, strict=True):
                view = issue_view(
                    sb.store,
                    rec,
                    version=version,
                    selected=selected,
                    expand=expand,
                    viewer=sb.admin_account_id,
                    caps=True,
                    now=clock.now(),
                )
                plain = to_json_bytes(view).replace(API.encode(), api.encode())
                assert text == plain.replace(MARK.encode(), BASE.encode())
                assert b"@@" not in text
