"""Client-side pacing and the rate-limit state Jira reports.

`Pacer` is a token bucket per endpoint bucket (method + path template), free of I/O: it
only answers "how long must this request wait?" given the time, so the sync client sleeps
and the async client awaits the same number. When Jira says ``X-RateLimit-NearLimit: true``
(less than 20% of the budget left) the bucket slows to ``near_limit_rate`` for a while.

`RateLimitState` is the latest set of rate-limit headers seen, readable by the caller as
``jira.rate_limit``; its ``points`` is the app's hourly points budget (`PointsBudget`, from
``Beta-RateLimit-Policy``, ``Beta-RateLimit`` and ``X-Beta-RateLimit-*``).

`PointsPacer` spreads the points left over the time left in the window: a token bucket of
points refilled at ``remaining / seconds to reset``, each request taking its estimated cost
(learnt per endpoint bucket). A quota 429 (``RateLimit-Reason: jira-quota-*``) closes the
gate for every request until the reset the server gave: the pool is the app's, not the
endpoint's.

`RateGovernor` is the hook for a budget shared beyond this client (`jirakit.jobs.budget`
implements it): asked before each request, told what each answer cost. The client never
imports its implementations.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """``rate``: requests per second per endpoint bucket (None: no pacing until Jira says
    it is near its limit). ``burst``: bucket size. ``max_concurrency``: in-flight requests
    for the async client."""

    rate: float | None = None
    burst: float = 10.0
    near_limit_rate: float = 2.0
    # Each NearLimit answer re-arms the slow-down, so it lasts while Jira keeps saying so.
    # Against a 10 requests/s bucket (the sandbox, 50-150 ms latency, 4 threads), 100
    # bulkfetches took 35.0 s with 30 s, 15.0 s with 2 s, 10.5 s with 1 s (one 429 each;
    # docs/benchmarks.md, issue 17).
    near_limit_cooldown: float = 1.0
    max_concurrency: int = 16
    points_pacing: bool = True
    points_burst: float = 0.02
    """Share of the points quota a client may spend at once before pacing applies."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    slow_until: float = 0.0


class Pacer:
    """Token buckets keyed by endpoint; thread-safe; time is passed in (monotonic seconds)."""

    def __init__(self, config: RateLimitConfig) -> None:
        self._config = config
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _rate(self, bucket: _Bucket, now: float) -> float | None:
        rate = self._config.rate
        if now < bucket.slow_until:
            slow = self._config.near_limit_rate
            return slow if rate is None else min(rate, slow)
        return rate

    def reserve(self, key: str, now: float) -> float:
        """Take a token for ``key``; return how many seconds to wait before sending."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self._config.burst, now)
            rate = self._rate(bucket, now)
            if rate is None:
                # Unpaced: a later slow-down window starts from a full bucket, not from
                # the debt of an earlier one.
                bucket.stamp = now
                bucket.tokens = self._config.burst
                return 0.0
            burst = self._config.burst if now >= bucket.slow_until else 1.0
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            bucket.tokens -= 1.0
            if bucket.tokens >= 0:
                return 0.0
            return -bucket.tokens / rate

    def near_limit(self, key: str, now: float) -> None:
        """Jira said the budget is nearly spent: slow this bucket down for a while."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(0.0, now)
            if now >= bucket.slow_until:
                bucket.tokens = min(bucket.tokens, 0.0)
            bucket.slow_until = now + self._config.near_limit_cooldown


_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-nearlimit",
    "ratelimit-reason",
    "retry-after",
    "beta-ratelimit",
    "beta-ratelimit-policy",
)

QUOTA_REASON_PREFIX = "jira-quota-"
COST_HEADER = "x-jirakit-points-cost"


def parse_policy_header(value: str | None) -> tuple[str | None, dict[str, str]]:
    """``"tenant-app-quota";q=65000;w=3600`` -> ``("tenant-app-quota", {"q": "65000", ...})``
    (the first policy when several are listed; structured-field syntax, quotes optional)."""
    if not value:
        return None, {}
    first = value.split(",", 1)[0]
    parts = [p.strip() for p in first.split(";")]
    name = parts[0].strip('"') or None
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, val = part.partition("=")
        if sep:
            params[key.strip().lower()] = val.strip().strip('"')
    return name, params


@dataclass(frozen=True, slots=True)
class PointsBudget:
    """The app's points quota as Jira last reported it.

    ``limit``/``window``: the quota and its window (``Beta-RateLimit-Policy``, kept from an
    earlier answer when a later one omits it); ``remaining``/``reset_in``: points left and
    seconds to the reset when observed (``Beta-RateLimit``); ``reset``: when, as a UTC
    time; ``reason``: ``jira-quota-global-based`` or ``jira-quota-tenant-based``;
    ``cost``: what the answer cost, when the server says (the sandbox's
    ``X-Jirakit-Points-Cost``)."""

    policy: str | None = None
    limit: int | None = None
    window: float | None = None
    remaining: int | None = None
    reset_in: float | None = None
    reset: datetime | None = None
    reason: str | None = None
    near_limit: bool = False
    cost: int | None = None

    @classmethod
    def from_headers(
        cls,
        headers: Mapping[str, str],
        *,
        now: datetime | None = None,
        previous: PointsBudget | None = None,
    ) -> PointsBudget | None:
        quota = headers.get("beta-ratelimit")
        policy_header = headers.get("beta-ratelimit-policy")
        reason = headers.get("x-beta-ratelimit-reason")
        status_reason = headers.get("ratelimit-reason") or ""
        if status_reason.startswith(QUOTA_REASON_PREFIX):
            reason = status_reason
        if quota is None and policy_header is None and reason is None:
            return None
        now = now or datetime.now(UTC)
        name, policy = parse_policy_header(policy_header)
        qname, values = parse_policy_header(quota)
        limit = _int(policy.get("q"))
        window = _float(policy.get("w"))
        if previous is not None:
            limit = limit if limit is not None else previous.limit
            window = window if window is not None else previous.window
        remaining = _int(values.get("r"))
        reset_in = _float(values.get("t"))
        reset = _iso(headers.get("x-beta-ratelimit-reset"))
        if reset_in is not None:
            reset = now + timedelta(seconds=reset_in)
        elif reset is not None:
            reset_in = max(0.0, (reset - now).total_seconds())
        if status_reason.startswith(QUOTA_REASON_PREFIX):
            remaining = 0
            after = _float(headers.get("retry-after"))
            if after is not None and reset_in is None:
                reset_in, reset = after, now + timedelta(seconds=after)
        return cls(
            policy=name or qname or (previous.policy if previous else None),
            limit=limit,
            window=window,
            remaining=remaining,
            reset_in=reset_in,
            reset=reset,
            reason=reason,
            near_limit=headers.get("x-beta-ratelimit-nearlimit", "").strip().lower() == "true",
            cost=_int(headers.get(COST_HEADER)),
        )

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


UNKNOWN_PAGE = 50
"""Objects assumed for a read whose size is not asked (Jira's usual page size)."""


def first_estimate(method: str, params: Mapping[str, object] | None, body: object) -> float:
    """The cost to assume for a request whose endpoint has not answered yet: the base point
    plus one per object it may return (``maxResults``, the ids a bulk fetch asks for, else
    ``UNKNOWN_PAGE`` for a GET; writes cost the base point). An underestimate is paid back
    after the answer, but requests sent meanwhile on the same guess could overdraw a
    pool; an overestimate is refunded at once and only delays a first request."""
    asked: object = None
    if isinstance(body, Mapping):
        ids = body.get("issueIdsOrKeys")
        if isinstance(ids, list | tuple):
            asked = len(ids)
        asked = body.get("maxResults", asked)
    if params:
        asked = params.get("maxResults", asked)
    if asked is None:
        return 1.0 + UNKNOWN_PAGE if method.upper() == "GET" else 1.0
    try:
        return 1.0 + max(0, int(str(asked)))
    except ValueError:
        return 1.0 + UNKNOWN_PAGE


@runtime_checkable
class RateGovernor(Protocol):
    """A points budget shared beyond one client (processes, tenants, priorities).

    Before each request the client asks ``acquire(points)`` (its estimate of the cost):
    ``0.0`` grants it now, a positive number says "ask again after that many seconds".
    After the answer it calls ``settle(estimate, budget)`` with what it estimated and what
    Jira reported (``budget.cost`` when the server says what the request cost). The async
    client calls ``aacquire``/``asettle``. A handle is bound to one tenant and priority.
    """

    def acquire(self, points: float) -> float: ...

    def settle(self, estimate: float, budget: PointsBudget | None) -> None: ...

    async def aacquire(self, points: float) -> float: ...

    async def asettle(self, estimate: float, budget: PointsBudget | None) -> None: ...


class PointsPacer:
    """Spreads the points left over the time left in the window (thread-safe, I/O-free).

    Time is monotonic seconds, passed in. Before Jira has reported a budget, nothing waits.
    """

    def __init__(self, config: RateLimitConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._rate: float | None = None  # points per second
        self._capacity = 1.0
        self._tokens = 0.0
        self._stamp = 0.0
        self._blocked_until = 0.0
        self._costs: dict[str, float] = {}  # per bucket: the mean cost (moving average)
        self._spread: dict[str, float] = {}  # ... and the mean absolute deviation from it
        self.budget: PointsBudget | None = None

    def estimate(self, bucket: str, first: float = 1.0, *, cautious: bool = False) -> float:
        """The expected cost of a request to ``bucket``: learnt from answers; before any,
        ``first`` (`first_estimate`: a paged read may cost its whole page).

        ``cautious``: the mean plus twice the mean deviation (as TCP sizes its retransmit
        timer), never above ``first`` when that is a page's bound. For a governor, which
        refunds an overestimate as soon as the answer comes and cannot take back an
        underestimate already in flight: pages whose costs vary (a changelog page costs one
        point per history on it, which differs from page to page) would otherwise be
        granted below their cost about half of the time, and several in flight at once
        overdraw the pool."""
        mean = self._costs.get(bucket)
        if mean is None:
            return first
        if not cautious:
            return mean
        return min(mean + 2 * self._spread.get(bucket, 0.0), max(first, mean))

    def blocked_for(self, now: float) -> float:
        return max(0.0, self._blocked_until - now)

    def observe(self, budget: PointsBudget, bucket: str, now: float, *, learn: bool = True) -> None:
        with self._lock:
            previous = self.budget
            self.budget = budget
            if learn:
                cost: float | None = budget.cost
                if (
                    cost is None
                    and previous is not None
                    and previous.remaining is not None
                    and budget.remaining is not None
                    and previous.remaining > budget.remaining
                ):
                    cost = previous.remaining - budget.remaining  # may include others' use
                if cost is not None and cost > 0:
                    old = self._costs.get(bucket)
                    if old is None:
                        self._costs[bucket], self._spread[bucket] = cost, 0.0
                    else:
                        spread = self._spread.get(bucket, 0.0)
                        self._spread[bucket] = 0.75 * spread + 0.25 * abs(cost - old)
                        self._costs[bucket] = 0.7 * old + 0.3 * cost
            if budget.spent and budget.reset_in is not None:
                self._blocked_until = max(self._blocked_until, now + budget.reset_in)
                self._rate, self._tokens, self._stamp = 0.0, 0.0, now
                return
            if budget.remaining is None or budget.reset_in is None:
                return
            left = max(1.0, budget.reset_in)
            self._rate = budget.remaining / left
            limit = budget.limit or budget.remaining
            self._capacity = max(1.0, self._config.points_burst * limit)
            if previous is None or self._stamp == 0.0:
                self._tokens, self._stamp = self._capacity, now
            self._tokens = min(self._tokens, self._capacity, float(budget.remaining))

    def block(self, until: float) -> None:
        with self._lock:
            self._blocked_until = max(self._blocked_until, until)

    def reserve(self, cost: float, now: float) -> float:
        """Take ``cost`` points; seconds to wait before sending (0: go)."""
        with self._lock:
            if now < self._blocked_until:
                return self._blocked_until - now
            if not self._config.points_pacing or self._rate is None:
                return 0.0
            if self._rate <= 0:
                self._rate = None  # the window has reset since: unknown until the next answer
                return 0.0
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= cost
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self._rate


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """The rate-limit headers of the latest response that carried any."""

    limit: int | None = None
    remaining: int | None = None
    reset: datetime | None = None
    near_limit: bool = False
    reason: str | None = None
    retry_after: float | None = None
    bucket: str | None = None
    points: PointsBudget | None = None

    @classmethod
    def from_headers(
        cls,
        headers: Mapping[str, str],
        bucket: str | None = None,
        *,
        points: PointsBudget | None = None,
    ) -> RateLimitState | None:
        if not any(k in headers for k in _HEADERS):
            return None
        return cls(
            points=points,
            limit=_int(headers.get("x-ratelimit-limit")),
            remaining=_int(headers.get("x-ratelimit-remaining")),
            reset=_iso(headers.get("x-ratelimit-reset")),
            near_limit=headers.get("x-ratelimit-nearlimit", "").strip().lower() == "true",
            reason=headers.get("ratelimit-reason"),
            retry_after=_float(headers.get("retry-after")),
            bucket=bucket,
        )


@dataclass(slots=True)
class ClientStats:
    """Counters a caller (or a progress bar) can read: ``jira.stats``."""

    requests: int = 0
    retries: int = 0
    throttled_seconds: float = 0.0
    retry_wait_seconds: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: int | None) -> None:
        self.requests += 1
        if status is not None:
            self.by_status[status] = self.by_status.get(status, 0) + 1


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
