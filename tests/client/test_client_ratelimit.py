"""The client-side pacer is pure arithmetic over an injected clock."""

from __future__ import annotations

import pytest

from jirakit.client import RateLimitConfig, RateLimitState
from jirakit.client._ratelimit import Pacer


def test_unpaced_by_default():
    pacer = Pacer(RateLimitConfig())
    assert all(pacer.reserve("GET /x", 0.0) == 0.0 for _ in range(1000))


def test_token_bucket_allows_a_burst_then_paces():
    pacer = Pacer(RateLimitConfig(rate=10.0, burst=3))
    waits = [pacer.reserve("GET /issue/{key}", 0.0) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.1)
    assert waits[4] == pytest.approx(0.2)


def test_buckets_are_independent():
    pacer = Pacer(RateLimitConfig(rate=1.0, burst=1))
    assert pacer.reserve("GET /a", 0.0) == 0.0
    assert pacer.reserve("GET /b", 0.0) == 0.0
    assert pacer.reserve("GET /a", 0.0) == pytest.approx(1.0)


def test_tokens_refill_over_time():
    pacer = Pacer(RateLimitConfig(rate=2.0, burst=1))
    assert pacer.reserve("k", 0.0) == 0.0
    assert pacer.reserve("k", 0.5) == 0.0
    assert pacer.reserve("k", 0.5) == pytest.approx(0.5)


def test_near_limit_slows_the_bucket_down_then_recovers():
    pacer = Pacer(RateLimitConfig(rate=None, near_limit_rate=2.0, near_limit_cooldown=10.0))
    assert pacer.reserve("k", 0.0) == 0.0
    pacer.near_limit("k", 0.0)
    waits = [pacer.reserve("k", 0.0) for _ in range(3)]
    assert waits == pytest.approx([0.5, 1.0, 1.5])
    assert pacer.reserve("other", 0.0) == 0.0
    assert pacer.reserve("k", 11.0) == 0.0


def test_state_from_jira_headers():
    state = RateLimitState.from_headers(
        {
            "x-ratelimit-limit": "100",
            "x-ratelimit-remaining": "12",
            "x-ratelimit-reset": "2026-06-05T06:00Z",
            "x-ratelimit-nearlimit": "true",
            "ratelimit-reason": "jira-burst-based",
        },
        bucket="GET /rest/api/3/issue/{key}",
    )
    assert state is not None
    assert (state.limit, state.remaining, state.near_limit) == (100, 12, True)
    assert state.reset is not None and state.reset.hour == 6
    assert state.reason == "jira-burst-based"
    assert RateLimitState.from_headers({"content-type": "application/json"}) is None


def test_a_new_slow_window_does_not_inherit_old_debt():
    pacer = Pacer(RateLimitConfig(rate=None, near_limit_rate=2.0, near_limit_cooldown=10.0))
    pacer.near_limit("k", 0.0)
    for _ in range(50):
        pacer.reserve("k", 0.0)  # 25 s of debt inside the first window
    assert pacer.reserve("k", 100.0) == 0.0  # long after: unpaced again
    pacer.near_limit("k", 100.0)
    assert pacer.reserve("k", 100.0) <= 0.5  # one slot at the slow rate, not 25 s
