"""Authentication, request ids, error shapes and flavours."""

from __future__ import annotations

from typing import Any

import httpx

from jirakit.sandbox import Sandbox


async def test_basic_auth_and_request_id_header(client: httpx.AsyncClient, sb: Sandbox) -> None:
    r = await client.get("/rest/api/3/myself")
    assert r.status_code == 200
    assert r.json()["accountId"] == sb.admin_account_id
    assert r.json()["emailAddress"] == "admin@example.com"
    assert r.headers["x-arequestid"]
    assert r.headers["x-aaccountid"] == sb.admin_account_id
    r2 = await client.get("/rest/api/3/myself")
    assert r2.headers["x-arequestid"] != r.headers["x-arequestid"]


async def test_bad_credentials_are_401_with_jira_body(sb: Sandbox, client_for: Any) -> None:
    for auth in [("admin@example.com", "wrong"), ("nobody@example.com", "sandbox-token")]:
        async with client_for(sb, auth=auth) as c:
            r = await c.get("/rest/api/3/myself")
        assert r.status_code == 401
        assert r.json() == {
            "errorMessages": [
                "You are not authenticated. Authentication required to perform this operation."
            ],
            "errors": {},
        }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.app), base_url="http://x"
    ) as c:
        assert (await c.get("/rest/api/3/issue/ENG-1")).status_code == 401
        assert (await c.get("/rest/api/3/serverInfo")).status_code == 200


async def test_any_seeded_user_can_log_in(sb: Sandbox, client_for: Any) -> None:
    user = next(u for u in sb.store.users.values() if u["emailAddress"] != "admin@example.com")
    async with client_for(sb, auth=(user["emailAddress"], "sandbox-token")) as c:
        r = await c.get("/rest/api/3/myself")
    assert r.json()["accountId"] == user["accountId"]


async def test_bearer_is_rejected_on_cloud(sb: Sandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.app),
        base_url="http://x",
        headers={"Authorization": "Bearer sandbox-token"},
    ) as c:
        assert (await c.get("/rest/api/3/myself")).status_code == 401


async def test_datacenter_flavour_bearer_pat_and_v2_only(client_for: Any) -> None:
    dc = Sandbox(seed=1, issues=30, flavour="datacenter")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=dc.app),
        base_url="http://dc",
        headers={"Authorization": "Bearer sandbox-token"},
    ) as c:
        me = (await c.get("/rest/api/2/myself")).json()
        assert me["name"] == "admin" and me["key"].startswith("JIRAUSER")
        info = (await c.get("/rest/api/2/serverInfo")).json()
        assert info["deploymentType"] == "Server"
        assert (await c.get("/rest/api/3/myself")).status_code == 404
        r = await c.get("/rest/api/2/search", params={"jql": "project = ENG", "maxResults": 5})
        body = r.json()
        assert r.status_code == 200
        assert body["startAt"] == 0 and body["maxResults"] == 5 and len(body["issues"]) == 5
        assert body["total"] == len(dc.store.by_project[10000])
    async with client_for(dc, auth=("admin", "sandbox-token")) as c:
        assert (await c.get("/rest/api/2/myself")).status_code == 200


async def test_unknown_route_and_bad_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/rest/api/3/nope")
    assert r.status_code == 404
    assert r.json()["errorMessages"][0].startswith("null for uri: ")
    r = await client.post(
        "/rest/api/3/issue", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["errorMessages"] == [
        "Invalid request payload. Refer to the REST API documentation and try again."
    ]


async def test_base_url_follows_the_request(client: httpx.AsyncClient) -> None:
    r = await client.get("/rest/api/3/issue/ENG-1")
    assert r.json()["self"].startswith("http://sandbox.test/rest/api/3/issue/")
    r = await client.get("/rest/api/2/issue/ENG-1")
    assert r.json()["self"].startswith("http://sandbox.test/rest/api/2/issue/")
    assert "@@" not in r.text


async def test_an_outer_middleware_can_vouch_for_an_account(client_for: Any) -> None:
    """The OAuth emulation authenticates upstream and hands the account over in scope state."""
    from starlette.middleware import Middleware

    class Vouch:
        def __init__(self, app: Any, account: str) -> None:
            self.app, self.account = app, account

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope.setdefault("state", {})["jirakit.oauth_account"] = self.account
            await self.app(scope, receive, send)

    plain = Sandbox(seed=1, issues=5)
    someone = next(a for a in plain.store.users if a != plain.admin_account_id)
    sb = Sandbox(seed=1, issues=5, middleware=[Middleware(Vouch, account=someone)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.app), base_url="http://x"
    ) as c:
        r = await c.get("/rest/api/3/myself")
    assert r.status_code == 200 and r.json()["accountId"] == someone


async def test_forced_base_url(client_for: Any) -> None:
    sb = Sandbox(seed=1, issues=5, base_url="https://acme.atlassian.net/")
    async with client_for(sb) as c:
        body = (await c.get("/rest/api/3/issue/ENG-1")).json()
    assert body["self"] == f"https://acme.atlassian.net/rest/api/3/issue/{body['id']}"
    assert body["fields"]["status"]["self"].startswith("https://acme.atlassian.net/rest/api/3/")
