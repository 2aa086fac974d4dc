"""Rate limiting: token buckets per tenant + endpoint + method, Jira's 429s and headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jirakit.sandbox.clock import FrozenClock
from jirakit.sandbox.limits import (
    RateLimitMiddleware,
    TokenBucket,
    endpoint_template,
    iso_reset,
    tenant_of,
)

START = datetime(2026, 6, 5, 5, 59, 30, tzinfo=UTC)


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path})


def tiny_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/rest/api/3/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/status", echo),
        ]
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client(clock: FrozenClock) -> AsyncIterator[MakeClient]:
    clients: list[httpx.AsyncClient] = []

    def make(**kwargs: object) -> httpx.AsyncClient:
        limiter = RateLimitMiddleware(tiny_app(), clock=clock, **kwargs)  # type: ignore[arg-type]
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=limiter), base_url="http://sandbox.test"
        )
        client.limiter = limiter  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.aclose()


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/rest/api/3/issue/ENG-12", "/rest/api/3/issue/{issueIdOrKey}"),
        ("/rest/api/3/issue/10042/comment", "/rest/api/3/issue/{issueIdOrKey}/comment"),
        ("/rest/api/2/issue/eng-7/comment/10001", "/rest/api/2/issue/{issueIdOrKey}/comment/{id}"),
        ("/rest/api/3/issue/bulkfetch", "/rest/api/3/issue/bulkfetch"),
        ("/rest/api/3/search/jql", "/rest/api/3/search/jql"),
        ("/rest/api/3/project/ENG", "/rest/api/3/project/{projectIdOrKey}"),
        ("/rest/api/3/project/search", "/rest/api/3/project/search"),
        ("/rest/agile/1.0/board/7/sprint", "/rest/agile/1.0/board/{id}/sprint"),
        ("/rest/agile/1.0/epic/ENG-3/issue", "/rest/agile/1.0/epic/{issueIdOrKey}/issue"),
        (
            "/rest/api/3/user/5b10a2844c20165700ede21g/properties",
            "/rest/api/3/user/{id}/properties",
        ),
        ("/ex/jira/0f1e2d3c-aaaa/rest/api/3/myself", "/ex/jira/{cloudId}/rest/api/3/myself"),
    ],
)
def test_endpoint_template(path: str, template: str):
    assert endpoint_template(path) == template


def test_iso_reset_is_minute_precision_rounded_up():
    assert iso_reset(datetime(2026, 6, 5, 6, 0, tzinfo=UTC)) == "2026-06-05T06:00Z"
    assert iso_reset(datetime(2026, 6, 5, 5, 59, 0, 1, tzinfo=UTC)) == "2026-06-05T06:00Z"


def test_tenant_prefers_oauth_account_then_credentials_then_address():
    base = {"type": "http", "headers": [], "client": ("10.0.0.1", 5000)}
    assert tenant_of(base) == "addr:10.0.0.1"
    with_auth = {**base, "headers": [(b"authorization", b"Basic YTpi")]}
    assert tenant_of(with_auth).startswith("auth:")
    assert "YTpi" not in tenant_of(with_auth)
    oauth = {**with_auth, "state": {"jirakit.oauth_account": "acc-1"}}
    assert tenant_of(oauth) == "oauth:acc-1"


def test_token_bucket_refills_at_rate():
    bucket = TokenBucket(rate=2.0, capacity=4, now=0.0)
    for _ in range(4):
        assert bucket.available(0.0)
        bucket.take()
    assert not bucket.available(0.0)
    assert bucket.wait() == pytest.approx(0.5)
    assert bucket.available(0.5)
    assert bucket.full_in() == pytest.approx(1.5)
    assert bucket.available(100.0)
    assert bucket.remaining == 4  # never more than the capacity


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.1, max_value=50),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=80),
)
def test_token_bucket_never_allows_more_than_burst_plus_rate(
    rate: float, burst: int, gaps: list[float]
):
    bucket = TokenBucket(rate, burst, now=0.0)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        if bucket.available(now):
            bucket.take()
            allowed += 1
        assert allowed <= burst + rate * now + 1e-6
        assert 0 <= bucket.remaining <= burst


async def test_allowed_responses_carry_rate_limit_headers(make_client: MakeClient):
    client = make_client(rate=1.0, burst=10)
    r = await client.get("/rest/api/3/myself")
    assert r.status_code == 200
    assert r.headers["x-ratelimit-limit"] == "10"
    assert r.headers["x-ratelimit-remaining"] == "9"
    assert r.headers["x-ratelimit-reset"] == "2026-06-05T06:00Z"  # full in 1 s, rounded up
    assert "x-ratelimit-nearlimit" not in r.headers
    for _ in range(7):
        r = await client.get("/rest/api/3/myself")
    assert r.headers["x-ratelimit-remaining"] == "2"
    assert "x-ratelimit-nearlimit" not in r.headers  # 2/10 is not under 20%
    r = await client.get("/rest/api/3/myself")
    assert r.headers["x-ratelimit-remaining"] == "1"
    assert r.headers["x-ratelimit-nearlimit"] == "true"


async def test_over_budget_is_jiras_429(make_client: MakeClient, clock: FrozenClock):
    client = make_client(rate=0.5, burst=2)
    assert (await client.get("/rest/api/3/issue/ENG-1")).status_code == 200
    assert (await client.get("/rest/api/3/issue/ENG-2")).status_code == 200  # same template
    r = await client.get("/rest/api/3/issue/ENG-3")
    assert r.status_code == 429
    assert r.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert r.headers["retry-after"] == "2"  # one token every 2 s
    assert r.headers["x-ratelimit-limit"] == "2"
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert r.headers["x-ratelimit-nearlimit"] == "true"
    assert r.headers["ratelimit-reason"] == "jira-burst-based"
    assert r.headers["x-ratelimit-reset"] == "2026-06-05T06:00Z"
    assert r.headers["x-arequestid"]
    clock.advance(seconds=1.9)
    assert (await client.get("/rest/api/3/issue/ENG-3")).status_code == 429
    clock.advance(seconds=0.1)
    assert (await client.get("/rest/api/3/issue/ENG-3")).status_code == 200
    assert client.limiter.rejected == 2  # type: ignore[attr-defined]


async def test_buckets_are_per_tenant_endpoint_and_method(make_client: MakeClient):
    client = make_client(rate=1.0, burst=1)
    assert (await client.get("/rest/api/3/myself", auth=("a", "x"))).status_code == 200
    assert (await client.get("/rest/api/3/myself", auth=("a", "x"))).status_code == 429
    # another tenant, another endpoint, another method: fresh buckets
    assert (await client.get("/rest/api/3/myself", auth=("b", "x"))).status_code == 200
    assert (await client.get("/rest/api/3/serverInfo", auth=("a", "x"))).status_code == 200
    assert (await client.post("/rest/api/3/myself", auth=("a", "x"))).status_code == 200
    # unauthenticated callers share a bucket per client address
    assert (await client.get("/rest/api/3/myself")).status_code == 200
    assert (await client.get("/rest/api/3/myself")).status_code == 429


async def test_only_rest_paths_are_limited(make_client: MakeClient):
    client = make_client(rate=1.0, burst=1)
    for _ in range(3):
        r = await client.get("/status")
        assert r.status_code == 200
        assert "x-ratelimit-limit" not in r.headers


async def test_per_issue_write_limit(make_client: MakeClient, clock: FrozenClock):
    client = make_client(rate=100.0, burst=100, per_issue_writes=2)
    for tenant in ("a", "b"):  # the per-issue limit is shared by every caller
        r = await client.put("/rest/api/3/issue/ENG-9", auth=(tenant, "x"))
        assert r.status_code == 200
    r = await client.post("/rest/api/3/issue/eng-9/comment", auth=("c", "x"))
    assert r.status_code == 429
    assert r.headers["ratelimit-reason"] == "jira-per-issue-on-write"
    assert r.headers["retry-after"] == "1"
    # reads and other issues are not affected
    assert (await client.get("/rest/api/3/issue/ENG-9")).status_code == 200
    assert (await client.put("/rest/api/3/issue/ENG-10")).status_code == 200
    clock.advance(seconds=0.5)
    assert (await client.delete("/rest/api/3/issue/ENG-9")).status_code == 200


def test_bad_configuration_is_refused():
    app = tiny_app()
    with pytest.raises(ValueError, match="rate"):
        RateLimitMiddleware(app, rate=0)
    with pytest.raises(ValueError, match="burst"):
        RateLimitMiddleware(app, rate=1, burst=0)
    with pytest.raises(ValueError, match="per_issue_writes"):
        RateLimitMiddleware(app, rate=1, per_issue_writes=0)
    assert RateLimitMiddleware(app, rate=2.6).burst == 3
