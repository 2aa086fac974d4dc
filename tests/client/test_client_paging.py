"""Paging strategies and the one iterator for `for` and `async for`."""

from __future__ import annotations

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client import Call, IsLastPaging, OffsetPaging, TokenPaging
from jirakit.errors import PaginationError

AUTH = BasicAuth("me@acme.com", "tok")


def issues(*ids: int) -> list[dict]:
    return [{"id": str(i), "key": f"P-{i}"} for i in ids]


def token_pages(router: Router) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("nextPageToken")
        assert request.url.params["maxResults"] == "2"
        if token is None:
            return ok({"issues": issues(1, 2), "nextPageToken": "t1", "isLast": False})
        if token == "t1":
            return ok({"issues": issues(3, 4), "nextPageToken": "t2", "isLast": False})
        assert token == "t2"
        return ok({"issues": issues(5), "isLast": True})

    router.always("GET", "/rest/api/3/search/jql", page)


def test_token_paging_follows_tokens_until_missing(router: Router):
    token_pages(router)
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        pager = jira.search.iter("project = P", page_size=2)
        keys = [i.key for i in pager]
    assert keys == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    assert pager.pages == 3


async def test_same_paginator_type_async(router: Router):
    token_pages(router)
    async with AsyncJira(BASE, auth=AUTH, transport=router.async_transport()) as jira:
        keys = [i.key async for i in jira.search.iter("project = P", page_size=2)]
        with pytest.raises(TypeError, match="async for"):
            list(jira.search.iter("project = P"))
    assert keys == ["P-1", "P-2", "P-3", "P-4", "P-5"]


def test_sync_paginator_refuses_async_for(router: Router):
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        with pytest.raises(TypeError, match="use `for`"):
            jira.search.iter("project = P").__aiter__()


def test_limit_stops_early_without_fetching_more(router: Router):
    token_pages(router)
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        keys = [i.key for i in jira.search.iter("project = P", page_size=2, limit=3)]
    assert keys == ["P-1", "P-2", "P-3"]
    assert len(router.requests) == 2


def test_token_seen_twice_raises(router: Router):
    router.always(
        "GET",
        "/rest/api/3/search/jql",
        ok({"issues": issues(1), "nextPageToken": "same", "isLast": False}),
    )
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        with pytest.raises(PaginationError, match="same nextPageToken"):
            list(jira.search.iter("project = P"))


def test_offset_paging_uses_total():
    strategy = OffsetPaging("comments", page_size=2)
    call = strategy.first(Call("GET", "/x"))
    assert call.params == {"startAt": 0, "maxResults": 2}
    nxt = strategy.next(call, {"startAt": 0, "total": 3, "comments": [1, 2]})
    assert nxt is not None and nxt.params["startAt"] == 2
    assert strategy.next(nxt, {"startAt": 2, "total": 3, "comments": [3]}) is None


def test_offset_paging_stops_on_empty_page_and_detects_a_stuck_server():
    strategy = OffsetPaging("values", page_size=2)
    call = strategy.first(Call("GET", "/x"))
    assert strategy.next(call, {"startAt": 0, "values": []}) is None
    second = strategy.next(call, {"startAt": 0, "values": [1, 2]})
    assert second is not None
    with pytest.raises(PaginationError):
        strategy.next(second, {"startAt": 0, "values": [1, 2]})  # server ignored startAt


def test_islast_paging():
    strategy = IsLastPaging("values", page_size=2)
    call = strategy.first(Call("GET", "/project/search"))
    nxt = strategy.next(call, {"startAt": 0, "isLast": False, "values": [1, 2]})
    assert nxt is not None and nxt.params["startAt"] == 2
    assert strategy.next(nxt, {"startAt": 2, "isLast": True, "values": [3]}) is None


def test_token_paging_in_json_body_for_post():
    strategy = TokenPaging("issues", page_size=10, where="json")
    call = strategy.first(Call("POST", "/search/jql", json={"jql": "x"}))
    assert call.json == {"jql": "x", "maxResults": 10}
    nxt = strategy.next(call, {"issues": [], "nextPageToken": "abc"})
    assert nxt is not None and nxt.json["nextPageToken"] == "abc"


def test_long_queries_are_posted(router: Router):
    jql = "key in (" + ", ".join(f"P-{i}" for i in range(400)) + ")"

    def page(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        assert body["jql"] == jql and body["fields"] == ["summary"]
        return ok({"issues": issues(1), "isLast": True})

    router.add("POST", "/rest/api/3/search/jql", page)
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        assert [i.key for i in jira.search.iter(jql, fields=["summary"])] == ["P-1"]


def test_datacenter_search_uses_startat_and_total(router: Router):
    def page(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        batch = issues(*range(start + 1, min(start + 2, 3) + 1))
        return ok({"startAt": start, "maxResults": 2, "total": 3, "issues": batch})

    router.always("GET", "/rest/api/2/search", page)
    with Jira(BASE, auth=AUTH, flavour="datacenter", transport=router.transport()) as jira:
        keys = [i.key for i in jira.search.iter("project = P", page_size=2)]
    assert keys == ["P-1", "P-2", "P-3"]
