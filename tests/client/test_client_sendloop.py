"""The send loop: retries, pacing, rate-limit state and concurrency, over MockTransport."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from client_doubles import BASE, FakeSleep, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira, RateLimitConfig, RetryPolicy
from jirakit.errors import (
    ConnectError,
    NotFound,
    RateLimited,
    ResponseDecodeError,
    ServerError,
    TimeoutError,
)

AUTH = BasicAuth("me@acme.com", "tok")
ISSUE = {"id": "10001", "key": "P-1", "fields": {"summary": "hello"}}
PATH = "/rest/api/3/issue/P-1"


def client(router: Router, sleep: FakeSleep, **kw) -> Jira:
    return Jira(BASE, auth=AUTH, transport=router.transport(), sleep=sleep, rand=lambda: 1.0, **kw)


def test_429_then_success_waits_as_told(router: Router, fake_sleep: FakeSleep):
    limited = {
        "Retry-After": "2",
        "X-RateLimit-Remaining": "0",
        "RateLimit-Reason": "jira-burst-based",
    }
    router.add("GET", PATH, ok({}, 429, **limited), ok(ISSUE))
    with client(router, fake_sleep) as jira:
        assert jira.issues.get("P-1").summary == "hello"
        assert jira.stats.retries == 1 and jira.stats.by_status == {429: 1, 200: 1}
        assert jira.rate_limit is not None and jira.rate_limit.reason == "jira-burst-based"
    assert fake_sleep.calls == [2.0]


def test_gives_up_after_max_attempts(router: Router, fake_sleep: FakeSleep):
    router.always("GET", PATH, ok({"errorMessages": ["busy"]}, 503))
    with client(router, fake_sleep, retry=RetryPolicy(max_attempts=3)) as jira:
        with pytest.raises(ServerError, match="busy"):
            jira.issues.get("P-1")
    assert len(router.requests) == 3
    assert fake_sleep.calls == [0.5, 1.0]  # full jitter pinned at the ceiling


def test_post_is_not_resent_after_a_5xx(router: Router, fake_sleep: FakeSleep):
    router.add("POST", "/rest/api/3/issue", ok({}, 502))
    with client(router, fake_sleep) as jira:
        with pytest.raises(ServerError):
            jira.issues.create(project="P", summary="x", issue_type="Task")
    assert len(router.requests) == 1


def test_post_is_resent_after_429(router: Router, fake_sleep: FakeSleep):
    router.add(
        "POST",
        "/rest/api/3/issue",
        ok({}, 429, **{"Retry-After": "1"}),
        ok({"id": "1", "key": "P-9", "self": "x"}, 201),
    )
    with client(router, fake_sleep) as jira:
        assert jira.issues.create(project="P", summary="x", issue_type="Task").key == "P-9"
    assert len(router.requests) == 2


def test_connect_errors_are_retried_even_for_post(router: Router, fake_sleep: FakeSleep):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    router.add("POST", "/rest/api/3/issue", refuse, ok({"id": "1", "key": "P-2", "self": "x"}, 201))
    with client(router, fake_sleep) as jira:
        assert jira.issues.create(project="P", summary="x", issue_type="Task").key == "P-2"


def test_read_timeouts_surface_as_jirakit_errors(router: Router, fake_sleep: FakeSleep):
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    router.always("POST", "/rest/api/3/issue", slow)
    with client(router, fake_sleep) as jira:
        with pytest.raises(TimeoutError) as info:
            jira.issues.create(project="P", summary="x", issue_type="Task")
    assert info.value.phase == "read"
    assert len(router.requests) == 1  # a POST that may have landed is not re-sent


def test_connect_error_exhausts_into_connect_error(router: Router, fake_sleep: FakeSleep):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    router.always("GET", PATH, refuse)
    with client(router, fake_sleep, retry=RetryPolicy(max_attempts=2)) as jira:
        with pytest.raises(ConnectError):
            jira.issues.get("P-1")
    assert len(router.requests) == 2


def test_near_limit_header_slows_later_requests(router: Router, fake_sleep: FakeSleep):
    router.add("GET", PATH, ok(ISSUE, **{"X-RateLimit-NearLimit": "true"}))
    router.always("GET", PATH, ok(ISSUE))
    now = [0.0]
    config = RateLimitConfig(near_limit_rate=4.0, near_limit_cooldown=60.0)
    with client(router, fake_sleep, rate_limit=config, clock=lambda: now[0]) as jira:
        for _ in range(4):
            jira.issues.get("P-1")
        assert jira.rate_limit is not None and jira.rate_limit.near_limit
        assert jira.stats.throttled_seconds == pytest.approx(0.25 + 0.5 + 0.75)
    assert fake_sleep.calls == pytest.approx([0.25, 0.5, 0.75])


def test_configured_rate_paces_per_endpoint(router: Router, fake_sleep: FakeSleep):
    router.always("GET", PATH, ok(ISSUE))
    router.always("GET", "/rest/api/3/myself", ok({"accountId": "a"}))
    with client(
        router, fake_sleep, rate_limit=RateLimitConfig(rate=10, burst=1), clock=lambda: 0.0
    ) as jira:
        jira.issues.get("P-1")
        jira.myself()
        jira.issues.get("P-1")
    assert fake_sleep.calls == pytest.approx([0.1])  # only the second GET issue waited


async def test_async_retries_and_concurrency_limit(router: Router, fake_sleep: FakeSleep):
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return ok(ISSUE)

    async with AsyncJira(
        BASE,
        auth=AUTH,
        transport=httpx.MockTransport(handler),
        rate_limit=RateLimitConfig(max_concurrency=4),
    ) as jira:
        results = await asyncio.gather(*(jira.issues.get("P-1") for _ in range(20)))
    assert len(results) == 20 and peak == 4


async def test_async_429_then_success(router: Router, fake_sleep: FakeSleep):
    router.add("GET", PATH, ok({}, 429, **{"Retry-After": "3"}), ok(ISSUE))
    async with AsyncJira(
        BASE, auth=AUTH, transport=router.async_transport(), sleep=fake_sleep.asleep
    ) as jira:
        assert (await jira.issues.get("P-1")).key == "P-1"
    assert fake_sleep.calls == [3.0]


async def test_async_gives_up_on_long_retry_after(router: Router, fake_sleep: FakeSleep):
    router.add("GET", PATH, ok({}, 429, **{"Retry-After": "9999"}))
    async with AsyncJira(
        BASE, auth=AUTH, transport=router.async_transport(), sleep=fake_sleep.asleep
    ) as jira:
        with pytest.raises(RateLimited) as info:
            await jira.issues.get("P-1")
    assert info.value.retry_after == 9999.0 and fake_sleep.calls == []


def test_a_cut_short_body_is_read_again_when_idempotent(router: Router, fake_sleep: FakeSleep):
    cut = httpx.Response(
        200, content=b'{"id": "10001", "key": "P-', headers={"content-type": "application/json"}
    )
    router.add("GET", PATH, cut, ok(ISSUE))
    router.add("POST", "/rest/api/3/issue", httpx.Response(201, content=b'{"id": "1", "ke'))
    with client(router, fake_sleep) as jira:
        assert jira.issues.get("P-1").key == "P-1"
        assert jira.stats.retries == 1
        with pytest.raises(ResponseDecodeError) as info:
            jira.issues.create(project="P", summary="x", issue_type="Task")
    assert info.value.unreadable
    assert len([r for r in router.requests if r.method == "POST"]) == 1  # not re-sent


def test_a_shape_error_is_not_retried(router: Router, fake_sleep: FakeSleep):
    router.add("GET", PATH, ok({"key": "P-1"}))  # valid JSON, but no "id"
    with client(router, fake_sleep) as jira:
        with pytest.raises(ResponseDecodeError) as info:
            jira.issues.get("P-1")
    assert not info.value.unreadable
    assert len(router.requests) == 1


def test_streamed_errors_keep_jiras_message():
    from jirakit.sandbox import Sandbox

    sandbox = Sandbox(seed=2, issues=5)
    with sandbox.serve() as url, Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        with pytest.raises(NotFound, match="Issue does not exist"):
            jira.request("GET", "/issue/NOPE-1", stream=True)
