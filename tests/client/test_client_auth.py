"""Auth flows: Basic, Bearer, and OAuth 2.0 (3LO) with rotating refresh tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, BearerAuth, Jira, OAuth2Auth, authorization_url
from jirakit.errors import AuthFlowError, ConfigurationError, Unauthorized

TOKEN_URL = "https://auth.atlassian.com/oauth/token"
RESOURCES = "https://api.atlassian.com/oauth/token/accessible-resources"
CLOUD = "https://api.atlassian.com/ex/jira/cloud-1"


def test_basic_auth_header(router: Router):
    router.add("GET", "/rest/api/3/myself", ok({"accountId": "abc"}))
    with Jira(BASE, auth=BasicAuth("me@acme.com", "s3cret"), transport=router.transport()) as jira:
        assert jira.myself().account_id == "abc"
    expected = "Basic " + base64.b64encode(b"me@acme.com:s3cret").decode()
    assert router.requests[0].headers["Authorization"] == expected
    assert "s3cret" not in repr(BasicAuth("me@acme.com", "s3cret"))


def test_bearer_auth_for_datacenter(router: Router):
    router.add("GET", "/rest/api/2/myself", ok({"name": "admin", "key": "admin"}))
    auth = BearerAuth("pat-123")
    with Jira(BASE, auth=auth, flavour="datacenter", transport=router.transport()) as jira:
        assert jira.myself().id == "admin"
    assert router.requests[0].headers["Authorization"] == "Bearer pat-123"
    assert "pat-123" not in repr(auth)


def test_missing_credentials_are_a_clear_error():
    with pytest.raises(ConfigurationError, match="email and an API token"):
        BasicAuth("", "x")
    with pytest.raises(ConfigurationError, match="base_url is required"):
        Jira(auth=BasicAuth("a@b.c", "x"))
    with pytest.raises(ConfigurationError, match="http"):
        Jira("acme.atlassian.net", auth=BasicAuth("a@b.c", "x"))


def test_authorization_url_has_atlassian_parameters():
    url, state = authorization_url("cid", "https://app.example/cb", ["read:jira-work"])
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "auth.atlassian.com" and parts.path == "/authorize"
    assert query["audience"] == ["api.atlassian.com"]
    assert query["prompt"] == ["consent"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["cid"]
    assert query["state"] == [state] and len(state) >= 32
    assert set(query["scope"][0].split()) == {"read:jira-work", "offline_access"}


class TokenServer:
    """Atlassian's token endpoint: rotating refresh tokens; an old one revokes the grant."""

    def __init__(self) -> None:
        self.issued = 0
        self.valid_refresh = "r0"
        self.valid_access: set[str] = set()
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        assert request.headers["content-type"] == "application/json"
        assert body["client_id"] == "cid" and body["client_secret"] == "csecret"
        with self.lock:
            if body["grant_type"] == "authorization_code":
                assert body["code"] == "the-code"
            elif body["refresh_token"] != self.valid_refresh:
                return ok(
                    {
                        "error": "invalid_grant",
                        "error_description": "Unknown or invalid refresh token.",
                    },
                    403,
                )
            self.issued += 1
            access, refresh = f"a{self.issued}", f"r{self.issued}"
            self.valid_refresh = refresh
            self.valid_access.add(access)
        return ok(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": 3600,
                "token_type": "Bearer",
                "scope": "read:jira-work offline_access",
            }
        )

    def api(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid_access:
            return ok({"code": 401, "message": "Unauthorized"}, 401)
        return ok({"accountId": "me"})


def oauth_router(server: TokenServer) -> Router:
    router = Router()
    router.always("POST", "/oauth/token", server)
    router.always(
        "GET",
        "/oauth/token/accessible-resources",
        ok([{"id": "cloud-1", "url": "https://acme.atlassian.net", "name": "acme"}]),
    )
    router.always("GET", "/ex/jira/cloud-1/rest/api/3/myself", server.api)
    return router


def test_oauth_refresh_on_start_rotation_and_site_resolution():
    server = TokenServer()
    router = oauth_router(server)
    saved: list[dict] = []
    auth = OAuth2Auth("cid", "csecret", refresh_token="r0", on_token_update=saved.append)
    with Jira(auth=auth, transport=router.transport()) as jira:
        assert jira.myself().account_id == "me"
        assert jira.base_url == CLOUD
    assert [t["refresh_token"] for t in saved] == ["r1"]
    assert auth.token["refresh_token"] == "r1"
    assert [r.url.path for r in router.requests] == [
        "/oauth/token",
        "/oauth/token/accessible-resources",
        "/ex/jira/cloud-1/rest/api/3/myself",
    ]
    assert "Authorization" not in router.requests[0].headers  # token request carries no bearer


def test_oauth_proactive_refresh_before_expiry():
    server = TokenServer()
    server.valid_access.add("old")
    server.valid_refresh = "r-old"
    now = [1000.0]
    saved: list[dict] = []
    auth = OAuth2Auth(
        "cid",
        "csecret",
        token={"access_token": "old", "refresh_token": "r-old", "expires_at": 1000.0 + 3600},
        on_token_update=saved.append,
        clock=lambda: now[0],
    )
    router = oauth_router(server)
    with Jira(CLOUD, auth=auth, transport=router.transport()) as jira:
        jira.myself()
        assert auth.refresh_count == 0
        now[0] += 3600 - 30  # inside the 60 s leeway
        jira.myself()
    assert auth.refresh_count == 1 and saved[-1]["refresh_token"] == "r1"


def test_oauth_refresh_and_retry_once_on_401():
    server = TokenServer()
    server.valid_refresh = "r-old"
    auth = OAuth2Auth(
        "cid",
        "csecret",
        token={"access_token": "revoked", "refresh_token": "r-old", "expires_at": 10**12},
    )
    router = oauth_router(server)
    with Jira(CLOUD, auth=auth, transport=router.transport()) as jira:
        assert jira.myself().account_id == "me"
    paths = [r.url.path for r in router.requests]
    assert paths == [
        "/ex/jira/cloud-1/rest/api/3/myself",
        "/oauth/token",
        "/ex/jira/cloud-1/rest/api/3/myself",
    ]


def test_oauth_401_after_refresh_is_unauthorized_not_a_loop():
    server = TokenServer()
    server.valid_refresh = "r-old"
    router = Router()
    router.always("POST", "/oauth/token", server)
    router.always("GET", "/ex/jira/cloud-1/rest/api/3/myself", ok({"message": "nope"}, 401))
    auth = OAuth2Auth(
        "cid",
        "csecret",
        token={"access_token": "x", "refresh_token": "r-old", "expires_at": 10**12},
    )
    with Jira(CLOUD, auth=auth, transport=router.transport()) as jira:
        with pytest.raises(Unauthorized):
            jira.myself()
    assert len(router.requests) == 3


def test_revoked_grant_is_an_auth_flow_error():
    server = TokenServer()
    router = oauth_router(server)
    auth = OAuth2Auth("cid", "csecret", refresh_token="stale")
    with Jira(CLOUD, auth=auth, transport=router.transport()) as jira:
        with pytest.raises(AuthFlowError, match="authorize again"):
            jira.myself()


def test_concurrent_sync_refreshes_collapse_into_one():
    server = TokenServer()
    router = oauth_router(server)
    auth = OAuth2Auth("cid", "csecret", refresh_token="r0")
    errors: list[BaseException] = []
    with Jira(CLOUD, auth=auth, transport=router.transport()) as jira:

        def work() -> None:
            try:
                jira.myself()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert server.issued == 1 and auth.refresh_count == 1


async def test_concurrent_async_refreshes_collapse_into_one():
    server = TokenServer()
    router = oauth_router(server)
    saved: list[dict] = []

    async def save(token: dict) -> None:
        saved.append(token)

    auth = OAuth2Auth("cid", "csecret", refresh_token="r0", on_token_update=save)
    async with AsyncJira(auth=auth, transport=router.async_transport()) as jira:
        users = await asyncio.gather(*(jira.myself() for _ in range(10)))
    assert {u.account_id for u in users} == {"me"}
    assert server.issued == 1 and len(saved) == 1 and saved[0]["refresh_token"] == "r1"


async def test_async_refresh_and_retry_on_401():
    server = TokenServer()
    server.valid_refresh = "r-old"
    auth = OAuth2Auth(
        "cid",
        "csecret",
        token={"access_token": "revoked", "refresh_token": "r-old", "expires_at": 10**12},
    )
    router = oauth_router(server)
    async with AsyncJira(CLOUD, auth=auth, transport=router.async_transport()) as jira:
        assert (await jira.myself()).account_id == "me"
    assert auth.refresh_count == 1


def test_code_exchange_then_use():
    server = TokenServer()
    router = oauth_router(server)
    saved: list[dict] = []
    auth = OAuth2Auth.from_code(
        "the-code",
        client_id="cid",
        client_secret="csecret",
        redirect_uri="https://app.example/cb",
        on_token_update=saved.append,
        transport=router.transport(),
    )
    assert server.bodies[0]["grant_type"] == "authorization_code"
    assert server.bodies[0]["redirect_uri"] == "https://app.example/cb"
    assert saved[0]["refresh_token"] == "r1"
    with Jira(auth=auth, transport=router.transport()) as jira:
        assert jira.myself().account_id == "me"


async def test_async_code_exchange():
    server = TokenServer()
    router = oauth_router(server)
    auth = await OAuth2Auth.afrom_code(
        "the-code",
        client_id="cid",
        client_secret="csecret",
        redirect_uri="https://app.example/cb",
        transport=router.async_transport(),
    )
    assert auth.token["access_token"] == "a1"


def test_site_must_be_chosen_when_several():
    auth = OAuth2Auth("cid", "csecret", token={"access_token": "a", "expires_at": 10**12})
    sites = [
        {"id": "1", "url": "https://a.atlassian.net", "name": "a"},
        {"id": "2", "url": "https://b.atlassian.net", "name": "b"},
    ]
    with pytest.raises(AuthFlowError, match="https://a.atlassian.net, https://b.atlassian.net"):
        auth.pick_site(sites)
    auth.site = "https://b.atlassian.net/"
    assert auth.pick_site(sites) == "https://api.atlassian.com/ex/jira/2"
    with pytest.raises(AuthFlowError, match="no Jira site"):
        auth.pick_site([])
