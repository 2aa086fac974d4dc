"""Agile: boards, sprints, backlog moves (50 per request), sync and async."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.errors import ConfigurationError

AUTH = BasicAuth("me@acme.com", "tok")
AGILE = "/rest/agile/1.0"


@pytest.fixture
def jira(router: Router):
    with Jira(BASE, auth=AUTH, transport=router.transport()) as client:
        yield client


def test_boards(router: Router, jira: Jira):
    def boards(request: httpx.Request) -> httpx.Response:
        assert request.url.params["projectKeyOrId"] == "ENG"
        start = int(request.url.params["startAt"])
        return ok(
            {
                "startAt": start,
                "isLast": start > 0,
                "values": [{"id": start + 1, "name": "B", "type": "scrum"}],
            }
        )

    router.always("GET", f"{AGILE}/board", boards)
    router.add("GET", f"{AGILE}/board/1", ok({"id": 1, "name": "ENG board", "type": "scrum"}))
    router.add(
        "GET", f"{AGILE}/board/1/configuration", ok({"id": 1, "columnConfig": {"columns": []}})
    )
    router.add(
        "GET",
        f"{AGILE}/board/1/issue",
        ok({"startAt": 0, "total": 1, "issues": [{"id": "10", "key": "ENG-1"}]}),
    )
    router.add("GET", f"{AGILE}/board/1/backlog", ok({"startAt": 0, "total": 0, "issues": []}))
    router.add(
        "GET", f"{AGILE}/board/1/epic", ok({"isLast": True, "values": [{"id": 5, "key": "ENG-5"}]})
    )
    assert [b.id for b in jira.boards.list(project="ENG")] == [1, 2]
    assert jira.boards.get(1).type == "scrum"
    assert "columnConfig" in jira.boards.configuration(1)
    assert [i.key for i in jira.boards.issues(1, jql="status = Done")] == ["ENG-1"]
    assert jira.boards.backlog(1).all() == []
    assert jira.boards.epics(1).all()[0]["key"] == "ENG-5"


def test_sprint_lifecycle_and_moves(router: Router, jira: Jira):
    sprint = {"id": 7, "name": "S7", "state": "future"}
    router.add("POST", f"{AGILE}/sprint", ok(sprint, 201))
    router.add(
        "POST",
        f"{AGILE}/sprint/7",
        ok({**sprint, "state": "active", "startDate": "2026-01-05T09:00:00.000Z"}),
    )
    router.add("POST", f"{AGILE}/sprint/7", ok({**sprint, "state": "closed"}))
    router.add("GET", f"{AGILE}/sprint/7", ok({**sprint, "state": "closed"}))
    router.add("GET", f"{AGILE}/board/1/sprint", ok({"isLast": True, "values": [sprint]}))
    router.add(
        "GET", f"{AGILE}/sprint/7/issue", ok({"startAt": 0, "total": 1, "issues": [{"id": "10"}]})
    )
    moved: list[list[str]] = []

    def move(request: httpx.Request) -> httpx.Response:
        moved.append(json.loads(request.content)["issues"])
        return ok(status=204)

    router.always("POST", f"{AGILE}/sprint/7/issue", move)
    router.always("POST", f"{AGILE}/backlog/issue", move)
    start, end = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 19, 9, tzinfo=UTC)
    created = jira.sprints.create(1, "S7", goal="Ship it")
    assert created.state == "future"
    assert json.loads(router.requests[0].content) == {
        "name": "S7",
        "originBoardId": 1,
        "goal": "Ship it",
    }
    active = jira.sprints.start(7, start=start, end=end)
    assert active.state == "active" and active.start == start
    body = json.loads(router.requests[1].content)
    assert body["state"] == "active" and body["endDate"].startswith("2026-01-19T09:00")
    assert jira.sprints.close(7).state == "closed"
    assert jira.sprints.get(7).state == "closed"
    assert jira.sprints.list(1, state=["future", "active"]).all()[0].id == 7
    assert router.requests[-1].url.params["state"] == "future,active"
    assert [i.id for i in jira.sprints.issues(7)] == ["10"]
    jira.sprints.move_issues(7, [f"ENG-{n}" for n in range(120)])
    jira.sprints.move_to_backlog(["ENG-1"])
    assert [len(m) for m in moved] == [50, 50, 20, 1]
    with pytest.raises(ConfigurationError):
        jira.sprints.move_issues(7, [])


async def test_async_agile(router: Router):
    router.add("GET", f"{AGILE}/board", ok({"isLast": True, "values": [{"id": 1}]}))
    router.add("POST", f"{AGILE}/sprint", ok({"id": 8, "state": "future"}, 201))
    router.add("POST", f"{AGILE}/sprint/8/issue", ok(status=204))
    async with AsyncJira(BASE, auth=AUTH, transport=router.async_transport()) as jira:
        assert [b.id async for b in jira.boards.list()] == [1]
        assert (await jira.sprints.create(1, "S8")).id == 8
        await jira.sprints.move_issues(8, ["ENG-1"])
    assert router.pending() == []
