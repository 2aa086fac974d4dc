"""``jira.boards`` and ``jira.sprints``, sync and async, against the sandbox over real HTTP.

A sprint's whole life: create -> start -> move 120 issues (three requests of at most 50)
-> some back to the backlog -> close; JQL (``sprint = N``) sees every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jirakit import AsyncJira, BasicAuth, BearerAuth, Jira
from jirakit.errors import BadRequest, NotFound
from jirakit.sandbox import Sandbox

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
END = START + timedelta(days=14)


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=7, issues=400, projects=2)
    with sandbox.serve() as url:
        yield sandbox, url


def _keys(sandbox: Sandbox, project: str, n: int) -> list[str]:
    project_id = int(sandbox.store.project(project)["id"])  # type: ignore[index]
    recs = [
        r
        for r in sandbox.store.iter_project_issues(project_id)
        if r.fields["issuetype"]["hierarchyLevel"] == 0
    ]
    assert len(recs) >= n
    return [r.key for r in recs[:n]]


def test_boards_and_sprint_lifecycle_sync(served: tuple[Sandbox, str]) -> None:
    sandbox, url = served
    with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        boards = jira.boards.list().all()
        assert [(b.id, b.type) for b in boards] == [(1, "scrum"), (2, "scrum")]
        assert [b.id for b in jira.boards.list(project="OPS")] == [2]
        assert [b.name for b in jira.boards.list(name="eng")] == ["ENG board"]
        assert jira.boards.list(board_type="kanban").all() == []
        assert jira.boards.get(1).name == "ENG board"
        config = jira.boards.configuration(1)
        assert config["ranking"] == {"rankCustomFieldId": 10019}
        with pytest.raises(NotFound) as missing:
            jira.boards.get(99)
        assert missing.value.error_messages == [
            "Board does not exist or you do not have permission to see it."
        ]

        # board issues: paged by 50 through startAt/total, JQL-filtered, field selection
        everything = jira.boards.issues(1).all()
        assert len(everything) > 100 and len({i.key for i in everything}) == len(everything)
        todo = jira.boards.issues(1, jql="status = 'To Do'", fields=["summary", "status"]).all()
        assert todo and all(i.raw["fields"]["status"]["name"] == "To Do" for i in todo)
        assert all(set(i.raw["fields"]) == {"summary", "status"} for i in todo)
        epics = jira.boards.epics(1).all()
        assert epics and all(e["key"].startswith("ENG-") for e in epics)

        # one sprint active at a time: close the running one first
        active = jira.sprints.list(1, state=["active"]).all()
        assert [s.state for s in active] == ["active"]
        with pytest.raises(BadRequest):
            jira.sprints.start(7, start=START, end=END)  # 7 is a future sprint of board 1
        closed = jira.sprints.close(active[0].id)
        assert closed.state == "closed" and closed.complete is not None

        sprint = jira.sprints.create(1, "Release train", goal="Ship 2.0")
        assert sprint.state == "future" and sprint.raw["originBoardId"] == 1
        started = jira.sprints.start(sprint.id, start=START, end=END)
        assert started.state == "active" and started.start == START and started.end == END

        keys = _keys(sandbox, "ENG", 120)
        jira.sprints.move_issues(sprint.id, keys)  # 50 + 50 + 20
        in_sprint = jira.sprints.issues(sprint.id, fields=["summary"]).all()
        assert sorted(i.key for i in in_sprint) == sorted(keys)
        found = {i.key for i in jira.search.iter(f"sprint = {sprint.id}", fields=["key"])}
        assert found == set(keys)
        assert set(keys) <= {
            i.key for i in jira.search.iter("sprint in openSprints()", fields=["key"])
        }

        jira.sprints.move_to_backlog(keys[:10])
        assert len(jira.sprints.issues(sprint.id).all()) == 110
        backlog = {i.key for i in jira.boards.backlog(1)}
        assert {k for k in keys[:10] if not _done(sandbox, k)} <= backlog

        done = jira.sprints.close(sprint.id)
        assert done.state == "closed" and jira.sprints.get(sprint.id).state == "closed"
        assert not {
            i.key for i in jira.search.iter("sprint in openSprints()", fields=["key"])
        } & set(keys)
        with pytest.raises(BadRequest):
            jira.sprints.move_issues(sprint.id, keys[:1])  # closed sprints take no issues
        assert [s.id for s in jira.sprints.list(1, state=["closed"])][-1] == sprint.id


def _done(sandbox: Sandbox, key: str) -> bool:
    rec = sandbox.store.issue(key)
    assert rec is not None
    return bool(rec.fields["status"]["statusCategory"]["id"] == 3)


async def test_boards_and_sprint_lifecycle_async(served: tuple[Sandbox, str]) -> None:
    sandbox, url = served
    async with AsyncJira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        assert [b.id async for b in jira.boards.list(project="ENG")] == [1]
        assert (await jira.boards.get(2)).name == "OPS board"
        assert "columnConfig" in await jira.boards.configuration(2)
        issues = await jira.boards.issues(2, jql="status != Done").aall()
        assert issues and all(i.key.startswith("OPS-") for i in issues)
        assert [e["key"] async for e in jira.boards.epics(2)]

        for running in await jira.sprints.list(2, state=["active"]).aall():
            await jira.sprints.close(running.id)
        sprint = await jira.sprints.create(2, "Async sprint")
        await jira.sprints.start(sprint.id, start=START, end=END, goal="async")
        keys = _keys(sandbox, "OPS", 120)
        await jira.sprints.move_issues(sprint.id, keys)
        got = [i.key async for i in jira.sprints.issues(sprint.id, fields=["summary"])]
        assert sorted(got) == sorted(keys)
        await jira.sprints.move_to_backlog(keys[100:])
        assert len(await jira.sprints.issues(sprint.id).aall()) == 100
        backlog = [i.key async for i in jira.boards.backlog(2, fields=["summary"])]
        assert {k for k in keys[100:] if not _done(sandbox, k)} <= set(backlog)
        closed = await jira.sprints.close(sprint.id)
        assert closed.state == "closed" and closed.goal == "async"
        assert (await jira.sprints.get(sprint.id)).board_id == 2


def test_datacenter_bearer() -> None:
    dc = Sandbox(seed=7, issues=60, projects=1, flavour="datacenter")
    with dc.serve() as url, Jira(url, auth=BearerAuth(dc.api_token), flavour="datacenter") as jira:
        assert [b.id for b in jira.boards.list()] == [1]
        sprint = jira.sprints.create(1, "DC sprint")
        jira.sprints.move_issues(sprint.id, _keys(dc, "ENG", 3))
        assert len(jira.sprints.issues(sprint.id).all()) == 3
