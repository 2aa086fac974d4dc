"""OAuth 2.0 (3LO) emulation: the full dance, rotation, reuse revoking the grant, expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jirakit.sandbox.clock import FrozenClock
from jirakit.sandbox.oauth import (
    OAUTH_ACCOUNT_KEY,
    OAUTH_SCOPES_KEY,
    OAuthClient,
    OAuthMiddleware,
    OAuthProvider,
    OAuthSite,
)

BASE = "http://sandbox.test"
CLOUD = "c0ffee00-0000-4000-8000-000000000001"
CLIENT = OAuthClient("app-1", "s3cret", ("https://app.example/callback",))
REDIRECT = "https://app.example/callback"
SCOPES = "read:jira-work write:jira-work offline_access"
INVALID_REFRESH = {
    "error": "invalid_grant",
    "error_description": "Unknown or invalid refresh token.",
}


async def whoami(request: Request) -> JSONResponse:
    state = request.scope.get("state") or {}
    return JSONResponse(
        {
            "account": state.get(OAUTH_ACCOUNT_KEY),
            "scopes": list(state.get(OAUTH_SCOPES_KEY) or []),
            "authorization": request.headers.get("authorization"),
            "path": request.url.path,
            "base": str(request.base_url),
        }
    )


def inner_app() -> Starlette:
    return Starlette(routes=[Route("/rest/api/3/myself", whoami)])


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def provider(clock: FrozenClock) -> OAuthProvider:
    return OAuthProvider(
        account_id="acc-admin",
        clients=[CLIENT],
        site=OAuthSite(cloud_id=CLOUD, name="acme"),
        clock=clock,
    )


@pytest.fixture
async def client(provider: OAuthProvider) -> AsyncIterator[httpx.AsyncClient]:
    app = OAuthMiddleware(inner_app(), provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "audience": "api.atlassian.com",
        "client_id": CLIENT.client_id,
        "scope": SCOPES,
        "redirect_uri": REDIRECT,
        "state": "xyz",
        "response_type": "code",
        "prompt": "consent",
    }
    params.update(overrides)
    return params


async def authorize(client: httpx.AsyncClient, **overrides: str) -> dict[str, list[str]]:
    r = await client.get("/authorize", params=authorize_params(**overrides))
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


async def token(client: httpx.AsyncClient, **body: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        json={"client_id": CLIENT.client_id, "client_secret": CLIENT.client_secret, **body},
    )


async def login(client: httpx.AsyncClient, **overrides: str) -> dict[str, object]:
    query = await authorize(client, **overrides)
    r = await token(
        client, grant_type="authorization_code", code=query["code"][0], redirect_uri=REDIRECT
    )
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()
    return data


async def myself(client: httpx.AsyncClient, access: object) -> httpx.Response:
    return await client.get(
        f"/ex/jira/{CLOUD}/rest/api/3/myself", headers={"Authorization": f"Bearer {access}"}
    )


async def test_the_full_dance(client: httpx.AsyncClient, clock: FrozenClock):
    # authorize: auto-consent, redirect back with a code and the state
    query = await authorize(client)
    assert query["state"] == ["xyz"]
    # code -> tokens
    r = await token(
        client, grant_type="authorization_code", code=query["code"][0], redirect_uri=REDIRECT
    )
    assert r.status_code == 200
    first = r.json()
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == 3600
    assert first["scope"] == SCOPES
    assert first["refresh_token"]
    # a code is single-use
    again = await token(
        client, grant_type="authorization_code", code=query["code"][0], redirect_uri=REDIRECT
    )
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"

    # accessible-resources: the site and its cloudId
    r = await client.get(
        "/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {first['access_token']}"},
    )
    assert r.status_code == 200
    [site] = r.json()
    assert site["id"] == CLOUD
    assert site["url"] == BASE
    assert site["name"] == "acme"
    assert site["scopes"] == ["read:jira-work", "write:jira-work"]
    assert site["avatarUrl"].startswith("https://")

    # an API call through /ex/jira/{cloudId}
    r = await myself(client, first["access_token"])
    assert r.status_code == 200
    seen = r.json()
    assert seen["account"] == "acc-admin"
    assert seen["scopes"] == SCOPES.split()
    assert seen["authorization"] is None  # the Bearer token never reaches the core
    assert seen["path"] == "/rest/api/3/myself"
    assert seen["base"] == f"{BASE}/ex/jira/{CLOUD}/"  # self links keep the prefix

    # refresh: the refresh token rotates
    clock.advance(seconds=60)
    r = await token(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await myself(client, second["access_token"])).status_code == 200

    # reusing the old refresh token within 10 minutes of its rotation is tolerated
    clock.advance(seconds=5 * 60)
    r = await token(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert r.status_code == 200
    third = r.json()

    # ... outside the window it revokes the whole grant
    clock.advance(seconds=5 * 60 + 1)
    r = await token(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert r.status_code == 403
    assert r.json() == INVALID_REFRESH
    for tokens in (first, second, third):
        r = await myself(client, tokens["access_token"])
        assert r.status_code == 401
        assert r.json() == {"code": 401, "message": "Unauthorized"}
        r = await token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert r.status_code == 403


async def test_access_tokens_expire_and_refresh_tokens_renew_them(
    client: httpx.AsyncClient, clock: FrozenClock
):
    tokens = await login(client)
    clock.advance(seconds=3599)
    assert (await myself(client, tokens["access_token"])).status_code == 200
    clock.advance(seconds=1)
    assert (await myself(client, tokens["access_token"])).status_code == 401
    r = await client.get(
        "/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert r.status_code == 401
    r = await token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert r.status_code == 200
    assert (await myself(client, r.json()["access_token"])).status_code == 200


async def test_unused_refresh_tokens_expire_after_90_days(
    client: httpx.AsyncClient, clock: FrozenClock
):
    tokens = await login(client)
    clock.advance(days=90, seconds=1)
    r = await token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert r.status_code == 403 and r.json() == INVALID_REFRESH


async def test_configurable_access_token_lifetime(clock: FrozenClock):
    provider = OAuthProvider(account_id="a", clients=[CLIENT], clock=clock, access_token_ttl=60)
    app = OAuthMiddleware(inner_app(), provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        tokens = await login(c)
        assert tokens["expires_in"] == 60
        clock.advance(seconds=60)
        r = await c.get(
            f"/ex/jira/{provider.site.cloud_id}/rest/api/3/myself",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert r.status_code == 401


async def test_without_offline_access_there_is_no_refresh_token(client: httpx.AsyncClient):
    tokens = await login(client, scope="read:jira-work")
    assert "refresh_token" not in tokens


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"audience": "example.com"}, "invalid_request"),
        ({"scope": ""}, "invalid_scope"),
    ],
)
async def test_authorize_errors_go_back_to_the_client(
    client: httpx.AsyncClient, overrides: dict[str, str], error: str
):
    query = await authorize(client, **overrides)
    assert query["error"] == [error]
    assert query["state"] == ["xyz"]
    assert "code" not in query


async def test_authorize_needs_a_state(client: httpx.AsyncClient):
    params = authorize_params()
    del params["state"]
    r = await client.get("/authorize", params=params)
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["invalid_request"]


@pytest.mark.parametrize(
    "overrides", [{"client_id": "nobody"}, {"redirect_uri": "https://evil.example/cb"}]
)
async def test_authorize_never_redirects_to_unknown_places(
    client: httpx.AsyncClient, overrides: dict[str, str]
):
    r = await client.get("/authorize", params=authorize_params(**overrides))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "location" not in r.headers


async def test_token_endpoint_errors(client: httpx.AsyncClient):
    code = (await authorize(client))["code"][0]
    r = await client.post(
        "/oauth/token",
        json={"grant_type": "authorization_code", "client_id": "app-1", "client_secret": "no"},
    )
    assert r.status_code == 401
    assert r.json() == {"error": "access_denied", "error_description": "Unauthorized"}
    r = await token(client, grant_type="authorization_code", code=code, redirect_uri=BASE)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    r = await token(client, grant_type="password")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await token(client, grant_type="refresh_token", refresh_token="made-up")
    assert r.status_code == 403 and r.json() == INVALID_REFRESH
    r = await client.post("/oauth/token", content=b"{not json")
    assert r.status_code == 400


async def test_expired_codes_are_refused(client: httpx.AsyncClient, clock: FrozenClock):
    code = (await authorize(client))["code"][0]
    clock.advance(seconds=601)
    r = await token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert r.status_code == 403


async def test_form_encoded_token_requests_work_too(client: httpx.AsyncClient):
    code = (await authorize(client))["code"][0]
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT.client_id,
            "client_secret": CLIENT.client_secret,
        },
    )
    assert r.status_code == 200 and r.json()["access_token"]


async def test_ex_jira_routing(client: httpx.AsyncClient):
    r = await client.get("/ex/jira/not-a-site/rest/api/3/myself", headers={"Authorization": "x"})
    assert r.status_code == 404
    r = await client.get(
        f"/ex/jira/{CLOUD}/rest/api/3/myself", headers={"Authorization": "Bearer forged"}
    )
    assert r.status_code == 401
    assert r.json() == {"code": 401, "message": "Unauthorized"}
    # other credentials pass through to the core unchanged
    r = await client.get(f"/ex/jira/{CLOUD}/rest/api/3/myself", auth=("a@example.com", "t"))
    assert r.status_code == 200
    assert r.json()["authorization"].startswith("Basic ")
    assert r.json()["account"] is None
    # paths outside /ex/jira are not touched
    r = await client.get("/rest/api/3/myself")
    assert r.json()["path"] == "/rest/api/3/myself" and r.json()["base"] == f"{BASE}/"


async def test_authorization_rewrite_for_cores_that_only_read_headers(provider: OAuthProvider):
    app = OAuthMiddleware(
        inner_app(), provider, authorization_for=lambda account: f"Basic for-{account}"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        tokens = await login(c)
        r = await myself(c, tokens["access_token"])
        assert r.json()["authorization"] == "Basic for-acc-admin"
        assert r.json()["account"] == "acc-admin"


async def test_revoke_all(client: httpx.AsyncClient, provider: OAuthProvider):
    tokens = await login(client)
    provider.revoke_all()
    assert (await myself(client, tokens["access_token"])).status_code == 401


async def jirakit_client_session(
    provider: OAuthProvider,
) -> tuple[httpx.ASGITransport, object, list[dict[str, object]]]:
    from jirakit.client import OAuth2Auth, authorization_url

    transport = httpx.ASGITransport(app=OAuthMiddleware(inner_app(), provider))
    url, state = authorization_url(
        CLIENT.client_id, REDIRECT, ["read:jira-work"], state="s1", auth_url=BASE
    )
    async with httpx.AsyncClient(transport=transport) as browser:
        r = await browser.get(url)
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["state"] == [state]
    saved: list[dict[str, object]] = []
    auth = await OAuth2Auth.afrom_code(
        query["code"][0],
        client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret,
        redirect_uri=REDIRECT,
        on_token_update=saved.append,
        auth_url=BASE,
        api_url=BASE,
        transport=transport,
    )
    assert saved and saved[-1]["refresh_token"]
    return transport, auth, saved


async def test_jirakit_oauth_client_against_the_emulation(provider: OAuthProvider):
    transport, auth, _ = await jirakit_client_session(provider)
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:  # type: ignore[arg-type]
        call = auth.resolve_site_call()  # type: ignore[attr-defined]
        site = call.parse(await http.request(call.method, call.path))
        assert site == f"{BASE}/ex/jira/{CLOUD}"
        assert (await http.get(f"{site}/rest/api/3/myself")).json()["account"] == "acc-admin"


async def test_jirakit_oauth_client_refreshes_on_401(provider: OAuthProvider, clock: FrozenClock):
    transport, auth, saved = await jirakit_client_session(provider)
    site = f"{BASE}/ex/jira/{CLOUD}"
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:  # type: ignore[arg-type]
        # the server expires the token before the client expects it: 401, refresh, retry
        clock.advance(seconds=3600)
        first_refresh = saved[-1]["refresh_token"]
        r = await http.get(f"{site}/rest/api/3/myself")
        assert r.status_code == 200
        assert saved[-1]["refresh_token"] != first_refresh
