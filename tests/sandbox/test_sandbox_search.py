"""search/jql paging (tokens, isLast, bound to the query, 5000-id pages), JQL errors,
eventual consistency (search lag), approximate count, jql/parse and the legacy search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from jirakit.sandbox import FrozenClock, Sandbox

pytest.importorskip("jirakit.jql.evaluator")

from jirakit.jql.errors import JqlSyntaxError
from jirakit.jql.parser import parse

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


async def all_pages(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    issues: list[dict[str, Any]] = []
    pages = 0
    token = None
    while True:
        p = dict(params)
        if token:
            p["nextPageToken"] = token
        body = (await client.get("/rest/api/3/search/jql", params=p)).json()
        pages += 1
        issues += body["issues"]
        token = body.get("nextPageToken")
        assert body["isLast"] is (token is None)
        if token is None:
            return issues, pages


def key_number(key: str) -> int:
    return int(key.split("-")[1])


async def test_paging_with_tokens_covers_everything_once(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    issues, pages = await all_pages(
        client, {"jql": "project = ENG ORDER BY key ASC", "maxResults": 7, "fields": "key"}
    )
    expected = sorted((r.key for r in sb.store.iter_project_issues(10000)), key=key_number)
    assert [i["key"] for i in issues] == expected
    assert pages == -(-len(expected) // 7)


async def test_default_fields_are_id_only_and_default_order_newest_first(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    body = (
        await client.get("/rest/api/3/search/jql", params={"jql": "project = OPS", "maxResults": 5})
    ).json()
    assert all(set(i) == {"id"} for i in body["issues"])
    ids = [int(i["id"]) for i in body["issues"]]
    assert ids == sorted((r.id for r in sb.store.iter_project_issues(10001)), reverse=True)[:5]


async def test_token_is_bound_to_its_query(client: httpx.AsyncClient) -> None:
    first = (
        await client.get("/rest/api/3/search/jql", params={"jql": "project = ENG", "maxResults": 5})
    ).json()
    token = first["nextPageToken"]
    ok = await client.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = ENG", "maxResults": 5, "nextPageToken": token},
    )
    assert ok.status_code == 200 and ok.json()["issues"] != first["issues"]
    other = await client.get(
        "/rest/api/3/search/jql", params={"jql": "project = OPS", "nextPageToken": token}
    )
    assert other.status_code == 400
    assert other.json()["errorMessages"] == ["The provided next page token is invalid or expired."]
    forged = await client.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = ENG", "nextPageToken": token[:-2] + "AA"},
    )
    assert forged.status_code == 400


async def test_fields_pages_are_capped_at_100(client: httpx.AsyncClient, sb: Sandbox) -> None:
    assert len(sb.store.issues) > 100
    body = (
        await client.get(
            "/rest/api/3/search/jql",
            params={"jql": "project in (ENG, OPS, MKT)", "maxResults": 500, "fields": "summary"},
        )
    ).json()
    assert len(body["issues"]) == 100 and body["isLast"] is False
    assert set(body["issues"][0]["fields"]) == {"summary"}


async def test_post_search_matches_get_and_expands_names(client: httpx.AsyncClient) -> None:
    params = {
        "jql": "project = ENG ORDER BY created DESC",
        "maxResults": 10,
        "fields": "summary,status",
    }
    got = (await client.get("/rest/api/3/search/jql", params=params)).json()
    posted = (
        await client.post(
            "/rest/api/3/search/jql",
            json={**params, "fields": ["summary", "status"], "expand": "names,schema"},
        )
    ).json()
    assert [i["id"] for i in got["issues"]] == [i["id"] for i in posted["issues"]]
    assert posted["names"] == {"summary": "Summary", "status": "Status"}
    assert posted["schema"]["status"]["type"] == "status"
    assert "names" not in got


@pytest.mark.parametrize("jql", ["", "ORDER BY key", "order by created DESC"])
async def test_unbounded_queries_rejected(client: httpx.AsyncClient, jql: str) -> None:
    r = await client.get("/rest/api/3/search/jql", params={"jql": jql})
    assert r.status_code == 400
    assert r.json() == {"errorMessages": [UNBOUNDED], "errors": {}}


async def test_jql_errors_are_400_with_parser_messages(client: httpx.AsyncClient) -> None:
    with pytest.raises(JqlSyntaxError) as syntax:
        parse("project = ")
    r = await client.get("/rest/api/3/search/jql", params={"jql": "project = "})
    assert r.status_code == 400
    assert r.json() == {"errorMessages": syntax.value.messages, "errors": {}}
    assert "JQL Query" in r.json()["errorMessages"][0]
    r = await client.post("/rest/api/3/search/jql", json={"jql": "nosuchfield = 3"})
    assert r.status_code == 400
    assert "nosuchfield" in r.json()["errorMessages"][0]


async def test_results_match_ground_truth(client: httpx.AsyncClient, sb: Sandbox) -> None:
    issues, _ = await all_pages(
        client,
        {
            "jql": "project = ENG AND status = Done AND priority in (High, Highest)",
            "maxResults": 100,
        },
    )
    expected = {
        r.sid
        for r in sb.store.iter_project_issues(10000)
        if r.fields["status"]["name"] == "Done"
        and r.fields["priority"]["name"] in ("High", "Highest")
    }
    assert {i["id"] for i in issues} == expected and expected
    was, _ = await all_pages(
        client, {"jql": 'project = ENG AND status WAS "In Review"', "maxResults": 100}
    )
    expected_was = {
        r.sid
        for r in sb.store.iter_project_issues(10000)
        if any(i[2] == "status" and "10001" in (i[3], i[5]) for h in r.histories for i in h.items)
    }
    assert {i["id"] for i in was} == expected_was and expected_was
    cutoff = "2025-10-01"
    recent, _ = await all_pages(
        client, {"jql": f'project in (ENG, OPS) AND updated >= "{cutoff}"', "maxResults": 100}
    )
    expected_recent = {
        r.sid
        for r in sb.store.issues.values()
        if r.fields["project"]["key"] in ("ENG", "OPS") and r.fields["updated"] >= cutoff
    }
    assert {i["id"] for i in recent} == expected_recent


async def test_approximate_count_and_jql_parse(client: httpx.AsyncClient, sb: Sandbox) -> None:
    r = await client.post("/rest/api/3/search/approximate-count", json={"jql": "project = MKT"})
    assert r.json() == {"count": len(sb.store.by_project[10002])}
    assert (
        await client.post("/rest/api/3/search/approximate-count", json={"jql": "order by key"})
    ).status_code == 400
    parsed = (
        await client.post(
            "/rest/api/3/jql/parse",
            json={
                "queries": ["project = ENG AND labels in (a, b) ORDER BY key DESC", "project = "]
            },
        )
    ).json()
    good, bad = parsed["queries"]
    assert good["structure"]["where"]["operator"] == "and"
    first = good["structure"]["where"]["clauses"][0]
    assert (
        first["field"]["name"] == "project"
        and first["operator"] == "="
        and first["operand"]["value"] == "ENG"
    )
    assert good["structure"]["orderBy"]["fields"][0]["direction"] == "desc"
    with pytest.raises(JqlSyntaxError) as syntax:
        parse("project = ")
    assert bad["errors"] == syntax.value.messages


async def test_legacy_search_removed_on_cloud_unless_enabled(
    client: httpx.AsyncClient, client_for: Any
) -> None:
    r = await client.get("/rest/api/3/search", params={"jql": "project = ENG"})
    assert r.status_code == 410
    assert r.json()["errorMessages"][0].startswith(
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
    )
    legacy = Sandbox(seed=7, issues=40, legacy_search=True)
    async with client_for(legacy) as c:
        body = (
            await c.get(
                "/rest/api/3/search",
                params={"jql": "project = ENG ORDER BY key", "startAt": 2, "maxResults": 3},
            )
        ).json()
    assert (
        body["startAt"] == 2
        and body["maxResults"] == 3
        and body["total"] == len(legacy.store.by_project[10000])
    )
    assert [i["key"] for i in body["issues"]] == ["ENG-3", "ENG-4", "ENG-5"]


# -- eventual consistency -------------------------------------------------------------


@pytest.fixture
def lagging(clock: FrozenClock) -> Sandbox:
    return Sandbox(seed=2, issues=40, clock=clock, search_lag=5.0)


@pytest.fixture
async def lag_client(lagging: Sandbox, client_for: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(lagging) as c:
        yield c


async def ids_for(client: httpx.AsyncClient, jql: str, **extra: Any) -> set[str]:
    body = (
        await client.get("/rest/api/3/search/jql", params={"jql": jql, "maxResults": 1000, **extra})
    ).json()
    return {i["id"] for i in body["issues"]}


async def test_search_lag_for_created_edited_and_deleted(
    lag_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    c = lag_client
    r = await c.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "ENG"},
                "issuetype": {"name": "Task"},
                "summary": "Fresh zebra",
            }
        },
    )
    new = r.json()
    assert (
        await c.get(f"/rest/api/3/issue/{new['key']}")
    ).status_code == 200  # reads by key are immediate
    assert new["id"] not in await ids_for(c, "project = ENG")
    assert new["id"] in await ids_for(c, "project = ENG", reconcileIssues=new["id"])
    clock.advance(6)
    assert new["id"] in await ids_for(c, "project = ENG")
    # an edit: search keeps matching the old value until the lag has passed
    await c.put(f"/rest/api/3/issue/{new['key']}", json={"fields": {"summary": "Renamed giraffe"}})
    assert new["id"] in await ids_for(c, "project = ENG AND summary ~ zebra")
    assert new["id"] not in await ids_for(c, "project = ENG AND summary ~ giraffe")
    clock.advance(6)
    assert new["id"] not in await ids_for(c, "project = ENG AND summary ~ zebra")
    assert new["id"] in await ids_for(c, "project = ENG AND summary ~ giraffe")
    # a deletion: still found for a while
    await c.delete(f"/rest/api/3/issue/{new['key']}")
    assert new["id"] in await ids_for(c, "project = ENG")
    clock.advance(6)
    assert new["id"] not in await ids_for(c, "project = ENG")


# -- large pages --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> Sandbox:
    return Sandbox(seed=5, issues=5300, projects=1)


async def test_id_only_pages_go_up_to_5000(big: Sandbox, client_for: Any) -> None:
    async with client_for(big) as c:
        first = (
            await c.get(
                "/rest/api/3/search/jql", params={"jql": "project = ENG", "maxResults": 9999}
            )
        ).json()
        assert len(first["issues"]) == 5000 and first["isLast"] is False
        second = (
            await c.get(
                "/rest/api/3/search/jql",
                params={
                    "jql": "project = ENG",
                    "maxResults": 9999,
                    "nextPageToken": first["nextPageToken"],
                },
            )
        ).json()
        assert (
            len(second["issues"]) == 300
            and second["isLast"] is True
            and "nextPageToken" not in second
        )
        ids = [i["id"] for i in first["issues"] + second["issues"]]
        assert len(set(ids)) == 5300
        keys = (
            await c.get(
                "/rest/api/3/search/jql",
                params={"jql": "project = ENG", "maxResults": 9999, "fields": "key"},
            )
        ).json()
        assert len(keys["issues"]) == 5000 and set(keys["issues"][0]) == {"id", "key"}


@pytest.mark.parametrize(
    ("jql", "messages"),
    [
        ("project = NOPE", ["The value 'NOPE' does not exist for the field 'project'."]),
        (
            "project in (ENG, NOPE) AND status = Nada",
            [
                "The value 'NOPE' does not exist for the field 'project'.",
                "The value 'Nada' does not exist for the field 'status'.",
            ],
        ),
        (
            "summary = x AND project = ENG",
            ["The operator '=' is not supported by the 'summary' field."],
        ),
        ("cf[10030] = Diamond", ["The value 'Diamond' does not exist for the field 'cf[10030]'."]),
    ],
)
async def test_values_and_operators_are_validated_like_jira(
    client: httpx.AsyncClient, jql: str, messages: list[str]
) -> None:
    r = await client.post("/rest/api/3/search/jql", json={"jql": jql})
    assert r.status_code == 400
    assert r.json() == {"errorMessages": messages, "errors": {}}
    parsed = (await client.post("/rest/api/3/jql/parse", json={"queries": [jql]})).json()
    assert parsed["queries"][0]["errors"] == messages
    warned = (
        await client.post("/rest/api/3/jql/parse?validation=warn", json={"queries": [jql]})
    ).json()
    assert warned["queries"][0]["warnings"] == messages


@pytest.mark.parametrize(
    "jql",
    [
        "text ~ login AND project = ENG",
        "statusCategory = Done AND project = ENG",
        "resolution = Unresolved AND project = ENG",
        'project = "Engineering Platform" ORDER BY created DESC',
        "key = ENG-1",
    ],
)
async def test_pseudo_fields_and_aliases_still_search(client: httpx.AsyncClient, jql: str) -> None:
    r = await client.post("/rest/api/3/search/jql", json={"jql": jql})
    assert r.status_code == 200, r.text
    assert r.json()["issues"]


async def test_comment_text_search_matches_ground_truth(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    from jirakit.sandbox.views import adf_to_text

    issues, _ = await all_pages(
        client, {"jql": 'project = ENG AND comment ~ "cache"', "maxResults": 100}
    )
    expected = {
        r.sid
        for r in sb.store.iter_project_issues(10000)
        if any("cache" in adf_to_text(c["body"]).lower() for c in r.comments)
    }
    assert expected and {i["id"] for i in issues} == expected
