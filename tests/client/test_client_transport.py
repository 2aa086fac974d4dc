"""The sharded async transport over a real socket: every slot comes back."""

from __future__ import annotations

import asyncio

from jirakit import AsyncJira, BasicAuth, RateLimitConfig
from jirakit.client._transport import ShardedAsyncTransport
from jirakit.sandbox import Sandbox


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


async def test_proxies_from_the_environment_keep_httpx_transport(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    async with AsyncJira("https://acme.atlassian.net", auth=BasicAuth("a@b.c", "t")) as jira:
        assert not isinstance(jira._http._transport, ShardedAsyncTransport)
        assert jira._http._mounts  # httpx mounted the proxy
