"""Per-tenant rate limit on our API."""

from __future__ import annotations

from typing import Any

from jirakit.service.ratelimit import TenantLimiter


def test_limiter_is_a_token_bucket_per_tenant():
    now = [0.0]
    limiter = TenantLimiter(2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("a") == 0.5
    assert limiter.take("b") == 0.0  # another tenant has its own bucket
    now[0] += 0.5
    assert limiter.take("a") == 0.0


def test_429_with_retry_after_and_other_tenants_unaffected(make_service: Any):
    service = make_service(rate_limit=1.0)
    noisy = service.client(service.tenant())
    quiet = service.client(service.tenant())
    codes = [noisy.get("/unified/connection") for _ in range(6)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited and codes[0].status_code == 200
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["title"] == "Too Many Requests"
    assert quiet.get("/unified/connection").status_code == 200
