"""The retry decision: a pure function of (error, attempt), tested without a network.

Rules (Jira Cloud's documented behaviour):

- 429 was rejected by the rate limiter before any work was done, so it is retried for
  every method, after ``Retry-After`` (seconds or an HTTP date) or ``X-RateLimit-Reset``
  (ISO-8601), else exponential backoff.
- 503 honours ``Retry-After`` too, but like every other 5xx it may have done the work, so
  only idempotent requests are retried (GET, HEAD, OPTIONS, PUT, DELETE, read-only POSTs
  such as ``search/jql``), plus POSTs whose caller opted in.
- A 2xx body that is JSON cut short in transit is read again when idempotent; a body that
  is not JSON at all (`NotJSONResponse`: an HTML login or proxy page) is final.
- A redirect loop (`TooManyRedirects`) is final: following it again loops again.
- Connection failures before the request was sent (connect errors, connect/pool timeouts)
  are retried for every method; read/write timeouts and other transport errors only for
  idempotent requests.
- Backoff is exponential with full jitter; attempts and the total wait are bounded. A
  server asking for a wait beyond ``max_retry_after`` is not waited for: the error surfaces.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from jirakit.errors import (
    ConnectError,
    HTTPError,
    JiraError,
    RateLimited,
    ResponseDecodeError,
    ServerError,
    TimeoutError,
    TooManyRedirects,
    TransportError,
    retry_after_seconds,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. ``max_attempts`` counts the first try."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_total_wait: float = 180.0
    max_retry_after: float = 300.0
    retry_post: bool = False

    @classmethod
    def never(cls) -> RetryPolicy:
        return cls(max_attempts=1)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


NO_RETRY = RetryDecision(False)


def never_sent(error: JiraError) -> bool:
    """True when the request certainly never reached the server: the connection could
    not be made (connect errors, connect/pool timeouts)."""
    return isinstance(error, ConnectError) or (
        isinstance(error, TimeoutError) and error.phase in ("connect", "pool")
    )


def is_idempotent(method: str, *, override: bool | None = None) -> bool:
    if override is not None:
        return override
    return method.upper() in IDEMPOTENT_METHODS


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1)))."""
    ceiling = min(policy.backoff_max, policy.backoff_base * 2.0 ** max(0, attempt - 1))
    return rand() * ceiling


def server_wait(headers: Mapping[str, str], now: datetime) -> float | None:
    """The wait the server asked for: ``Retry-After`` first, then ``X-RateLimit-Reset``."""
    after = retry_after_seconds(headers, now=now)
    if after is not None:
        return after
    reset: str | None = headers.get("x-ratelimit-reset")
    if not reset:
        return None
    try:
        when = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def decide_retry(
    error: JiraError,
    attempt: int,
    *,
    method: str,
    policy: RetryPolicy,
    idempotent: bool | None = None,
    waited: float = 0.0,
    now: datetime | None = None,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """Should the request that just failed with ``error`` on try number ``attempt`` (1-based)
    be sent again, and after how many seconds?"""
    if attempt >= policy.max_attempts:
        return NO_RETRY
    safe = is_idempotent(method, override=idempotent) or (
        policy.retry_post and method.upper() == "POST"
    )
    now = now or datetime.now(UTC)

    delay: float | None
    if isinstance(error, RateLimited):
        delay, reason = server_wait(error.headers, now), "rate limited"
    elif isinstance(error, ServerError):
        if not safe:
            return NO_RETRY
        delay = server_wait(error.headers, now) if error.status == 503 else None
        reason = f"server error {error.status}"
    elif isinstance(error, HTTPError):
        return NO_RETRY
    elif isinstance(error, ResponseDecodeError) and error.unreadable:
        # A 2xx body of JSON cut short in transit: read it again if safe. (A body that
        # is not JSON at all, `NotJSONResponse`, is not ``unreadable``: never retried.)
        if not safe:
            return NO_RETRY
        delay, reason = None, "unreadable body"
    elif isinstance(error, TooManyRedirects):
        return NO_RETRY  # a loop: the next attempt would follow it round again
    elif never_sent(error):
        delay, reason = None, "not sent"
    elif isinstance(error, TransportError):
        if not safe:
            return NO_RETRY
        delay, reason = None, "transport error"
    else:
        return NO_RETRY

    if delay is None:
        delay = backoff_delay(attempt, policy, rand)
    elif delay > policy.max_retry_after:
        return NO_RETRY
    if waited + delay > policy.max_total_wait:
        return NO_RETRY
    return RetryDecision(True, delay, reason)
