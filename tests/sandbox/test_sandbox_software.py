"""``/rest/software/1.0``: the token-paged board, backlog, sprint and epic issue reads.

Pages carry ``issues``, ``isLast`` and, unless last, ``nextPageToken`` (no ``startAt``,
no ``total``), as Atlassian's reference and jira.js 6's zod schema ``SoftwareIssueResults``
describe them; the issues are the Agile API's and validate against the Software spec's
``SearchResults`` issues. Every token-paged read returns exactly the issues of its
``/rest/agile/1.0`` counterpart, in the same order.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator
from test_sandbox_agile import SPEC, AgileConformance, _software_spec
from test_sandbox_conformance import URN

from jirakit.sandbox import Sandbox
from needs import require_shared

S = "/rest/software/1.0"
A = "/rest/agile/1.0"


@pytest.fixture(scope="module")
def page_schema() -> Draft4Validator:
    require_shared(*SPEC)
    conformance = AgileConformance(_software_spec())
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["issues", "isLast"],
        "properties": {
            "expand": {"type": "string"},
            "issues": {
                "type": "array",
                "items": {"$ref": URN + "#/components/schemas/IssueBean"},
            },
            "isLast": {"type": "boolean"},
            "nextPageToken": {"type": "string"},
            "names": {"type": "object"},
            "schema": {"type": "object"},
            "warningMessages": {"type": "array", "items": {"type": "string"}},
        },
    }
    return Draft4Validator(schema, registry=conformance.registry)


async def read_all(
    c: httpx.AsyncClient, url: str, validator: Draft4Validator, **params: Any
) -> list[str]:
    keys: list[str] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        query = {**params, **({"nextPageToken": token} if token else {})}
        r = await c.get(S + url, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        errors = [e.message[:200] for e in validator.iter_errors(page)]
        assert not errors, errors[:3]
        assert "startAt" not in page and "total" not in page
        keys += [i["key"] for i in page["issues"]]
        if page["isLast"]:
            assert "nextPageToken" not in page
            return keys
        token = page["nextPageToken"]
        assert token not in seen
        seen.add(token)


async def agile_keys(c: httpx.AsyncClient, url: str, **params: Any) -> list[str]:
    r = await c.get(A + url, params={"maxResults": 100, **params})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] <= 100
    return [i["key"] for i in page["issues"]]


async def test_token_pages_match_the_agile_reads(
    sb: Sandbox, client: httpx.AsyncClient, page_schema: Draft4Validator
) -> None:
    board = next(b for b in sb.store.boards.values() if b["type"] == "scrum")
    sprint = next(s for s in sb.store.sprints.values() if s.get("boardId") == board["id"])
    epic = next(
        r
        for r in sb.store.iter_project_issues(board["location"]["projectId"])
        if r.fields["issuetype"]["hierarchyLevel"] == 1 and sb.store.children.get(r.id)
    )
    pairs = [
        (f"/board/{board['id']}/issue", f"/board/{board['id']}/issue"),
        (f"/board/{board['id']}/backlog", f"/board/{board['id']}/backlog"),
        (
            f"/board/{board['id']}/sprint/{sprint['id']}/issue",
            f"/board/{board['id']}/sprint/{sprint['id']}/issue",
        ),
        (f"/sprint/{sprint['id']}/issue", f"/sprint/{sprint['id']}/issue"),
        (f"/epic/{epic.key}/issue", f"/epic/{epic.key}/issue"),
        (
            f"/board/{board['id']}/epic/{epic.id}/issue",
            f"/board/{board['id']}/epic/{epic.id}/issue",
        ),
    ]
    for software, agile in pairs:
        expected = await agile_keys(client, agile)
        got = await read_all(client, software, page_schema, maxResults=7, fields="summary")
        assert got == expected, software
        assert expected, f"{agile} is empty: the test would prove nothing"
    count = await client.get(S + f"/board/{board['id']}/issue/approximate-count")
    assert count.json() == {"count": len(await agile_keys(client, f"/board/{board['id']}/issue"))}
    backlog = await client.get(S + f"/board/{board['id']}/backlog/approximate-count?jql=type=Bug")
    bugs = await agile_keys(client, f"/board/{board['id']}/backlog", jql="type = Bug")
    assert backlog.json() == {"count": len(bugs)}


async def test_page_sizes(client_for: Any, page_schema: Draft4Validator) -> None:
    big = Sandbox(seed=7, issues=400, projects=2)
    board = next(iter(big.store.boards.values()))
    url = S + f"/board/{board['id']}/issue"
    async with client_for(big) as c:
        every = await read_all(c, f"/board/{board['id']}/issue", page_schema, fields="key")
        assert len(every) > 100
        first = (await c.get(url)).json()
        assert len(first["issues"]) == 50 and first["isLast"] is False  # the default page
        full = (await c.get(url, params={"maxResults": 5000})).json()
        assert len(full["issues"]) == 100  # full issues: 100 a page
        ids = (await c.get(url, params={"fields": "id", "maxResults": 5000})).json()
        assert ids["isLast"] is True and len(ids["issues"]) == len(every)  # ids: up to 5000


async def test_defaults_jql_order_and_errors(
    sb: Sandbox, client: httpx.AsyncClient, page_schema: Draft4Validator
) -> None:
    board = next(iter(sb.store.boards.values()))
    url = S + f"/board/{board['id']}/issue"
    first = (await client.get(url)).json()
    assert len(first["issues"]) == min(
        50, len(await read_all(client, f"/board/{board['id']}/issue", page_schema, maxResults=100))
    )
    assert "summary" in first["issues"][0]["fields"]  # every navigable field by default
    assert "sprint" in first["issues"][0]["fields"] or board["type"] == "kanban"
    ordered = await read_all(
        client, f"/board/{board['id']}/issue", page_schema, jql="ORDER BY key DESC", fields="key"
    )
    assert ordered == sorted(
        ordered, key=lambda k: (k.split("-")[0], int(k.split("-")[1])), reverse=True
    )
    bad = await client.get(url, params={"nextPageToken": "forged"})
    assert bad.status_code == 400 and bad.json()["errorMessages"] == [
        "The provided next page token is invalid or expired."
    ]
    token = (await client.get(url, params={"maxResults": 2})).json()["nextPageToken"]
    other = await client.get(
        url, params={"maxResults": 2, "nextPageToken": token, "jql": "type = Bug"}
    )
    assert other.status_code == 400  # a token belongs to its query
    assert (await client.get(url, params={"jql": "project ="})).status_code == 400
    assert (await client.get(S + "/board/999/issue")).status_code == 404
    none = await read_all(client, "/epic/none/issue", page_schema, fields="key", maxResults=100)
    store = sb.store
    assert none
    for key in none:
        rec = store.issue(key)
        assert rec is not None and rec.fields["issuetype"]["hierarchyLevel"] == 0
        parent = store.issues.get(rec.parent_id) if rec.parent_id else None
        assert parent is None or parent.fields["issuetype"]["hierarchyLevel"] != 1
