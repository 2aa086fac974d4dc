"""Jira Software (Agile) in the sandbox: boards, sprints, backlog, epics, moves.

Every response is also checked against the official Jira Software spec
(``../shared/jira/specs/software.swagger.v3.json``) with the conformance helpers of
``test_sandbox_conformance``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_sandbox_conformance import Conformance, _convert, _rewrite_refs

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox.events import Event
from jirakit.sandbox.routes.agile import sprint_field
from needs import require_module, require_shared

A = "/rest/agile/1.0"
SPEC = ("jira", "specs", "software.swagger.v3.json")  # under ../shared
ENG_BOARD, KANBAN_BOARD = 1, 3
ACTIVE, FUTURE, CLOSED = 5, 6, 1  # ENG's generated sprints: 1-4 closed, 5 active, 6-7 future


# -- conformance -------------------------------------------------------------------------


PAGE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["startAt", "maxResults", "isLast", "values"],
    "properties": {
        "startAt": {"type": "integer"},
        "maxResults": {"type": "integer"},
        "total": {"type": "integer"},
        "isLast": {"type": "boolean"},
        "values": {"type": "array"},
    },
}
EPIC: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "key", "self", "name", "summary", "color", "done"],
    "properties": {
        "id": {"type": "integer"},
        "key": {"type": "string"},
        "self": {"type": "string"},
        "name": {"type": "string"},
        "summary": {"type": "string"},
        "color": {"$ref": "#/components/schemas/ColorBean"},
        "done": {"type": "boolean"},
    },
}
SPRINT: dict[str, Any] = {"$ref": "#/components/schemas/SprintBean"}
FALLBACK: dict[tuple[str, str], Any] = {
    ("GET", "/rest/agile/1.0/board/{boardId}/sprint"): {
        **PAGE,
        "properties": {**PAGE["properties"], "values": {"type": "array", "items": SPRINT}},
    },
    ("GET", "/rest/agile/1.0/board/{boardId}/epic"): {
        **PAGE,
        "properties": {**PAGE["properties"], "values": {"type": "array", "items": EPIC}},
    },
    ("GET", "/rest/agile/1.0/sprint/{sprintId}"): SPRINT,
    ("POST", "/rest/agile/1.0/sprint/{sprintId}"): SPRINT,
    ("PUT", "/rest/agile/1.0/sprint/{sprintId}"): SPRINT,
    ("POST", "/rest/agile/1.0/sprint"): SPRINT,
    ("GET", "/rest/agile/1.0/epic/{epicIdOrKey}"): EPIC,
}
SEARCH: dict[str, Any] = {"$ref": "#/components/schemas/SearchResults"}


class AgileConformance(Conformance):
    """The software spec documents several responses without a schema (sprints, epics,
    sprint lists): those are checked against the spec's own component beans."""

    def schema_for(self, path: str, method: str, status: int) -> Any:
        op = self.spec["paths"][path][method.lower()]
        content = op["responses"].get(str(status), {}).get("content", {})
        if status < 400 and not any("schema" in v for v in content.values()):
            schema = FALLBACK.get((method.upper(), path), SEARCH)
            return _rewrite_refs(_convert(copy.deepcopy(schema)))
        return super().schema_for(path, method, status)


def _software_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(require_shared(*SPEC).read_text(encoding="utf-8"))
    # Where the spec's schema and real Jira disagree, real Jira wins: board configuration's
    # location is the project's type/key/id/self/name (the spec's own example, and
    # ../shared/jira/fixtures/go-jira/board_configuration.json), not {projectKeyOrId, type}.
    config = spec["paths"]["/rest/agile/1.0/board/{boardId}/configuration"]["get"]
    schema = config["responses"]["200"]["content"]["application/json"]["schema"]
    schema["properties"]["location"]["properties"].update(
        {
            "key": {"type": "string"},
            "id": {"type": "string"},
            "self": {"type": "string", "format": "uri"},
            "name": {"type": "string"},
        }
    )
    # Error bodies: the platform spec's ErrorCollection (the software spec documents none).
    spec["components"]["schemas"]["ErrorCollection"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "errorMessages": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
            "status": {"type": "integer"},
        },
    }
    return spec


@pytest.fixture(scope="module")
def conformance() -> AgileConformance:
    return AgileConformance(_software_spec())


class Agile:
    """An async client that validates every response against the software spec."""

    def __init__(self, client: httpx.AsyncClient, conformance: AgileConformance) -> None:
        self.c = client
        self.conformance = conformance

    async def call(
        self, method: str, spec_path: str, url: str, body: Any = None, *, status: int = 200
    ) -> httpx.Response:
        r = await self.c.request(method, A + url, json=body)
        assert r.status_code == status, r.text
        if r.content:
            self.conformance.validate(A + spec_path, method, r)
        return r

    async def get(self, spec_path: str, url: str, *, status: int = 200) -> Any:
        return (await self.call("GET", spec_path, url, status=status)).json()


@pytest.fixture
async def agile(sb: Sandbox, client: httpx.AsyncClient, conformance: AgileConformance) -> Agile:
    return Agile(client, conformance)


def _sprint_ids(sb: Sandbox, key: str) -> list[int]:
    rec = sb.store.issue(key)
    assert rec is not None
    return [s["id"] for s in rec.fields.get(sprint_field(sb.store)) or []]


async def _jql_keys(client: httpx.AsyncClient, jql: str) -> set[str]:
    r = await client.post(
        "/rest/api/3/search/jql", json={"jql": jql, "fields": ["key"], "maxResults": 5000}
    )
    assert r.status_code == 200, r.text
    return {i["key"] for i in r.json()["issues"]}


# -- boards ------------------------------------------------------------------------------


async def test_boards_list_filters_and_paging(agile: Agile) -> None:
    page = await agile.get("/board", "/board")
    assert [b["id"] for b in page["values"]] == [1, 2, 3]
    assert page["total"] == 3 and page["isLast"] is True
    assert page["values"][0]["location"]["projectKey"] == "ENG"
    assert page["values"][0]["self"].endswith(f"{A}/board/1")
    kanban = await agile.get("/board", "/board?type=kanban")
    assert [b["type"] for b in kanban["values"]] == ["kanban"]
    by_name = await agile.get("/board", "/board?name=ops")
    assert [b["name"] for b in by_name["values"]] == ["OPS board"]
    by_project = await agile.get("/board", "/board?projectKeyOrId=10000")
    assert [b["id"] for b in by_project["values"]] == [1]
    first = await agile.get("/board", "/board?maxResults=2&startAt=0")
    second = await agile.get("/board", "/board?maxResults=2&startAt=2")
    assert (first["isLast"], second["isLast"]) == (False, True)
    assert [b["id"] for b in first["values"] + second["values"]] == [1, 2, 3]
    bad = await agile.get("/board", "/board?projectKeyOrId=NOPE", status=400)
    assert bad["errors"] == {"projectKeyOrId": "No project could be found with key 'NOPE'."}


async def test_board_get_and_not_found(agile: Agile) -> None:
    board = await agile.get("/board/{boardId}", "/board/1")
    assert board["name"] == "ENG board" and board["type"] == "scrum"
    missing = await agile.get("/board/{boardId}", "/board/99", status=404)
    assert missing["errorMessages"] == [
        "Board does not exist or you do not have permission to see it."
    ]


async def test_board_create_over_a_filter_and_delete(agile: Agile, sb: Sandbox) -> None:
    events: list[Event] = []
    sb.store.events.subscribe(events.append)
    jql = "project = ENG AND issuetype = Bug"
    made = await agile.c.post("/rest/api/3/filter", json={"name": "Bugs", "jql": jql})
    fid = int(made.json()["id"])
    body = {
        "name": " Bug board ",
        "type": "kanban",
        "filterId": fid,
        "location": {"type": "project", "projectKeyOrId": "ENG"},
    }
    board = (await agile.call("POST", "/board", "/board", body, status=201)).json()
    assert (board["id"], board["name"], board["type"]) == (4, "Bug board", "kanban")
    assert board["self"].endswith(f"{A}/board/4") and "filterId" not in board
    assert board["location"]["projectKey"] == "ENG"
    assert await agile.get("/board/{boardId}", "/board/4") == board
    config = await agile.get("/board/{boardId}/configuration", "/board/4/configuration")
    assert config["filter"]["id"] == str(fid)
    # the board's scope is its filter's JQL, not the whole project
    bugs = {
        r.key for r in sb.store.iter_project_issues(10000) if r.fields["issuetype"]["name"] == "Bug"
    }
    assert bugs
    page = await agile.get("/board/{boardId}/issue", "/board/4/issue?maxResults=100&fields=key")
    assert {i["key"] for i in page["issues"]} == bugs
    created = [e for e in events if e.name == "board_created"]
    assert [e.data["board"]["id"] for e in created] == [4]
    # Jira's rules: a filter the caller has, a project location, a known type
    bad = await agile.call(
        "POST",
        "/board",
        "/board",
        {**body, "type": "agility", "filterId": 99999, "location": {"type": "user"}},
        status=400,
    )
    assert set(bad.json()["errors"]) == {"type", "filterId", "location"}
    await agile.call("DELETE", "/board/{boardId}", "/board/4", status=204)
    await agile.call("GET", "/board/{boardId}", "/board/4", status=404)
    await agile.call("DELETE", "/board/{boardId}", "/board/4", status=404)
    again = (await agile.call("POST", "/board", "/board", body, status=201)).json()
    assert again["id"] == 5  # ids are not reused
    assert [e.name for e in events if e.name.startswith("board_")] == [
        "board_created",
        "board_deleted",
        "board_created",
    ]


async def test_board_configuration(agile: Agile, sb: Sandbox) -> None:
    config = await agile.get("/board/{boardId}/configuration", "/board/1/configuration")
    columns = config["columnConfig"]["columns"]
    mapped = {s["id"] for col in columns for s in col["statuses"]}
    workflow = sb.store.workflows["software"]["transitions"]
    assert mapped == {t["to"] for t in workflow}
    assert columns[0]["name"] == "To Do" and columns[-1]["name"] == "Done"
    assert config["estimation"]["field"]["fieldId"] == "customfield_10016"
    assert config["ranking"] == {"rankCustomFieldId": 10019}
    assert config["location"]["key"] == "ENG"
    kanban = await agile.get("/board/{boardId}/configuration", "/board/3/configuration")
    assert "estimation" not in kanban and kanban["columnConfig"]["constraintType"] == "issueCount"


async def test_board_issues_jql_fields_paging_and_rank(agile: Agile, sb: Sandbox) -> None:
    eng = list(sb.store.iter_project_issues(10000))
    not_epics = [r for r in eng if r.fields["issuetype"]["hierarchyLevel"] != 1]
    page = await agile.get("/board/{boardId}/issue", "/board/1/issue?maxResults=10")
    assert page["total"] == len(not_epics) and len(page["issues"]) == 10
    ranks = [i["fields"]["customfield_10019"] for i in page["issues"]]
    assert ranks == sorted(ranks)
    first = page["issues"][0]
    assert first["self"].endswith(f"{A}/issue/{first['id']}")
    assert {"sprint", "flagged", "epic"} <= set(first["fields"])
    assert isinstance(first["fields"]["description"], str | None)  # v2 shape, not ADF
    done = await agile.get(
        "/board/{boardId}/issue",
        "/board/1/issue?jql=status%20%3D%20Done&fields=summary,status&maxResults=100",
    )
    assert done["total"] == sum(1 for r in not_epics if r.fields["status"]["name"] == "Done")
    assert all(set(i["fields"]) == {"summary", "status"} for i in done["issues"])
    ordered = await agile.get(
        "/board/{boardId}/issue", "/board/1/issue?jql=order%20by%20key%20desc&fields=summary"
    )
    keys = [i["key"] for i in ordered["issues"]]
    assert keys == sorted(keys, key=lambda k: -int(k.split("-")[1]))
    paged = await agile.get("/board/{boardId}/issue", f"/board/1/issue?startAt={page['total'] - 1}")
    assert len(paged["issues"]) == 1
    bad = await agile.get("/board/{boardId}/issue", "/board/1/issue?jql=status%20%3D", status=400)
    assert bad["errorMessages"] and "JQL Query" in bad["errorMessages"][0]


async def test_backlog_is_incomplete_issues_outside_open_sprints(agile: Agile, sb: Sandbox) -> None:
    page = await agile.get("/board/{boardId}/backlog", "/board/1/backlog?maxResults=100")
    sf = sprint_field(sb.store)
    expected = [
        r
        for r in sb.store.iter_project_issues(10000)
        if r.fields["status"]["statusCategory"]["id"] != 3
        and r.fields["issuetype"]["hierarchyLevel"] != 1
        and not any(s["state"] != "closed" for s in r.fields.get(sf) or [])
    ]
    assert page["total"] == len(expected) > 0
    assert {i["key"] for i in page["issues"]} == {r.key for r in expected}
    assert all(i["fields"]["sprint"] is None for i in page["issues"])


async def test_board_sprints_state_filter_and_kanban(agile: Agile) -> None:
    page = await agile.get("/board/{boardId}/sprint", "/board/1/sprint")
    assert [s["state"] for s in page["values"]] == ["closed"] * 4 + ["active"] + ["future"] * 2
    assert page["values"][4]["originBoardId"] == 1 and "completeDate" in page["values"][0]
    open_ = await agile.get("/board/{boardId}/sprint", "/board/1/sprint?state=active,future")
    assert [s["id"] for s in open_["values"]] == [5, 6, 7]
    small = await agile.get("/board/{boardId}/sprint", "/board/1/sprint?maxResults=3&startAt=3")
    assert [s["id"] for s in small["values"]] == [4, 5, 6] and small["isLast"] is False
    kanban = await agile.get("/board/{boardId}/sprint", "/board/3/sprint", status=400)
    assert kanban["errorMessages"] == ["The board does not support sprints"]
    sprint_issues = await agile.get(
        "/board/{boardId}/sprint/{sprintId}/issue", "/board/1/sprint/5/issue"
    )
    assert all(i["fields"]["sprint"]["id"] == ACTIVE for i in sprint_issues["issues"])


async def test_epics(agile: Agile, sb: Sandbox) -> None:
    epics = [
        r
        for r in sb.store.iter_project_issues(10000)
        if r.fields["issuetype"]["hierarchyLevel"] == 1
    ]
    page = await agile.get("/board/{boardId}/epic", "/board/1/epic")
    assert {e["key"] for e in page["values"]} == {r.key for r in epics}
    undone = await agile.get("/board/{boardId}/epic", "/board/1/epic?done=false")
    assert all(not e["done"] for e in undone["values"])
    epic = epics[0]
    got = await agile.get("/epic/{epicIdOrKey}", f"/epic/{epic.key}")
    assert got["id"] == epic.id and got["color"]["key"].startswith("color_")
    children = await agile.get("/epic/{epicIdOrKey}/issue", f"/epic/{epic.id}/issue")
    assert children["total"] == len(sb.store.children.get(epic.id, []))
    assert all(i["fields"]["epic"]["key"] == epic.key for i in children["issues"])
    on_board = await agile.get(
        "/board/{boardId}/epic/{epicId}/issue", f"/board/1/epic/{epic.key}/issue"
    )
    assert on_board["total"] == children["total"]
    story = next(r for r in sb.store.iter_project_issues(10000) if r.parent_id == epic.id)
    not_epic = await agile.get("/epic/{epicIdOrKey}", f"/epic/{story.key}", status=404)
    assert not_epic["errorMessages"] == [f"Issue '{story.key}' is not an epic."]
    await agile.get("/epic/{epicIdOrKey}", "/epic/ENG-9999", status=404)


# -- sprints -----------------------------------------------------------------------------


async def test_sprint_create_get_and_errors(agile: Agile, sb: Sandbox) -> None:
    created = (
        await agile.call(
            "POST",
            "/sprint",
            "/sprint",
            {
                "name": "  Sprint X  ",
                "originBoardId": 1,
                "goal": "ship",
                "startDate": "2026-02-02T09:00:00.000+01:00",
            },
            status=201,
        )
    ).json()
    assert created["state"] == "future" and created["name"] == "Sprint X"
    assert created["startDate"] == "2026-02-02T08:00:00.000Z"
    assert created["id"] > max(k for k in sb.store.sprints if k != created["id"])
    again = await agile.get("/sprint/{sprintId}", f"/sprint/{created['id']}")
    assert again == created
    listed = await agile.get("/board/{boardId}/sprint", "/board/1/sprint?state=future")
    assert listed["values"][-1]["id"] == created["id"]
    missing = await agile.get("/sprint/{sprintId}", "/sprint/999", status=404)
    assert missing["errorMessages"] == [
        "Sprint does not exist or you do not have permission to see it."
    ]
    no_name = await agile.call("POST", "/sprint", "/sprint", {"originBoardId": 1}, status=400)
    assert "name" in no_name.json()["errors"]
    kanban = await agile.call(
        "POST", "/sprint", "/sprint", {"name": "K", "originBoardId": KANBAN_BOARD}, status=400
    )
    assert kanban.json()["errorMessages"] == ["The board does not support sprints"]
    await agile.call("POST", "/sprint", "/sprint", {"name": "K", "originBoardId": 42}, status=404)


async def test_sprint_start_and_close_rules(agile: Agile, sb: Sandbox, clock: FrozenClock) -> None:
    path = "/sprint/{sprintId}"
    no_dates = await agile.call("POST", path, f"/sprint/{FUTURE}", {"state": "active"}, status=400)
    assert "start date and an end date" in no_dates.json()["errorMessages"][0]
    dates = {"startDate": "2026-02-01T12:00:00Z", "endDate": "2026-02-15T12:00:00Z"}
    parallel = await agile.call(
        "POST", path, f"/sprint/{FUTURE}", {"state": "active", **dates}, status=400
    )
    assert "another sprint is already active" in parallel.json()["errorMessages"][0]
    # "For closed sprints, only the name and goal can be updated; changes to other fields
    # will be ignored" (the spec's update-sprint notes)
    reopen = await agile.call("POST", path, f"/sprint/{CLOSED}", {"state": "active"})
    assert reopen.json()["state"] == "closed"
    close_future = await agile.call(
        "POST", path, f"/sprint/{FUTURE}", {"state": "closed"}, status=400
    )
    assert "from 'future' to 'closed'" in close_future.json()["errorMessages"][0]
    closed = (await agile.call("POST", path, f"/sprint/{ACTIVE}", {"state": "closed"})).json()
    assert closed["state"] == "closed" and closed["completeDate"].startswith("2026-02-01T12:00")
    started = (
        await agile.call("POST", path, f"/sprint/{FUTURE}", {"state": "active", **dates})
    ).json()
    assert started["state"] == "active" and started["startDate"] == "2026-02-01T12:00:00.000Z"
    # closed sprints take a new name/goal only
    renamed = (
        await agile.call(
            "POST", path, f"/sprint/{ACTIVE}", {"name": "Renamed", "startDate": "2020-01-01"}
        )
    ).json()
    assert renamed["name"] == "Renamed" and renamed["startDate"] == closed["startDate"]
    # parallel sprints, when the site enables them
    sb.store.site["parallel_sprints"] = True
    await agile.call("POST", path, "/sprint/7", {"state": "active", **dates})
    bad_end = await agile.call(
        "POST", path, "/sprint/7", {"endDate": "2026-01-01T00:00:00Z"}, status=400
    )
    assert "endDate" in bad_end.json()["errors"]


async def test_sprint_full_update_and_delete(agile: Agile, sb: Sandbox) -> None:
    path = "/sprint/{sprintId}"
    full = (
        await agile.call("PUT", path, f"/sprint/{FUTURE}", {"name": "Only name", "state": "future"})
    ).json()
    assert full["goal"] == "" and "startDate" not in full
    await agile.call("PUT", path, f"/sprint/{FUTURE}", {"goal": "no name"}, status=400)
    keys = [r.key for r in sb.store.issues.values() if FUTURE in _sprint_ids(sb, r.key)]
    assert keys
    bad = await agile.call("DELETE", path, f"/sprint/{ACTIVE}", status=400)
    assert bad.json()["errorMessages"] == ["Only future sprints can be deleted."]
    await agile.call("DELETE", path, f"/sprint/{FUTURE}", status=204)
    assert FUTURE not in sb.store.sprints
    assert all(FUTURE not in _sprint_ids(sb, k) for k in keys)
    await agile.call("GET", path, f"/sprint/{FUTURE}", status=404)


async def test_move_issues_updates_field_changelog_events_and_jql(
    agile: Agile, sb: Sandbox, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    events: list[Event] = []
    sb.store.events.subscribe(events.append)
    backlog = await agile.get("/board/{boardId}/backlog", "/board/1/backlog?maxResults=100")
    keys = [i["key"] for i in backlog["issues"]][:5]
    before = await _jql_keys(client, f"sprint = {FUTURE}")
    assert not set(keys) & before
    await agile.call(
        "POST", "/sprint/{sprintId}/issue", f"/sprint/{FUTURE}/issue", {"issues": keys}, status=204
    )
    assert await _jql_keys(client, f"sprint = {FUTURE}") == before | set(keys)
    assert set(keys) <= await _jql_keys(client, "sprint in futureSprints()")
    assert not set(keys) & await _jql_keys(client, "sprint in openSprints()")
    rec = sb.store.issue(keys[0])
    assert rec is not None and rec.fields["updated"].startswith("2026-02-01T12:00")
    last = rec.histories[-1].items[-1]
    assert last[0] == "Sprint" and last[2] == "customfield_10020" and last[5].endswith(str(FUTURE))
    assert [e.name for e in events if e.issue_key in keys] == ["jira:issue_updated"] * 5
    issues = await agile.get("/sprint/{sprintId}/issue", f"/sprint/{FUTURE}/issue?maxResults=100")
    assert set(keys) <= {i["key"] for i in issues["issues"]}
    # an active sprint: openSprints() follows; moving again replaces the open sprint
    await agile.call(
        "POST",
        "/sprint/{sprintId}/issue",
        f"/sprint/{ACTIVE}/issue",
        {"issues": keys[:2]},
        status=204,
    )
    assert set(keys[:2]) <= await _jql_keys(client, "sprint in openSprints()")
    assert FUTURE not in _sprint_ids(sb, keys[0]) and ACTIVE in _sprint_ids(sb, keys[0])
    # to the backlog: no open sprint any more
    await agile.call("POST", "/backlog/issue", "/backlog/issue", {"issues": keys}, status=204)
    assert not set(keys) & await _jql_keys(
        client, "sprint in openSprints() OR sprint in futureSprints()"
    )
    back = await agile.get("/board/{boardId}/backlog", "/board/1/backlog?maxResults=100")
    assert set(keys) <= {i["key"] for i in back["issues"]}
    # starting the future sprint moves its issues into openSprints()
    sb.store.site["parallel_sprints"] = True
    await agile.call(
        "POST", "/sprint/{sprintId}/issue", f"/sprint/{FUTURE}/issue", {"issues": keys}, status=204
    )
    await agile.call(
        "POST",
        "/sprint/{sprintId}",
        f"/sprint/{FUTURE}",
        {"state": "active", "startDate": "2026-02-01T00:00:00Z", "endDate": "2026-02-14T00:00:00Z"},
    )
    assert set(keys) <= await _jql_keys(client, "sprint in openSprints()")
    assert {"sprint_started"} <= {e.name for e in events}


async def test_move_errors(agile: Agile, sb: Sandbox) -> None:
    path = "/sprint/{sprintId}/issue"
    keys = [r.key for r in list(sb.store.issues.values())[:51]]
    too_many = await agile.call(
        "POST", path, f"/sprint/{FUTURE}/issue", {"issues": keys}, status=400
    )
    assert "50" in too_many.json()["errorMessages"][0]
    empty = await agile.call("POST", path, f"/sprint/{FUTURE}/issue", {"issues": []}, status=400)
    assert "issues" in empty.json()["errors"]
    unknown = await agile.call(
        "POST", path, f"/sprint/{FUTURE}/issue", {"issues": ["ENG-1", "ENG-9999"]}, status=400
    )
    assert "ENG-9999" in unknown.json()["errorMessages"][0]
    assert FUTURE not in _sprint_ids(sb, "ENG-1")  # nothing moved
    closed = await agile.call(
        "POST", path, f"/sprint/{CLOSED}/issue", {"issues": ["ENG-1"]}, status=400
    )
    assert closed.json()["errorMessages"]
    await agile.call("POST", path, "/sprint/999/issue", {"issues": ["ENG-1"]}, status=404)
    await agile.call("POST", "/backlog/issue", "/backlog/issue", {"issues": keys}, status=400)


# -- permissions, flavours, persistence ------------------------------------------------------


async def test_restricted_board_is_invisible(sb: Sandbox, client_for: Any) -> None:
    sb.restrict_project("ENG", ["jira-admins"])
    outsider = next(
        u for a, u in sb.store.users.items() if a not in sb.store.group_members["jira-admins"]
    )
    async with client_for(sb, auth=(outsider["emailAddress"], "sandbox-token")) as c:
        ids = [b["id"] for b in (await c.get(f"{A}/board")).json()["values"]]
        assert ENG_BOARD not in ids and ids
        for url in ("/board/1", "/board/1/issue", "/board/1/backlog", f"/sprint/{ACTIVE}"):
            r = await c.get(A + url)
            assert r.status_code == 404, url
        r = await c.post(f"{A}/sprint/8/issue", json={"issues": ["ENG-1"]})
        assert r.status_code == 400
        assert r.json()["errorMessages"][0].startswith("Issue does not exist")


async def test_datacenter_bearer_and_unauthenticated(clock: FrozenClock) -> None:
    dc = Sandbox(seed=7, issues=40, projects=2, flavour="datacenter", clock=clock)
    transport = httpx.ASGITransport(app=dc.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dc") as c:
        assert (await c.get(f"{A}/board")).status_code == 401
        r = await c.get(
            f"{A}/board/1/issue?maxResults=1",
            headers={"Authorization": f"Bearer {dc.api_token}"},
        )
        assert r.status_code == 200
        assert "/rest/api/2/" in r.json()["issues"][0]["fields"]["status"]["self"]


async def test_state_persists(agile: Agile, sb: Sandbox, tmp_path: Path) -> None:
    created = (
        await agile.call(
            "POST", "/sprint", "/sprint", {"name": "Kept", "originBoardId": 1}, status=201
        )
    ).json()
    await agile.call(
        "POST",
        "/sprint/{sprintId}/issue",
        f"/sprint/{created['id']}/issue",
        {"issues": ["ENG-1"]},
        status=204,
    )
    sb.save(tmp_path / "state.json")
    again = Sandbox.load(tmp_path / "state.json")
    assert again.store.sprints[created["id"]]["name"] == "Kept"
    assert created["id"] in _sprint_ids(again, "ENG-1")
    rec = again.store.issue("ENG-1")
    assert rec is not None
    shared = rec.fields[sprint_field(again.store)][-1]
    assert shared is again.store.sprints[created["id"]]  # still one object after loading
    nxt = again.store.counters["sprint"] + 1
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=again.app), base_url="http://x", auth=again.auth
    ) as c:
        r = await c.post(f"{A}/sprint", json={"name": "Next", "originBoardId": 1})
        assert r.json()["id"] == nxt


def _agile_operations() -> set[tuple[str, str]]:
    """Every Agile operation the sandbox emulates, named as the published spec names it."""
    from jirakit.sandbox.routes.agile import ROUTES

    spec_names = {
        "{board}": "{boardId}",
        "{sprint}": "{sprintId}",
        "{epic}": "{epicIdOrKey}",
        "/board/{boardId}/epic/{epicIdOrKey}": "/board/{boardId}/epic/{epicId}",
    }
    expected = set()
    for route in ROUTES:
        path = route.path  # type: ignore[attr-defined]
        for old, new in spec_names.items():
            path = path.replace(old, new)
        if path == "/issue/{key}":
            continue  # GET /rest/agile/1.0/issue/{issueIdOrKey} is not in the published spec
        for method in route.methods or ():  # type: ignore[attr-defined]
            if method != "HEAD":
                expected.add((method, path))
    return expected


async def test_every_agile_route_answers_in_the_spec_shape(
    conformance: AgileConformance, sb: Sandbox, client: httpx.AsyncClient
) -> None:
    """Each emulated Agile operation, called once here (whatever else runs), answers with
    its documented status and a body the published spec accepts."""
    fresh = Agile(client, AgileConformance(conformance.spec))
    called: set[tuple[str, str]] = set()

    async def call(
        method: str, spec_path: str, url: str, body: Any = None, *, status: int = 200
    ) -> Any:
        called.add((method, spec_path))
        r = await fresh.call(method, spec_path, url, body, status=status)
        return r.json() if r.content else None

    made = await client.post("/rest/api/3/filter", json={"name": "All ENG", "jql": "project = ENG"})
    assert made.status_code == 200, made.text
    location = {"type": "project", "projectKeyOrId": "ENG"}
    board_body = {
        "name": "Walk",
        "type": "scrum",
        "filterId": int(made.json()["id"]),
        "location": location,
    }
    board = await call("POST", "/board", "/board", board_body, status=201)
    await call("GET", "/board", "/board")
    await call("GET", "/board/{boardId}", f"/board/{board['id']}")
    await call("GET", "/board/{boardId}/configuration", "/board/1/configuration")
    await call("GET", "/board/{boardId}/issue", "/board/1/issue?maxResults=5")
    await call("GET", "/board/{boardId}/backlog", "/board/1/backlog?maxResults=5")
    await call("GET", "/board/{boardId}/sprint", "/board/1/sprint")
    sprint_issues = "/board/{boardId}/sprint/{sprintId}/issue"
    await call("GET", sprint_issues, f"/board/1/sprint/{ACTIVE}/issue?maxResults=5")
    epics = await call("GET", "/board/{boardId}/epic", "/board/1/epic")
    epic = epics["values"][0]["key"]
    await call("GET", "/board/{boardId}/epic/{epicId}/issue", f"/board/1/epic/{epic}/issue")
    await call("GET", "/epic/{epicIdOrKey}", f"/epic/{epic}")
    await call("GET", "/epic/{epicIdOrKey}/issue", f"/epic/{epic}/issue")
    sprint = await call(
        "POST", "/sprint", "/sprint", {"name": "Walk", "originBoardId": 1}, status=201
    )
    one = f"/sprint/{sprint['id']}"
    await call("GET", "/sprint/{sprintId}", one)
    await call("POST", "/sprint/{sprintId}", one, {"goal": "partial"})
    await call("PUT", "/sprint/{sprintId}", one, {"name": "Walk", "state": "future"})
    await call(
        "POST", "/sprint/{sprintId}/issue", f"{one}/issue", {"issues": ["ENG-1"]}, status=204
    )
    await call("GET", "/sprint/{sprintId}/issue", f"{one}/issue")
    await call("POST", "/backlog/issue", "/backlog/issue", {"issues": ["ENG-1"]}, status=204)
    await call("DELETE", "/sprint/{sprintId}", one, status=204)
    await call("DELETE", "/board/{boardId}", f"/board/{board['id']}", status=204)

    expected = _agile_operations()
    assert sorted(expected - called) == [], "an emulated operation this walk does not call"
    unchecked = {(m, A + p) for m, p in called} - fresh.conformance.checked
    assert sorted(unchecked) == [
        ("DELETE", f"{A}/board/{{boardId}}"),
        ("DELETE", f"{A}/sprint/{{sprintId}}"),
        ("POST", f"{A}/backlog/issue"),
        ("POST", f"{A}/sprint/{{sprintId}}/issue"),
    ]  # the 204s, which have no body to check


def test_third_party_clients_boards_and_sprints() -> None:
    """pycontribs ``jira`` and ``atlassian-python-api``, unmodified, over a real port."""
    jira = require_module("jira")
    atlassian = require_module("atlassian")
    site = Sandbox(seed=7, issues=120, projects=3)
    with site.serve() as url:
        jc = jira.JIRA(server=url, basic_auth=site.auth)
        assert [b.name for b in jc.boards()] == ["ENG board", "OPS board", "MKT board"]
        assert [s.state for s in jc.sprints(1)][-3:] == ["active", "future", "future"]
        sprint = jc.create_sprint("pycontribs sprint", 1, goal="interop")
        jc.add_issues_to_sprint(sprint.id, ["ENG-2", "ENG-3"])
        assert jc.sprint(sprint.id).name == "pycontribs sprint"
        assert {i.key for i in jc.search_issues(f"sprint = {sprint.id}")} == {"ENG-2", "ENG-3"}
        jc.move_to_backlog(["ENG-2"])
        assert sprint.id not in _sprint_ids(site, "ENG-2")
        api = atlassian.Jira(url=url, username=site.auth[0], password=site.auth[1], cloud=True)
        assert api.get_all_agile_boards()["total"] == 3
        assert len(api.get_all_sprints_from_board(1)["values"]) == 8
        assert api.get_sprint_issues(sprint.id, 0, 50)["total"] == 1
