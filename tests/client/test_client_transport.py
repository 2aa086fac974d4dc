"""The sharded async transport over a real socket: every slot comes back; it is used for
the site unless a proxy from the environment applies to it (NO_PROXY honoured)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from jirakit import AsyncJira, BasicAuth, OAuth2Auth, RateLimitConfig, RetryPolicy
from jirakit.client._transport import ShardedAsyncTransport, env_proxy
from jirakit.errors import TransportError
from jirakit.sandbox import Sandbox

AUTH = BasicAuth("me@acme.com", "tok")


async def test_concurrent_requests_spread_over_shards_and_release():
    sandbox = Sandbox(seed=2, issues=30)
    with sandbox.serve() as url:
        async with AsyncJira(
            url,
            auth=BasicAuth("admin@example.com", "sandbox-token"),
            rate_limit=RateLimitConfig(max_concurrency=12),
        ) as jira:
            transport = jira._http._transport
            assert isinstance(transport, ShardedAsyncTransport)
            assert transport.shards == 3
            ids = [i.id async for i in jira.search.iter("project = ENG", limit=20)]
            issues = await asyncio.gather(
                *(jira.issues.get(i, fields=["summary"]) for i in ids * 3)
            )
            assert len(issues) == 3 * len(ids) > 20
            assert {i.id for i in issues} == set(ids)
            assert transport._busy == [0, 0, 0]
            missing = await asyncio.gather(
                *(jira.request("GET", "/issue/NOPE-1") for _ in range(5)), return_exceptions=True
            )
            assert all(type(e).__name__ == "NotFound" for e in missing)
            assert transport._busy == [0, 0, 0]


async def test_proxies_from_the_environment_keep_httpx_transport(proxy_env):
    proxy_env(https_proxy="http://proxy.invalid:3128")
    async with AsyncJira("https://acme.atlassian.net", auth=BasicAuth("a@b.c", "t")) as jira:
        assert not isinstance(jira._http._transport, ShardedAsyncTransport)
        assert jira._http._mounts  # httpx mounted the proxy


# -- which transport, with proxies in the environment --------------------------------------

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
SITE = "https://acme.atlassian.net"


@pytest.fixture
def proxy_env(monkeypatch):
    """A clean slate of *_proxy variables (both cases), then set what the test asks for."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), value)

    return set_env


@pytest.mark.parametrize(
    ("env", "url", "proxy"),
    [
        ({}, SITE, None),
        ({"no_proxy": "localhost,127.0.0.1"}, SITE, None),
        ({"https_proxy": "http://proxy:3128"}, SITE, "http://proxy:3128"),
        ({"https_proxy": "http://proxy:3128"}, "http://jira.internal", None),
        ({"http_proxy": "http://proxy:3128"}, SITE, None),
        ({"all_proxy": "http://proxy:3128"}, SITE, "http://proxy:3128"),
        ({"all_proxy": "http://all:1", "https_proxy": "http://s:2"}, SITE, "http://s:2"),
        ({"https_proxy": "http://p:1", "no_proxy": "atlassian.net"}, SITE, None),
        ({"https_proxy": "http://p:1", "no_proxy": ".atlassian.net"}, SITE, None),
        ({"https_proxy": "http://p:1", "no_proxy": "acme.atlassian.net"}, SITE, None),
        ({"https_proxy": "http://p:1", "no_proxy": "corp.example, acme.atlassian.net"}, SITE, None),
        ({"https_proxy": "http://p:1", "no_proxy": "other.atlassian.net"}, SITE, "http://p:1"),
        ({"https_proxy": "http://p:1", "no_proxy": "cme.atlassian.net"}, SITE, "http://p:1"),
        ({"https_proxy": "http://p:1", "no_proxy": "corp.example,*"}, SITE, None),
        (
            {"https_proxy": "http://p:1", "no_proxy": "jira.corp:8443"},
            "https://jira.corp:8443",
            None,
        ),
        ({"http_proxy": "http://p:1", "no_proxy": "10.0.0.0/8"}, "http://10.1.2.3:8080", None),
        ({"http_proxy": "http://p:1", "no_proxy": "10.0.0.0/8"}, "http://11.1.2.3", "http://p:1"),
        ({"http_proxy": "http://p:1", "no_proxy": "::1"}, "http://[::1]:8080", None),
        ({"http_proxy": "http://p:1", "no_proxy": "127.0.0.1"}, "http://127.0.0.1:9", None),
    ],
)
def test_env_proxy_for_a_url(proxy_env, env, url, proxy):
    proxy_env(**env)
    assert env_proxy(url) == proxy


async def test_no_proxy_alone_keeps_the_sharded_pools(proxy_env):
    """A bare NO_PROXY (``getproxies() == {'no': ...}``) names no proxy at all."""
    proxy_env(no_proxy="localhost,127.0.0.1,.corp.example")
    sandbox = Sandbox(seed=2, issues=30)
    with sandbox.serve() as url:
        async with AsyncJira(
            url, auth=BasicAuth(*sandbox.auth), rate_limit=RateLimitConfig(max_concurrency=32)
        ) as jira:
            transport = jira._http._transport
            assert isinstance(transport, ShardedAsyncTransport) and transport.shards == 8
            ids = [i.id async for i in jira.search.iter("project = ENG", limit=10)]
            issues = await asyncio.gather(
                *(jira.issues.get(i, fields=["summary"]) for i in ids * 4)
            )
            assert [i.id for i in issues] == ids * 4 and len(ids) == 10
            assert transport._busy == [0] * 8


class FakeProxy:
    """A forward proxy on a real socket that records each request line: it answers a
    plain-HTTP request itself (as if from the target) and refuses CONNECT tunnels."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode()
            self.lines.append(line)
            if line.startswith("CONNECT "):
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            else:
                body = json.dumps({"accountId": "via-proxy", "displayName": "Proxy"}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            await writer.drain()
        finally:
            writer.close()


async def test_a_proxy_that_applies_carries_the_requests(proxy_env):
    async with FakeProxy() as proxy:
        proxy_env(http_proxy=proxy.url, no_proxy="localhost,127.0.0.1")
        limits = RateLimitConfig(max_concurrency=32)
        async with AsyncJira("http://jira.corp.example", auth=AUTH, rate_limit=limits) as jira:
            assert not isinstance(jira._http._transport, ShardedAsyncTransport)
            assert not any(
                isinstance(t, ShardedAsyncTransport) for t in jira._http._mounts.values()
            )
            assert (await jira.myself()).account_id == "via-proxy"
    assert proxy.lines == ["GET http://jira.corp.example/rest/api/3/myself HTTP/1.1"]


async def test_an_https_proxy_that_applies_is_asked_for_a_tunnel(proxy_env):
    async with FakeProxy() as proxy:
        proxy_env(https_proxy=proxy.url, no_proxy="127.0.0.1")
        limits = RateLimitConfig(max_concurrency=32)
        retry = RetryPolicy.never()
        async with AsyncJira(SITE, auth=AUTH, rate_limit=limits, retry=retry) as jira:
            with pytest.raises(TransportError):
                await jira.myself()  # the fake proxy refuses the tunnel
    assert proxy.lines == ["CONNECT acme.atlassian.net:443 HTTP/1.1"]


async def test_a_site_excluded_by_no_proxy_goes_direct_on_sharded_pools(proxy_env):
    """HTTPS_PROXY and HTTP_PROXY set, the site excluded by NO_PROXY: the site is reached
    directly through the sharded pools; another host still goes through the proxy."""
    sandbox = Sandbox(seed=2, issues=30)
    async with FakeProxy() as proxy:
        proxy_env(http_proxy=proxy.url, https_proxy=proxy.url, no_proxy="localhost,127.0.0.1")
        with sandbox.serve() as url:
            async with AsyncJira(
                url, auth=BasicAuth(*sandbox.auth), rate_limit=RateLimitConfig(max_concurrency=32)
            ) as jira:
                sharded = jira._http._transport_for_url(httpx.URL(f"{url}/rest/api/3/myself"))
                assert isinstance(sharded, ShardedAsyncTransport) and sharded.shards == 8
                ids = [i.id async for i in jira.search.iter("project = ENG", limit=20)]
                issues = await asyncio.gather(
                    *(jira.issues.get(i, fields=["summary"]) for i in ids * 4)
                )
                assert [i.id for i in issues] == ids * 4 and len(ids) > 8
                assert sharded._busy == [0] * 8
                assert proxy.lines == []  # the site never went through the proxy
                other = await jira.request("GET", "http://media.example.net/f", api="absolute")
                assert other == {"accountId": "via-proxy", "displayName": "Proxy"}
    assert proxy.lines == ["GET http://media.example.net/f HTTP/1.1"]


@pytest.mark.parametrize(
    ("site", "no_proxy"),
    [
        (SITE, ".atlassian.net"),
        (SITE, "atlassian.net"),
        (SITE, "acme.atlassian.net"),
        (SITE, "ACME.atlassian.net , corp.example"),
        ("https://jira.corp:8443", "jira.corp:8443"),
        ("https://jira.corp:8443", "corp"),
        ("http://10.1.2.3:8080", "10.1.2.3"),
        ("http://10.1.2.3", "10.1.2.3"),
        ("http://10.1.2.3", "10.0.0.0/8"),
        ("http://[::1]:8080", "::1"),
    ],
)
async def test_a_site_excluded_by_no_proxy_is_routed_to_sharded_pools(proxy_env, site, no_proxy):
    """However NO_PROXY names the site, httpx routes the site to the sharded pools (our
    mount outranks its NO_PROXY patterns) and any other host to the proxy."""
    proxy_env(http_proxy="http://proxy.invalid:3128", https_proxy="http://proxy.invalid:3128")
    proxy_env(no_proxy=no_proxy)
    limits = RateLimitConfig(max_concurrency=32)
    async with AsyncJira(site, auth=AUTH, rate_limit=limits) as jira:
        chosen = jira._http._transport_for_url(httpx.URL(f"{site}/rest/api/3/myself"))
        assert isinstance(chosen, ShardedAsyncTransport)
        for elsewhere in ("https://api.media.atlassian.com/file/1", "http://elsewhere.example/"):
            transport = jira._http._transport_for_url(httpx.URL(elsewhere))
            assert transport is not jira._http._transport  # a proxy mount: not direct
            assert not isinstance(transport, ShardedAsyncTransport)


async def test_no_proxy_star_sends_everything_direct(proxy_env):
    proxy_env(https_proxy="http://proxy.invalid:3128", no_proxy="corp.example,*")
    async with AsyncJira(SITE, auth=AUTH, rate_limit=RateLimitConfig(max_concurrency=32)) as jira:
        site = jira._http._transport_for_url(httpx.URL(f"{SITE}/rest/api/3/myself"))
        assert isinstance(site, ShardedAsyncTransport)
        other = jira._http._transport_for_url(httpx.URL("https://api.media.atlassian.com/f"))
        assert other is jira._http._transport  # httpx honours "*" too: direct


async def test_few_connections_need_no_shards(proxy_env):
    async with AsyncJira(SITE, auth=AUTH, rate_limit=RateLimitConfig(max_concurrency=4)) as jira:
        assert not isinstance(jira._http._transport, ShardedAsyncTransport)
        assert not jira._http._mounts


async def test_an_oauth_client_shards_for_its_api_host(proxy_env):
    proxy_env(https_proxy="http://proxy.invalid:3128", no_proxy="api.atlassian.com")
    auth = OAuth2Auth(
        "client-id", "client-secret", token={"access_token": "a", "expires_at": 10**12}
    )
    async with AsyncJira(auth=auth, rate_limit=RateLimitConfig(max_concurrency=32)) as jira:
        url = httpx.URL("https://api.atlassian.com/ex/jira/1234/rest/api/3/myself")
        assert isinstance(jira._http._transport_for_url(url), ShardedAsyncTransport)
