"""search/jql paging (tokens, isLast, bound to the query, 5000-id pages), JQL errors,
eventual consistency (search lag), approximate count, jql/parse and the legacy search."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from jirakit.jql.errors import JqlSyntaxError
from jirakit.jql.parser import parse
from jirakit.sandbox import FrozenClock, Sandbox
from needs import require_shared

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
    issues, _ = await all_pages(
        client, {"jql": 'project = ENG AND comment ~ "cache"', "maxResults": 100}
    )
    expected = {
        r.sid
        for r in sb.store.iter_project_issues(10000)
        if any("cache" in _text_nodes(c["body"]).lower() for c in r.comments)
    }
    assert expected and {i["id"] for i in issues} == expected


def _text_nodes(node: Any) -> str:
    """The text of an ADF document (inline text run together, blocks apart): written here
    rather than taken from the sandbox, whose own ADF-to-text the search is built on."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    inline = node.get("type") in ("paragraph", "heading")
    return ("" if inline else " ").join(_text_nodes(c) for c in node.get("content") or [])


# -- embedded caps (changelog, comments) like Jira Cloud's enhanced search -----------------


def _doc(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


async def _busy_issue(client: httpx.AsyncClient, sb: Sandbox, comments: int, edits: int) -> str:
    """ENG-3 with at least ``comments`` comments and ``edits`` more changelog entries."""
    key = "ENG-3"
    rec = sb.store.issue(key)
    assert rec is not None
    for n in range(max(0, comments - len(rec.comments))):
        r = await client.post(f"/rest/api/3/issue/{key}/comment", json={"body": _doc(f"c{n}")})
        assert r.status_code == 201, r.text
    for n in range(edits):
        r = await client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": f"s{n}"}})
        assert r.status_code == 204, r.text
    return key


async def test_search_embeds_20_comments_with_the_page_counts(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    key = await _busy_issue(client, sb, comments=27, edits=0)
    rec = sb.store.issue(key)
    assert rec is not None and len(rec.comments) == 27
    params = {"jql": f"key = {key} OR key = ENG-4", "fields": "comment"}
    found = (await client.get("/rest/api/3/search/jql", params=params)).json()["issues"]
    by_key = {sb.store.issues[int(i["id"])].key: i["fields"]["comment"] for i in found}
    embedded = by_key[key]
    assert [c["id"] for c in embedded["comments"]] == [c["id"] for c in rec.comments[:20]]
    assert (embedded["startAt"], embedded["maxResults"], embedded["total"]) == (0, 20, 27)
    # the rest is where `total` says: the comments endpoint, from startAt=20
    rest = (await client.get(f"/rest/api/3/issue/{key}/comment", params={"startAt": 20})).json()
    assert [c["id"] for c in rest["comments"]] == [c["id"] for c in rec.comments[20:]]
    # an issue under the cap embeds everything, maxResults = what is there
    small = by_key["ENG-4"]
    assert small["maxResults"] == small["total"] == len(small["comments"]) <= 20
    # GET issue is not capped
    whole = (await client.get(f"/rest/api/3/issue/{key}", params={"fields": "comment"})).json()
    assert len(whole["fields"]["comment"]["comments"]) == whole["fields"]["comment"]["total"] == 27


async def test_search_embeds_the_40_most_recent_histories(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    key = await _busy_issue(client, sb, comments=0, edits=45)
    rec = sb.store.issue(key)
    assert rec is not None and len(rec.histories) > 45
    params = {"jql": f"key = {key}", "fields": "summary", "expand": "changelog"}
    [issue] = (await client.get("/rest/api/3/search/jql", params=params)).json()["issues"]
    log = issue["changelog"]
    assert (log["startAt"], log["maxResults"], log["total"]) == (0, 40, len(rec.histories))
    # "sorted by date, starting from the most recent" (the spec's expand text)
    newest_first = [str(h.id) for h in reversed(rec.histories)]
    assert [h["id"] for h in log["histories"]] == newest_first[:40]
    created = [h["created"] for h in log["histories"]]
    assert created == sorted(created, reverse=True)
    got = (await client.get(f"/rest/api/3/issue/{key}", params={"expand": "changelog"})).json()
    assert got["changelog"]["maxResults"] == min(100, len(rec.histories))  # GET issue: 100
    assert [h["id"] for h in got["changelog"]["histories"]] == newest_first[:100]


async def test_bulkfetch_caps_like_search_and_reports_missing_issues(
    client: httpx.AsyncClient, sb: Sandbox
) -> None:
    key = await _busy_issue(client, sb, comments=22, edits=41)
    rec = sb.store.issue(key)
    assert rec is not None
    r = await client.post(
        "/rest/api/3/issue/bulkfetch",
        json={
            "issueIdsOrKeys": [key, "ENG-999999"],
            "fields": ["comment", "summary"],
            "expand": ["changelog"],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    [issue] = body["issues"]
    assert issue["self"].startswith("http://sandbox.test/rest/api/3/issue/")
    comment = issue["fields"]["comment"]
    assert (len(comment["comments"]), comment["maxResults"], comment["total"]) == (20, 20, 22)
    assert (issue["changelog"]["maxResults"], issue["changelog"]["total"]) == (
        40,
        len(rec.histories),
    )
    assert body["issueErrors"] == [
        {
            "id": "ENG-999999",
            "errorMessage": "Issue does not exist or you do not have permission to see it.",
        }
    ]


# -- renderedFields: dates and times for the requesting user ------------------------------

FIXTURES = ("jira", "fixtures", "cloud-v3-demisto")  # under ../shared


@pytest.mark.parametrize(
    ("name", "today"),
    [
        # "today" for the user (Asia/Jerusalem) when each response was recorded: the date
        # its "Today ..." values carry
        ("get_issue_test/raw_response.json", date(2023, 4, 20)),
        ("get_specific_field_test/raw_response.json", date(2023, 5, 1)),
        ("get_issue_query_test/raw_response.json", date(2023, 5, 1)),
    ],
)
def test_rendered_times_match_real_jira_cloud_responses(name: str, today: date) -> None:
    """Every rendered date/time in real Cloud responses, recomputed from the raw value."""
    from jirakit.sandbox.views import render_date, render_datetime

    path = require_shared(*FIXTURES, *name.split("/"))
    data = json.loads(path.read_text(encoding="utf-8"))
    issues = data.get("issues") or [data]
    tz = ZoneInfo("Asia/Jerusalem")
    seen = 0
    for issue in issues:
        for fid, shown in issue["renderedFields"].items():
            raw = issue["fields"].get(fid)
            if not isinstance(shown, str) or not isinstance(raw, str) or not raw[:4].isdigit():
                continue
            expected = render_date(raw) if len(raw) == 10 else render_datetime(raw, tz, today)
            assert expected == shown, (fid, raw)
            seen += 1
    assert seen >= 5


@pytest.fixture
def early(clock: FrozenClock) -> Sandbox:
    """One issue created at 20:00 UTC on Sunday 1 Feb 2026, due 9 Mar 2026."""
    clock.set(datetime(2026, 2, 1, 20, 0, tzinfo=UTC))
    return Sandbox(seed=7, issues=120, projects=3, clock=clock)


async def _rendered(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    params = {
        "jql": f"key = {key}",
        "fields": "created,duedate,summary",
        "expand": "renderedFields",
    }
    r = await client.get("/rest/api/3/search/jql", params=params)
    assert r.status_code == 200, r.text
    rendered: dict[str, Any] = r.json()["issues"][0]["renderedFields"]
    return rendered


async def test_rendered_dates_follow_the_viewers_time_zone_and_day(
    early: Sandbox, clock: FrozenClock, client_for: Any
) -> None:
    store = early.store
    admin = store.users[early.admin_account_id]
    async with client_for(early) as client:
        r = await client.post(
            "/rest/api/3/issue",
            json={
                "fields": {
                    "project": {"key": "ENG"},
                    "issuetype": {"name": "Task"},
                    "summary": "Time zones",
                    "duedate": "2026-03-09",
                }
            },
        )
        assert r.status_code == 201, r.text
        key = r.json()["key"]

        async def shown(tz: str) -> dict[str, Any]:
            admin["timeZone"] = tz  # a profile change: shared user object, then changed()
            store.changed()
            return await _rendered(client, key)

        got = await shown("UTC")
        assert (got["created"], got["duedate"], got["summary"]) == (
            "Today 8:00 PM",
            "09/Mar/26",
            None,
        )
        assert (await shown("Asia/Tokyo"))["created"] == "Today 5:00 AM"  # 2 Feb, 05:00 there
        assert (await shown("America/New_York"))["created"] == "Today 3:00 PM"
        assert (await shown("Asia/Kolkata"))["created"] == "Today 1:30 AM"

        clock.advance(days=1)  # Monday 2 Feb, 20:00 UTC (same cache entries, new day)
        assert (await _rendered(client, key))["created"] == "Yesterday 1:30 AM"
        assert (await shown("America/New_York"))["created"] == "Yesterday 3:00 PM"
        clock.advance(days=4)  # Friday 6 Feb
        assert (await _rendered(client, key))["created"] == "Sunday 3:00 PM"
        clock.advance(days=2)  # Sunday 8 Feb: a week on, the full form
        assert (await _rendered(client, key))["created"] == "01/Feb/26 3:00 PM"
        # GET issue renders the same way
        got_issue = (
            await client.get(f"/rest/api/3/issue/{key}", params={"expand": "renderedFields"})
        ).json()
        assert got_issue["renderedFields"]["created"] == "01/Feb/26 3:00 PM"
        assert got_issue["renderedFields"]["duedate"] == "09/Mar/26"


async def test_a_query_being_paged_is_not_run_again(client: httpx.AsyncClient, sb: Sandbox) -> None:
    """Later pages read the snapshot the token names, even with many other queries run in
    between (snapshots kept most-recently-used), so JQL is evaluated once per query."""
    engine = sb.search
    runs: list[str] = []
    execute = engine.execute

    def counting(query: Any, jql: str, *args: Any, **kwargs: Any) -> Any:
        runs.append(jql)
        return execute(query, jql, *args, **kwargs)

    engine.execute = counting  # type: ignore[method-assign]
    params = {"jql": "project = ENG ORDER BY key", "maxResults": 5}
    body = (await client.get("/rest/api/3/search/jql", params=params)).json()
    seen = [i["id"] for i in body["issues"]]
    for round_no in range(3):
        for n in range(40):  # other queries: 120 snapshots in all, more than are kept
            other = f"project = OPS AND created > -{1000 + 40 * round_no + n}d"
            r = await client.get("/rest/api/3/search/jql", params={"jql": other})
            assert r.status_code == 200, r.text
        body = (
            await client.get(
                "/rest/api/3/search/jql", params={**params, "nextPageToken": body["nextPageToken"]}
            )
        ).json()
        seen += [i["id"] for i in body["issues"]]
    assert runs.count("project = ENG ORDER BY key") == 1
    ordered = sorted(sb.store.iter_project_issues(10000), key=lambda r: key_number(r.key))
    assert seen == [r.sid for r in ordered[:20]]
