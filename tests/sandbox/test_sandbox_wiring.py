"""The behaviour layers wired into `Sandbox`: OAuth end to end with jirakit's own client,
rate limits and faults that the client rides out, https."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jirakit import BasicAuth, Jira, OAuth2Auth, RateLimitConfig, RetryPolicy, authorization_url
from jirakit.errors import RateLimited
from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox.faults import FaultSpecError
from jirakit.sandbox.tls import make_self_signed


def test_oauth_3lo_end_to_end_with_the_client():
    sandbox = Sandbox(seed=4, issues=10)
    with sandbox.serve() as base:
        url, state = authorization_url(
            "sandbox-client",
            "https://app.example/cb",
            ["read:jira-work", "write:jira-work"],
            auth_url=base,
        )
        consent = httpx.get(url, follow_redirects=False)
        assert consent.status_code == 302
        back = parse_qs(urlsplit(consent.headers["location"]).query)
        assert back["state"] == [state]
        saved: list[dict] = []
        auth = OAuth2Auth.from_code(
            back["code"][0],
            client_id="sandbox-client",
            client_secret="sandbox-secret",
            redirect_uri="https://app.example/cb",
            on_token_update=saved.append,
            auth_url=base,
            api_url=base,
        )
        with Jira(auth=auth) as jira:
            me = jira.myself()
            assert me.account_id == sandbox.admin_account_id
            assert jira.base_url is not None and "/ex/jira/" in jira.base_url
            assert jira.search.count("project = ENG") > 0
        assert saved and saved[0]["refresh_token"]


def test_rate_limits_pacing_and_retries():
    """5 requests/s per endpoint, on a frozen clock that only the client's sleeps move: the
    counts below are exact, whatever the machine's speed."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    began = clock.now()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    def elapsed() -> float:
        return (clock.now() - began).total_seconds()

    sandbox = Sandbox(seed=4, issues=10, rate_limit=5, clock=clock)
    auth = BasicAuth(*sandbox.auth)
    with sandbox.serve() as base:
        # Jira says NearLimit before it says 429: the client slows down and never gets one.
        with Jira(base, auth=auth, sleep=sleep, clock=elapsed) as polite:
            for _ in range(12):
                polite.myself()
            assert polite.stats.by_status == {200: 12}
            assert polite.stats.throttled_seconds == pytest.approx(sum(slept))
            assert sum(slept) > 0
            assert polite.rate_limit is not None and polite.rate_limit.limit == 5
        assert elapsed() >= (12 - 5) / 5  # a burst of 5, then the refill rate at most

        # Without the slow-down it runs into 429s and waits them out (Retry-After: 1 s):
        # 5 from the full bucket, a 429, 5 more after the wait, a 429, the last 2.
        clock.advance(60)  # the bucket is full again
        slept.clear()
        blunt = RateLimitConfig(near_limit_cooldown=0)
        with Jira(base, auth=auth, rate_limit=blunt, sleep=sleep, clock=elapsed) as jira:
            for _ in range(12):
                jira.myself()
            assert jira.stats.by_status == {200: 12, 429: 2}
            assert jira.stats.retries == 2
        assert slept == [1.0, 1.0]

        # With no retries the 429 surfaces on the sixth request, carrying Retry-After.
        clock.advance(60)
        never = RetryPolicy.never()
        with Jira(base, auth=auth, rate_limit=blunt, retry=never, sleep=sleep) as impatient:
            for _ in range(5):
                impatient.myself()
            with pytest.raises(RateLimited) as info:
                impatient.myself()
        assert info.value.retry_after == 1.0
        assert info.value.headers["x-ratelimit-limit"] == "5"
        assert info.value.headers["ratelimit-reason"] == "jira-burst-based"


def test_faults_are_seeded_and_retried():
    def statuses(seed: int) -> list[int]:
        sandbox = Sandbox(seed=4, issues=10, faults="503=0.3,500=0.2", fault_seed=seed)
        with sandbox.serve() as base, httpx.Client(base_url=base, auth=sandbox.auth) as http:
            return [http.get("/rest/api/3/myself").status_code for _ in range(30)]

    first, again = statuses(7), statuses(7)
    assert first == again and set(first) >= {200, 503, 500}
    sandbox = Sandbox(seed=4, issues=10, faults="503=0.3,500=0.2", fault_seed=7)
    with (
        sandbox.serve() as base,
        Jira(base, auth=BasicAuth(*sandbox.auth), sleep=lambda s: None) as jira,
    ):
        assert all(jira.issues.get(f"ENG-{n}", fields=["summary"]).key for n in range(1, 5))
        assert jira.stats.retries > 0
    with pytest.raises(FaultSpecError):
        Sandbox(seed=4, issues=5, faults="418=lots")


def test_https_with_a_generated_ca(tmp_path):
    files = make_self_signed(tmp_path)
    sandbox = Sandbox(seed=4, issues=5)
    with sandbox.serve(tls=files) as base:
        assert base.startswith("https://")
        context = ssl.create_default_context(cafile=str(files.ca))
        with httpx.Client(verify=context) as http:
            assert http.get(f"{base}/rest/api/3/serverInfo", auth=sandbox.auth).status_code == 200
        with httpx.Client() as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{base}/rest/api/3/serverInfo")
