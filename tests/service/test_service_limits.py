"""Per-tenant rate limit on our API."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import delete

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


def test_scaled_out_on_postgres_a_tenant_has_one_limit(make_service: Any, db_url: str):
    """Two serve processes on one database: on Postgres they take from one bucket per
    tenant (a load balancer spreading a tenant over N processes must not give it N times
    the limit); on SQLite, one machine's process keeps its own."""
    first = make_service(rate_limit=0.1)  # a burst of one, then one request per 10 s
    second = make_service(rate_limit=0.1)
    key = first.tenant()
    other = first.tenant()
    assert first.client(key).get("/unified/connection").status_code == 200
    answer = second.client(key).get("/unified/connection")
    if db_url.startswith("sqlite"):
        assert answer.status_code == 200  # this process's own bucket
    else:
        assert answer.status_code == 429
        assert 5 <= int(answer.headers["retry-after"]) <= 11
        assert answer.json()["title"] == "Too Many Requests"
    # Another tenant's bucket is its own, whichever process serves it.
    assert second.client(other).get("/unified/connection").status_code == 200


def test_a_deleted_api_key_stops_working_within_the_cache_time(
    make_service: Any, monkeypatch: pytest.MonkeyPatch
):
    from jirakit.service import deps
    from jirakit.service.models import ApiKey
    from jirakit.service.tenants import tenant_for_key

    monkeypatch.setattr(deps, "KEY_CACHE_SECONDS", 0.3)
    service = make_service()
    key = service.tenant()
    api = service.client(key)
    assert api.get("/unified/connection").status_code == 200
    with service.state.sessions() as session, session.begin():
        tenant_id = tenant_for_key(session, key)
        session.execute(delete(ApiKey).where(ApiKey.tenant_id == tenant_id))
    deadline = time.monotonic() + 10  # a hang limit; the cache holds the key 0.3 s
    while api.get("/unified/connection").status_code == 200:
        assert time.monotonic() < deadline, "the deleted key still works"
        time.sleep(0.05)
    answer = api.get("/unified/connection")
    assert answer.status_code == 401 and "unknown API key" in answer.text
    # Writes (through the idempotency layer, which looks the key up too) are refused.
    refused = api.post("/unified/webhook", json={}, headers={"Idempotency-Key": "after-revocation"})
    assert refused.status_code == 401


def test_a_deleted_tenant_with_a_cached_key_is_a_401_not_a_500(
    make_service: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
):
    """On Postgres the shared bucket names the tenant (a foreign key): a tenant deleted
    while a process still trusts its key is refused as unknown, not failed with a 500."""
    from jirakit.service import deps

    monkeypatch.setattr(deps, "KEY_CACHE_SECONDS", 600.0)
    service = make_service(rate_limit=100.0)
    api = service.client(service.tenant())
    assert api.get("/unified/connection").status_code == 200
    service.forget_tenants()
    answer = api.get("/unified/connection")
    if db_url.startswith("sqlite"):
        assert answer.status_code == 200  # the process's own buckets; the key is cached
    else:
        assert answer.status_code == 401 and "unknown API key" in answer.text
        assert api.get("/unified/connection").status_code == 401  # forgotten, looked up
