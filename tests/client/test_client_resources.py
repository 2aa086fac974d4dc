"""Each resource, sync and async, against a strict router: exact requests, parsed answers."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import UNSET, AsyncJira, BasicAuth, Jira
from jirakit.errors import ConfigurationError, InvalidTransition

AUTH = BasicAuth("me@acme.com", "tok")
TRANSITIONS = {
    "transitions": [
        {"id": "11", "name": "Start", "to": {"id": "3", "name": "In Progress"}},
        {"id": "31", "name": "Finish", "to": {"id": "10001", "name": "Done"}},
    ]
}


def body(request: httpx.Request) -> dict:
    return json.loads(request.content)


@pytest.fixture
def jira(router: Router):
    with Jira(BASE, auth=AUTH, transport=router.transport()) as client:
        yield client


def test_get_issue_with_fields_and_expand(router: Router, jira: Jira):
    router.add(
        "GET", "/rest/api/3/issue/P-1", ok({"id": "1", "key": "P-1", "fields": {"summary": "s"}})
    )
    issue = jira.issues.get("P-1", fields=["summary", "status"], expand=["changelog"])
    assert issue.summary == "s"
    params = router.requests[0].url.params
    assert params["fields"] == "summary,status" and params["expand"] == "changelog"


def test_create_issue_converts_text_to_adf_on_cloud(router: Router, jira: Jira):
    router.add("POST", "/rest/api/3/issue", ok({"id": "10", "key": "P-10", "self": "x"}, 201))
    created = jira.issues.create(
        project="P",
        summary="Hi",
        issue_type="Bug",
        description="line one\nline two\n\nsecond",
        labels=["a"],
        assignee="acc-1",
        fields={"customfield_10042": 3},
    )
    assert created.key == "P-10"
    fields = body(router.requests[0])["fields"]
    assert fields["project"] == {"key": "P"} and fields["issuetype"] == {"name": "Bug"}
    assert fields["assignee"] == {"accountId": "acc-1"} and fields["customfield_10042"] == 3
    doc = fields["description"]
    assert doc["type"] == "doc" and len(doc["content"]) == 2
    # a str is Markdown: a single newline joins the lines (use Text(...) to keep them)
    assert doc["content"][0]["content"] == [{"type": "text", "text": "line one line two"}]


def test_datacenter_keeps_text_and_uses_usernames(router: Router):
    router.add("POST", "/rest/api/2/issue", ok({"id": "10", "key": "P-10", "self": "x"}, 201))
    with Jira(BASE, auth=AUTH, flavour="datacenter", transport=router.transport()) as dc:
        dc.issues.create(
            project="P", summary="Hi", issue_type="Bug", description="plain", assignee="bob"
        )
    fields = body(router.requests[0])["fields"]
    assert fields["description"] == "plain" and fields["assignee"] == {"name": "bob"}


def test_edit_sends_only_what_was_set_and_none_clears(router: Router, jira: Jira):
    router.add("PUT", "/rest/api/3/issue/P-1", ok(status=204))
    jira.issues.edit(
        "P-1",
        summary="new",
        assignee=None,
        due=date(2026, 1, 2),
        fields={"customfield_1": UNSET, "customfield_2": None},
        notify=False,
    )
    sent = body(router.requests[0])
    assert sent == {
        "fields": {
            "summary": "new",
            "assignee": None,
            "duedate": "2026-01-02",
            "customfield_2": None,
        }
    }
    assert router.requests[0].url.params["notifyUsers"] == "false"


def test_delete_with_subtasks(router: Router, jira: Jira):
    router.add("DELETE", "/rest/api/3/issue/P-1", ok(status=204))
    jira.issues.delete("P-1", delete_subtasks=True)
    assert router.requests[0].url.params["deleteSubtasks"] == "true"


def test_bulk_create_chunks_by_50_and_reports_item_errors(router: Router, jira: Jira):
    def answer(request: httpx.Request) -> httpx.Response:
        updates = body(request)["issueUpdates"]
        assert len(updates) <= 50
        issues, errors = [], []
        for i, update in enumerate(updates):
            if update["fields"]["summary"] == "bad":
                errors.append(
                    {
                        "status": 400,
                        "failedElementNumber": i,
                        "elementErrors": {"errorMessages": [], "errors": {"summary": "too bad"}},
                    }
                )
            else:
                n = update["fields"]["summary"]
                issues.append({"id": n, "key": f"P-{n}", "self": "x"})
        return ok({"issues": issues, "errors": errors}, 201 if not errors else 400)

    router.always("POST", "/rest/api/3/issue/bulk", answer)
    items = [
        {"project": {"key": "P"}, "summary": "bad" if i in (3, 60) else str(i)} for i in range(75)
    ]
    result = jira.issues.bulk_create(items)
    assert len(router.requests) == 2
    assert [e.index for e in result.errors] == [3, 60]
    assert "summary: too bad" in str(result.errors[0])
    assert result.created[3] is None and result.created[60] is None
    assert result.created[74] is not None and result.created[74].key == "P-74"
    assert sum(c is not None for c in result.created) == 73 and not result.ok


def test_bulk_fetch_chunks_by_100(router: Router, jira: Jira):
    def answer(request: httpx.Request) -> httpx.Response:
        ids = body(request)["issueIdsOrKeys"]
        assert len(ids) <= 100 and body(request)["fields"] == ["summary"]
        return ok(
            {
                "issues": [{"id": i, "key": f"P-{i}"} for i in ids if i != "7"],
                "issueErrors": [{"id": "7", "message": "boom"}] if "7" in ids else [],
            }
        )

    router.always("POST", "/rest/api/3/issue/bulkfetch", answer)
    result = jira.issues.bulk_fetch(list(range(250)), fields=["summary"])
    assert len(router.requests) == 3 and len(result.issues) == 249
    assert "boom" in result.errors[0]


def test_search_page_and_count(router: Router, jira: Jira):
    router.add(
        "GET",
        "/rest/api/3/search/jql",
        ok({"issues": [{"id": "1"}], "nextPageToken": "n", "isLast": False}),
    )
    router.add("POST", "/rest/api/3/search/approximate-count", ok({"count": 42}))
    page = jira.search.page("project = P", max_results=1)
    assert page.next_page_token == "n" and not page.is_last and page.issues[0].id == "1"
    assert jira.search.count("project = P") == 42
    assert body(router.requests[1]) == {"jql": "project = P"}


def test_comments_crud_and_paging(router: Router, jira: Jira):
    def page(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        items = [{"id": str(i), "body": "b"} for i in range(start, min(start + 100, 150))]
        return ok({"startAt": start, "maxResults": 100, "total": 150, "comments": items})

    router.always("GET", "/rest/api/3/issue/P-1/comment", page)
    router.add("POST", "/rest/api/3/issue/P-1/comment", ok({"id": "9", "body": {}}, 201))
    router.add("PUT", "/rest/api/3/issue/P-1/comment/9", ok({"id": "9", "body": {}}))
    router.add("GET", "/rest/api/3/issue/P-1/comment/9", ok({"id": "9", "body": {}}))
    router.add("DELETE", "/rest/api/3/issue/P-1/comment/9", ok(status=204))
    assert len(jira.comments.list("P-1").all()) == 150
    assert (
        jira.comments.add("P-1", "hello", visibility={"type": "role", "value": "Developers"}).id
        == "9"
    )
    sent = body(router.requests[-1])
    assert sent["body"]["type"] == "doc" and sent["visibility"]["value"] == "Developers"
    jira.comments.update("P-1", "9", "edited")
    assert jira.comments.get("P-1", "9").id == "9"
    jira.comments.delete("P-1", "9")


def test_transition_by_target_status(router: Router, jira: Jira):
    router.add("GET", "/rest/api/3/issue/P-1/transitions", ok(TRANSITIONS))
    router.add("POST", "/rest/api/3/issue/P-1/transitions", ok(status=204))
    jira.transitions.do(
        "P-1", to="done", fields={"resolution": {"name": "Fixed"}}, comment="shipped"
    )
    sent = body(router.requests[1])
    assert sent["transition"] == {"id": "31"}
    assert sent["fields"] == {"resolution": {"name": "Fixed"}}
    assert sent["update"]["comment"][0]["add"]["body"]["type"] == "doc"


def test_unknown_transition_lists_the_available_ones(router: Router, jira: Jira):
    router.add("GET", "/rest/api/3/issue/P-1/transitions", ok(TRANSITIONS))
    with pytest.raises(InvalidTransition) as info:
        jira.transitions.do("P-1", to="Closed")
    assert "Start -> In Progress" in str(info.value) and "Finish -> Done" in str(info.value)
    with pytest.raises(ConfigurationError):
        jira.transitions.do("P-1")


def test_projects_and_fields(router: Router, jira: Jira):
    def projects(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        return ok({"startAt": start, "isLast": start > 0, "values": [{"key": f"K{start}"}]})

    router.always("GET", "/rest/api/3/project/search", projects)
    router.add("GET", "/rest/api/3/project/K0", ok({"id": "1", "key": "K0", "name": "Kay"}))
    router.add(
        "GET",
        "/rest/api/3/field",
        ok(
            [
                {"id": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"]},
                {
                    "id": "customfield_10016",
                    "name": "Story Points",
                    "custom": True,
                    "clauseNames": ["cf[10016]"],
                },
                {"id": "customfield_1", "name": "Team", "custom": True},
                {"id": "customfield_2", "name": "Team", "custom": True},
            ]
        ),
    )
    assert [p.key for p in jira.projects.list()] == ["K0", "K1"]
    assert jira.projects.get("K0").name == "Kay"
    assert jira.fields.id_of("story points") == "customfield_10016"
    assert jira.fields.id_of("cf[10016]") == "customfield_10016"
    with pytest.raises(
        ConfigurationError, match="ambiguous: customfield_1 \\(Team\\), customfield_2"
    ):
        jira.fields.id_of("Team")
    assert jira.fields.map().names["summary"] == "Summary"  # cached: no second request
    assert len([r for r in router.requests if r.url.path.endswith("/field")]) == 1


def test_server_info_and_raw_request(router: Router, jira: Jira):
    router.add(
        "GET",
        "/rest/api/3/serverInfo",
        ok(
            {
                "baseUrl": BASE,
                "deploymentType": "Cloud",
                "serverTime": "2026-11-22T10:00:00.000+0000",
            }
        ),
    )
    router.add("GET", "/rest/api/3/dashboard", ok({"dashboards": []}))
    info = jira.server_info()
    assert info.deployment_type == "Cloud" and info.server_time is not None
    assert jira.request("GET", "/dashboard") == {"dashboards": []}


async def test_async_resources(router: Router):
    router.add("GET", "/rest/api/3/issue/P-1", ok({"id": "1", "key": "P-1"}))
    router.add("PUT", "/rest/api/3/issue/P-1", ok(status=204))
    router.add("GET", "/rest/api/3/issue/P-1/transitions", ok(TRANSITIONS))
    router.add("POST", "/rest/api/3/issue/P-1/transitions", ok(status=204))
    router.add("POST", "/rest/api/3/issue/P-1/comment", ok({"id": "9"}, 201))
    router.add(
        "GET",
        "/rest/api/3/issue/P-1/comment",
        ok({"startAt": 0, "total": 1, "comments": [{"id": "9"}]}),
    )
    router.add("GET", "/rest/api/3/field", ok([{"id": "summary", "name": "Summary"}]))
    router.add("GET", "/rest/api/3/project/search", ok({"isLast": True, "values": [{"key": "P"}]}))
    router.add("POST", "/rest/api/3/search/approximate-count", ok({"count": 3}))
    router.add("DELETE", "/rest/api/3/issue/P-1", ok(status=204))
    async with AsyncJira(BASE, auth=AUTH, transport=router.async_transport()) as jira:
        assert (await jira.issues.get("P-1")).key == "P-1"
        await jira.issues.edit("P-1", labels=None)
        await jira.transitions.do("P-1", to="In Progress")
        assert (await jira.comments.add("P-1", "x")).id == "9"
        assert [c.id async for c in jira.comments.list("P-1")] == ["9"]
        assert await jira.fields.id_of("Summary") == "summary"
        assert [p.key for p in await jira.projects.list().aall()] == ["P"]
        assert await jira.search.count("project = P") == 3
        await jira.issues.delete("P-1")
    assert body(router.requests[1]) == {"fields": {"labels": []}}
    assert router.pending() == []
