"""The behaviour layers wired into `Sandbox`: OAuth end to end with jirakit's own client,
rate limits and faults that the client rides out, https."""

from __future__ import annotations

import ssl
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jirakit import BasicAuth, Jira, OAuth2Auth, RateLimitConfig, RetryPolicy, authorization_url
from jirakit.errors import RateLimited
from jirakit.sandbox import Sandbox
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
    sandbox = Sandbox(seed=4, issues=10, rate_limit=5)
    # Jira says NearLimit before it says 429: the client slows down and never gets one.
    with sandbox.serve() as base, Jira(base, auth=BasicAuth(*sandbox.auth)) as polite:
        for _ in range(12):
            polite.myself()
        assert polite.stats.by_status == {200: 12}
        assert polite.stats.throttled_seconds > 0
        assert polite.rate_limit is not None and polite.rate_limit.limit == 5
    # Without the slow-down it runs into 429s and waits them out (Retry-After).
    blunt = RateLimitConfig(near_limit_cooldown=0)
    with (
        sandbox.serve() as base,
        Jira(base, auth=BasicAuth(*sandbox.auth), rate_limit=blunt) as jira,
    ):
        for _ in range(12):
            jira.myself()
        assert jira.stats.by_status.get(429, 0) >= 1
        assert jira.stats.retries == jira.stats.by_status[429]
        assert jira.stats.by_status[200] == 12
    # With no retries the 429 surfaces, carrying Retry-After.
    with (
        sandbox.serve() as base,
        Jira(
            base, auth=BasicAuth(*sandbox.auth), rate_limit=blunt, retry=RetryPolicy.never()
        ) as impatient,
    ):
        with pytest.raises(RateLimited) as info:
            hammer(impatient, 20)
        assert info.value.retry_after is not None


def hammer(jira: Jira, times: int) -> None:
    for _ in range(times):
        jira.myself()


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
