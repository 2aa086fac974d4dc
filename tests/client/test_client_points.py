"""The points budget: Jira's beta headers read, the window paced, quota 429s waited out.

Against the sandbox's points quota over HTTP; the client's clock and sleep move the
sandbox's FrozenClock, so an hour of pacing takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from jirakit import AsyncJira, Jira, RateLimitConfig, RetryPolicy
from jirakit.client import BearerAuth, PointsBudget, RateGovernor
from jirakit.client._ratelimit import PointsPacer, parse_policy_header
from jirakit.errors import RateLimited
from jirakit.sandbox import FrozenClock, PointsQuota, Sandbox
from jirakit.testing.asgi import SyncASGITransport
from jirakit.testing.oauth import SandboxGrant, sandbox_grant

START = datetime(2026, 6, 5, 5, 0, 0, tzinfo=UTC)
BASE = "http://sandbox.test"


def test_the_headers_jira_sends_in_2026():
    # As logged from Jira Cloud in Atlassian's 2026 points-based rate limits thread.
    normal = PointsBudget.from_headers(
        {
            "beta-ratelimit-policy": '"tenant-app-quota";q=100100;w=3600',
            "beta-ratelimit": '"tenant-app-quota";r=17842;t=2107',
            "x-beta-ratelimit-reason": "jira-quota-tenant-based",
            "x-beta-ratelimit-nearlimit": "true",
        },
        now=START,
    )
    assert normal is not None
    assert (normal.policy, normal.limit, normal.window) == ("tenant-app-quota", 100100, 3600.0)
    assert (normal.remaining, normal.reset_in, normal.near_limit) == (17842, 2107.0, True)
    assert normal.reason == "jira-quota-tenant-based"
    assert normal.reset == datetime(2026, 6, 5, 5, 35, 7, tzinfo=UTC)
    # Once spent, Jira stops sending the policy: the quota and window are kept.
    spent = PointsBudget.from_headers(
        {
            "beta-ratelimit": '"tenant-app-quota";r=0;t=2788',
            "x-beta-ratelimit-reset": "2026-03-26T16:00Z",
            "ratelimit-reason": "jira-quota-tenant-based",
            "retry-after": "2788",
        },
        now=START,
        previous=normal,
    )
    assert spent is not None and spent.spent
    assert (spent.limit, spent.window, spent.reset_in) == (100100, 3600.0, 2788.0)
    assert PointsBudget.from_headers({"x-ratelimit-limit": "100"}) is None
    assert parse_policy_header('"a";q=1;w=2, "b";q=3') == ("a", {"q": "1", "w": "2"})


def test_the_pacer_spreads_what_is_left_over_what_is_left_of_the_window():
    pacer = PointsPacer(RateLimitConfig(points_burst=0.01))
    assert pacer.reserve(5.0, 0.0) == 0.0  # nothing known yet: no pacing
    pacer.observe(
        PointsBudget(limit=1000, window=100, remaining=100, reset_in=100.0), "GET /x", 0.0
    )
    # 1 point/s for the rest of the window; a burst of 10 points (1% of 1000)
    waits = [pacer.reserve(5.0, 0.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 5.0, 10.0])
    pacer.observe(PointsBudget(remaining=0, reset_in=40.0), "GET /x", 20.0)
    assert pacer.reserve(1.0, 30.0) == pytest.approx(30.0)  # spent: closed until the reset
    assert pacer.reserve(1.0, 60.0) == 0.0  # a new window: go, and learn from the answer


class Site:
    def __init__(self, points: int, window: float) -> None:
        self.clock = FrozenClock(START)
        self.quota = PointsQuota(points, window=window, clock=self.clock)
        self.sandbox = Sandbox(
            seed=2, issues=30, projects=2, clock=self.clock, points_quota=self.quota
        )
        self.transport = SyncASGITransport(self.sandbox.app)
        self.grant: SandboxGrant = sandbox_grant(BASE, transport=self.transport)
        self.slept: list[float] = []

    def now(self) -> float:
        return self.clock.now().timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds=seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def jira(self, **options: object) -> Jira:
        return Jira(
            self.grant.api_url,
            auth=BearerAuth(self.grant.access_token),
            transport=self.transport,
            clock=self.now,
            sleep=self.sleep,
            rand=lambda: 0.5,
            **options,  # type: ignore[arg-type]
        )

    def spend_the_pool(self) -> None:
        """Another process of the same app spends the shared pool (until a 429). Its
        client is left open: closing it would close the shared transport."""
        other = httpx.Client(
            transport=self.transport,
            base_url=self.grant.api_url,
            headers={"Authorization": f"Bearer {self.grant.access_token}"},
        )
        while other.get("/rest/api/3/myself").status_code == 200:
            pass

    def close(self) -> None:
        self.transport.close()
        self.sandbox.close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site(points=400, window=600)
    yield s
    s.close()


def test_a_backfill_is_paced_inside_the_window_without_a_429(site):
    with site.jira() as jira:
        for _ in range(300):  # ~2 points each: 600 points wanted, 400 per window
            jira.myself()
        points = jira.rate_limit.points
    assert site.quota.rejected == 0  # never ran into the quota
    assert points is not None and points.limit == 400 and points.window == 600
    assert points.policy == "global-app-quota" and points.cost == 2
    # it spread over the windows instead of spending the first one in a burst
    assert site.clock.now() > START.replace(minute=10)
    assert sum(site.slept) > 500


def test_the_budget_is_visible_on_the_rate_limit_state(site):
    with site.jira() as jira:
        before = datetime.now(UTC)
        jira.search.page("project = ENG", fields=["summary"], max_results=5)
        after = datetime.now(UTC)
        state = jira.rate_limit
    assert state is not None and state.points is not None
    assert state.points.cost == 6 and state.points.remaining == 400 - 6
    assert state.points.reset_in == 600.0  # the window ends on the sandbox's 05:10
    # ``reset`` is the client's wall clock plus ``t`` (Jira's clock may differ from ours)
    assert state.points.reset is not None
    # (read between the request's start and its answer: no bound on how long that took)
    assert before + timedelta(seconds=600) <= state.points.reset <= after + timedelta(seconds=600)


def test_a_quota_429_is_waited_out_once_then_nothing_is_sent_early(site):
    site.spend_the_pool()
    rejected = site.quota.rejected
    patient = RetryPolicy(max_retry_after=900, max_total_wait=900)
    with site.jira(rate_limit=RateLimitConfig(points_pacing=False), retry=patient) as jira:
        me = jira.myself()  # 429, Retry-After = the rest of the window, then a retry
        assert me.account_id
        assert site.quota.rejected == rejected + 1
        assert site.slept == [600.0]
        assert jira.stats.by_status[429] == 1


def test_a_quota_spent_for_longer_than_the_retry_policy_waits_fails_without_hammering(site):
    site.spend_the_pool()
    rejected = site.quota.rejected
    with site.jira(retry=RetryPolicy(max_retry_after=60)) as jira:
        with pytest.raises(RateLimited) as first:
            jira.myself()
        assert first.value.headers["ratelimit-reason"] == "jira-quota-global-based"
        assert site.quota.rejected == rejected + 1
        site.clock.advance(seconds=100)
        with pytest.raises(RateLimited, match="points quota is spent until .* not sent"):
            jira.issues.get("ENG-1")
        assert site.quota.rejected == rejected + 1  # the second was never sent
        site.clock.advance(seconds=500)  # the window has reset
        assert jira.issues.get("ENG-1").key == "ENG-1"


async def test_the_async_client_paces_the_same_way(site):
    async_transport = httpx.ASGITransport(app=site.sandbox.app)
    async with AsyncJira(
        site.grant.api_url,
        auth=BearerAuth(site.grant.access_token),
        transport=async_transport,
        clock=site.now,
        sleep=site.asleep,
    ) as jira:
        for _ in range(300):
            await jira.myself()
        assert jira.rate_limit is not None and jira.rate_limit.points is not None
    assert site.quota.rejected == 0
    assert sum(site.slept) > 500


class Recording:
    """A governor that grants after one wait and records what the client told it."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.settled: list[tuple[float, int | None]] = []

    def acquire(self, points: float) -> float:
        self.asked.append(points)
        return 1.5 if len(self.asked) == 1 else 0.0

    def settle(self, estimate: float, budget: PointsBudget | None) -> None:
        self.settled.append((estimate, budget.cost if budget else None))

    async def aacquire(self, points: float) -> float:
        return self.acquire(points)

    async def asettle(self, estimate: float, budget: PointsBudget | None) -> None:
        self.settle(estimate, budget)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_governor_is_asked_before_and_told_after_each_request(site, kind):
    governor = Recording()
    assert isinstance(governor, RateGovernor)
    if kind == "sync":
        with site.jira(governor=governor) as jira:
            jira.myself()
            jira.myself()
    else:
        async with AsyncJira(
            site.grant.api_url,
            auth=BearerAuth(site.grant.access_token),
            transport=httpx.ASGITransport(app=site.sandbox.app),
            clock=site.now,
            sleep=site.asleep,
            governor=governor,
        ) as ajira:
            await ajira.myself()
            await ajira.myself()
    # asked twice for the first (a GET not yet answered: a page of 50 assumed); then learnt
    assert governor.asked == [51.0, 51.0, 2.0]
    assert governor.settled == [(51.0, 2), (2.0, 2)]
    assert site.slept == [1.5]


def test_a_first_request_is_assumed_to_cost_what_it_may_return():
    from jirakit.client._ratelimit import first_estimate

    assert first_estimate("GET", {"maxResults": 100}, None) == 101
    assert first_estimate("POST", None, {"jql": "x", "maxResults": 20}) == 21
    assert first_estimate("POST", None, {"issueIdsOrKeys": ["A-1", "A-2"]}) == 3
    assert first_estimate("GET", None, None) == 51  # size not asked: Jira's usual page
    assert first_estimate("PUT", None, {"fields": {}}) == 1  # a write: the base point
    assert first_estimate("GET", {"maxResults": "lots"}, None) == 51


def test_a_governed_client_estimates_varying_costs_cautiously():
    """Under a governor the estimate is the mean plus twice the mean deviation (capped by
    the page's bound): pages whose costs vary are rarely granted less than they cost."""
    pacer = PointsPacer(RateLimitConfig())
    costs = [300, 1000, 400, 900, 350, 950, 500, 800] * 3
    for cost in costs:
        pacer.observe(PointsBudget(remaining=50_000, reset_in=3000, cost=cost), "cl", 0.0)
    mean = pacer.estimate("cl", 10_001)
    cautious = pacer.estimate("cl", 10_001, cautious=True)
    assert 300 < mean < 1000
    assert cautious > mean + 200
    under_mean = sum(c > mean for c in costs)
    under_cautious = sum(c > cautious for c in costs)
    assert under_mean >= len(costs) // 3 and under_cautious < under_mean
    # never above the page's bound, never below the learnt mean
    assert pacer.estimate("cl", 600, cautious=True) == pytest.approx(max(600, mean))
    # steady costs: no spread, the estimate is the cost
    for _ in range(10):
        pacer.observe(PointsBudget(remaining=50_000, reset_in=3000, cost=7), "one", 0.0)
    assert pacer.estimate("one", 51, cautious=True) == pytest.approx(7)
