"""Client-side pacing and the rate-limit state Jira reports.

`Pacer` is a token bucket per endpoint bucket (method + path template), free of I/O: it
only answers "how long must this request wait?" given the time, so the sync client sleeps
and the async client awaits the same number. When Jira says ``X-RateLimit-NearLimit: true``
(less than 20% of the budget left) the bucket slows to ``near_limit_rate`` for a while.

`RateLimitState` is the latest set of rate-limit headers seen, readable by the caller as
``jira.rate_limit``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """``rate``: requests per second per endpoint bucket (None: no pacing until Jira says
    it is near its limit). ``burst``: bucket size. ``max_concurrency``: in-flight requests
    for the async client."""

    rate: float | None = None
    burst: float = 10.0
    near_limit_rate: float = 2.0
    near_limit_cooldown: float = 30.0
    max_concurrency: int = 16


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
)


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

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], bucket: str | None = None
    ) -> RateLimitState | None:
        if not any(k in headers for k in _HEADERS):
            return None
        return cls(
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
