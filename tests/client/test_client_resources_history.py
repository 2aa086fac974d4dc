"""Changelogs, worklogs, users and site metadata, sync and async, against a strict router."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.errors import ConfigurationError

AUTH = BasicAuth("me@acme.com", "tok")


@pytest.fixture
def jira(router: Router):
    with Jira(BASE, auth=AUTH, transport=router.transport()) as client:
        yield client


def history(hid: int, field: str = "status") -> dict:
    return {
        "id": str(hid),
        "created": "2026-01-02T10:00:00.000+0000",
        "items": [{"field": field, "fieldId": field, "fromString": "A", "toString": "B"}],
    }


def test_changelog_bulk_fetch_pages_by_token(router: Router, jira: Jira):
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["issueIdsOrKeys"] == ["1", "2"] and body["fieldIds"] == ["status"]
        assert body["maxResults"] == 10000
        if "nextPageToken" not in body:
            return ok(
                {
                    "issueChangeLogs": [
                        {"issueId": "1", "changeHistories": [history(1), history(2)]}
                    ],
                    "nextPageToken": "p2",
                }
            )
        return ok({"issueChangeLogs": [{"issueId": "2", "changeHistories": [history(3)]}]})

    router.always("POST", "/rest/api/3/changelog/bulkfetch", answer)
    logs = list(jira.changelogs.bulk_fetch([1, 2], field_ids=["status"]))
    assert [(c.issue_id, len(c.histories)) for c in logs] == [("1", 2), ("2", 1)]
    assert [item["toString"] for _, _, item in logs[0].items()] == ["B", "B"]
    with pytest.raises(ConfigurationError, match="1000"):
        jira.changelogs.bulk_fetch(list(range(1001)))
    with pytest.raises(ConfigurationError, match="10 field ids"):
        jira.changelogs.bulk_fetch([1], field_ids=[f"f{i}" for i in range(11)])


def test_changelog_per_issue_pages_with_islast(router: Router, jira: Jira):
    def answer(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        return ok(
            {
                "startAt": start,
                "isLast": start >= 100,
                "values": [history(start + i) for i in range(100 if start < 100 else 5)],
            }
        )

    router.always("GET", "/rest/api/3/issue/P-1/changelog", answer)
    assert len(jira.changelogs.list("P-1").all()) == 105


def test_worklogs_changed_since_then_by_ids(router: Router, jira: Jira):
    def updated(request: httpx.Request) -> httpx.Response:
        since = int(request.url.params["since"])
        if since == 0:
            return ok(
                {
                    "values": [{"worklogId": i, "updatedTime": 1000 + i} for i in range(1, 1001)],
                    "since": 0,
                    "until": 2000,
                    "lastPage": False,
                }
            )
        assert since == 2000
        return ok(
            {
                "values": [{"worklogId": 1001, "updatedTime": 2500}],
                "since": 2000,
                "until": 2500,
                "lastPage": True,
            }
        )

    def listing(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        assert len(ids) <= 1000
        return ok(
            [
                {
                    "id": str(i),
                    "issueId": "10",
                    "timeSpentSeconds": 60,
                    "started": "2026-01-01T09:00:00.000+0100",
                }
                for i in ids
            ]
        )

    router.always("GET", "/rest/api/3/worklog/updated", updated)
    router.always("POST", "/rest/api/3/worklog/list", listing)
    changes = list(jira.worklogs.updated_since(0))
    assert len(changes) == 1001 and changes[-1].worklog_id == 1001
    worklogs = jira.worklogs.by_ids([c.worklog_id for c in changes])
    assert len(worklogs) == 1001 and worklogs[0].time_spent_seconds == 60
    assert worklogs[0].started == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert len([r for r in router.requests if r.url.path.endswith("/list")]) == 2


def test_worklog_crud(router: Router, jira: Jira):
    router.add(
        "POST", "/rest/api/3/issue/P-1/worklog", ok({"id": "5", "timeSpentSeconds": 3600}, 201)
    )
    router.add("PUT", "/rest/api/3/issue/P-1/worklog/5", ok({"id": "5", "timeSpentSeconds": 1800}))
    router.add("DELETE", "/rest/api/3/issue/P-1/worklog/5", ok(status=204))
    router.add(
        "GET",
        "/rest/api/3/issue/P-1/worklog",
        ok({"startAt": 0, "total": 1, "worklogs": [{"id": "5"}]}),
    )
    started = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert jira.worklogs.add("P-1", 3600, started, comment="pairing").id == "5"
    sent = json.loads(router.requests[0].content)
    assert sent["started"] == "2026-03-01T09:30:00.000+0000" and sent["comment"]["type"] == "doc"
    assert jira.worklogs.update("P-1", "5", seconds=1800).time_spent_seconds == 1800
    assert [w.id for w in jira.worklogs.list("P-1")] == ["5"]
    jira.worklogs.delete("P-1", "5")


def test_users_and_meta(router: Router, jira: Jira):
    def everyone(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        count = 100 if start == 0 else 7
        return ok([{"accountId": f"u{start + i}"} for i in range(count)])

    def bulk(request: httpx.Request) -> httpx.Response:
        assert request.url.params.get_list("accountId") == ["a", "b"]
        return ok({"isLast": True, "values": [{"accountId": "a"}, {"accountId": "b"}]})

    router.always("GET", "/rest/api/3/users/search", everyone)
    router.add("GET", "/rest/api/3/user/bulk", bulk)
    router.add("GET", "/rest/api/3/user/search", ok([{"accountId": "a", "emailAddress": "a@x.io"}]))
    router.add("GET", "/rest/api/3/user", ok({"accountId": "a", "displayName": "Ann"}))
    router.add(
        "GET",
        "/rest/api/3/status",
        ok([{"id": "1", "name": "To Do", "statusCategory": {"key": "new"}}]),
    )
    router.add("GET", "/rest/api/3/statuscategory", ok([{"id": 2, "key": "new"}]))
    router.add("GET", "/rest/api/3/priority", ok([{"id": "3", "name": "Medium"}]))
    router.add("GET", "/rest/api/3/resolution", ok([{"id": "1", "name": "Done"}]))
    router.add("GET", "/rest/api/3/issuetype", ok([{"id": "10001", "name": "Bug"}]))
    router.add("GET", "/rest/api/3/project/P/components", ok([{"id": "1", "name": "API"}]))
    router.add("GET", "/rest/api/3/project/P/versions", ok([{"id": "2", "name": "1.0"}]))
    assert len(jira.users.all().all()) == 107
    assert [u.account_id for u in jira.users.bulk(["a", "b"])] == ["a", "b"]
    assert jira.users.find("a@x.io")[0].email == "a@x.io"
    assert jira.users.get("a").display_name == "Ann"
    assert jira.meta.statuses()[0].category == "new"
    assert jira.meta.status_categories()[0]["key"] == "new"
    assert jira.meta.priorities()[0].name == "Medium"
    assert jira.meta.resolutions()[0].name == "Done"
    assert jira.meta.issue_types()[0].name == "Bug"
    assert jira.projects.components("P")[0]["name"] == "API"
    assert jira.projects.versions("P")[0]["name"] == "1.0"
    assert router.pending() == []


async def test_async_twins(router: Router):
    router.add(
        "POST",
        "/rest/api/3/changelog/bulkfetch",
        ok({"issueChangeLogs": [{"issueId": "1", "changeHistories": [history(1)]}]}),
    )
    router.add(
        "GET",
        "/rest/api/3/worklog/deleted",
        ok({"values": [{"worklogId": 9, "updatedTime": 5}], "lastPage": True}),
    )
    router.add("POST", "/rest/api/3/worklog/list", ok([{"id": "9"}]))
    router.add("GET", "/rest/api/3/users/search", ok([{"accountId": "a"}]))
    router.add("GET", "/rest/api/3/priority", ok([{"id": "3", "name": "Medium"}]))
    async with AsyncJira(BASE, auth=AUTH, transport=router.async_transport()) as jira:
        logs = [c async for c in jira.changelogs.bulk_fetch(["1"])]
        deleted = [d.worklog_id async for d in jira.worklogs.deleted_since(0)]
        worklogs = await jira.worklogs.by_ids(deleted)
        users = await jira.users.all().aall()
        priorities = await jira.meta.priorities()
    assert logs[0].issue_id == "1" and deleted == [9] and worklogs[0].id == "9"
    assert users[0].account_id == "a" and priorities[0].name == "Medium"
