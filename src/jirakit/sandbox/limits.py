"""Jira Cloud's rate limiting, as a pure ASGI middleware: token buckets and 429s.

`RateLimitMiddleware` keeps one token bucket per *tenant + endpoint + method*, like Jira's
burst limit (``RateLimit-Reason: jira-burst-based``):

- the tenant is the authenticated principal: the OAuth account an outer middleware put in
  ``scope["state"]["jirakit.oauth_account"]``, else a hash of the ``Authorization`` header
  value, else the client address;
- the endpoint is the route template: path segments that look like ids or keys are
  normalised (`endpoint_template`: ``/rest/api/3/issue/ENG-12`` ->
  ``/rest/api/3/issue/{issueIdOrKey}``, numeric segments -> ``{id}``);
- a bucket holds ``burst`` tokens and refills at ``rate`` tokens per second.

Every limited response carries ``X-RateLimit-Limit`` (the bucket size),
``X-RateLimit-Remaining`` (whole tokens left), ``X-RateLimit-Reset`` (ISO-8601 at minute
precision, rounded up: when the bucket is full again, ``2026-06-05T06:01Z``) and
``X-RateLimit-NearLimit: true`` when less than 20% of the budget is left. Over budget the
request never reaches the app: 429 with Jira's body, ``Retry-After`` (whole seconds, >= 1),
the headers above and ``RateLimit-Reason``.

With ``per_issue_writes=N``, writes (POST/PUT/DELETE) to one issue
(``/rest/api/{2,3,latest}/issue/{issueIdOrKey}[/...]``) beyond N per second, whoever sends
them, get a 429 with ``RateLimit-Reason: jira-per-issue-on-write``.

Time comes from an injectable `Clock` (``now() -> aware datetime``), so tests move a
`FrozenClock` instead of sleeping.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jirakit.sandbox.clock import Clock, SystemClock

__all__ = [
    "BURST_REASON",
    "NEAR_LIMIT_FRACTION",
    "PER_ISSUE_REASON",
    "RATE_LIMIT_MESSAGE",
    "RateLimitMiddleware",
    "TokenBucket",
    "endpoint_template",
    "iso_reset",
    "rate_limit_headers",
    "request_ids",
    "send_rate_limited",
    "tenant_of",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RATE_LIMIT_MESSAGE = "Rate limit exceeded."
BURST_REASON = "jira-burst-based"
PER_ISSUE_REASON = "jira-per-issue-on-write"
NEAR_LIMIT_FRACTION = 0.2
OAUTH_ACCOUNT_KEY = "jirakit.oauth_account"  # same key as jirakit.sandbox.oauth

_ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_NUMBER = re.compile(r"^\d+$")
# UUIDs, Atlassian account ids (``5b10a2844c20165700ede21g``, ``712020:0f1e...``), hashes.
_OPAQUE_ID = re.compile(r"^(?=[^/]*\d)(?:[0-9A-Za-z]{20,}|[0-9a-fA-F-]{32,}|\d+:[0-9a-fA-F-]{8,})$")
_PROJECT_WORDS = frozenset({"search", "type", "recent", "types"})
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_ISSUE_WRITE = re.compile(r"^/rest/api/(?:2|3|latest)/issue/([A-Za-z][A-Za-z0-9_]*-\d+|\d+)(?:/|$)")


def endpoint_template(path: str) -> str:
    """The route template a path belongs to: ids and keys become placeholders.

    >>> endpoint_template("/rest/api/3/issue/ENG-12/comment/10001")
    '/rest/api/3/issue/{issueIdOrKey}/comment/{id}'
    >>> endpoint_template("/rest/api/3/project/ENG")
    '/rest/api/3/project/{projectIdOrKey}'
    >>> endpoint_template("/rest/agile/1.0/board/7/sprint")
    '/rest/agile/1.0/board/{id}/sprint'
    """
    out: list[str] = []
    previous = ""
    for segment in path.split("/"):
        if not segment:
            out.append(segment)
            continue
        if previous == "api":  # the version: /rest/api/3, /rest/api/latest
            out.append(segment)
        elif previous == "issue" and (_ISSUE_KEY.match(segment) or _NUMBER.match(segment)):
            out.append("{issueIdOrKey}")
        elif previous == "project" and segment not in _PROJECT_WORDS:
            out.append("{projectIdOrKey}")
        elif previous == "jira" and len(out) >= 2 and out[-2] == "ex":
            out.append("{cloudId}")
        elif _NUMBER.match(segment) or _OPAQUE_ID.match(segment):
            out.append("{id}")
        elif _ISSUE_KEY.match(segment):
            out.append("{issueIdOrKey}")
        else:
            out.append(segment)
        previous = segment
    return "/".join(out)


def tenant_of(scope: Scope) -> str:
    """Who is calling: the OAuth account, a hash of the credentials, or the client address."""
    account = (scope.get("state") or {}).get(OAUTH_ACCOUNT_KEY)
    if account:
        return f"oauth:{account}"
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "auth:" + hashlib.sha256(value).hexdigest()[:16]
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


def iso_reset(when: datetime) -> str:
    """Jira's ``X-RateLimit-Reset`` format: UTC, minute precision, rounded up."""
    when = when.astimezone(UTC)
    if when.second or when.microsecond:
        when = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return when.strftime("%Y-%m-%dT%H:%MZ")


def rate_limit_headers(limit: int, remaining: int, reset: datetime) -> list[tuple[bytes, bytes]]:
    """``X-RateLimit-Limit/Remaining/Reset`` and ``NearLimit`` when under 20% is left."""
    headers = [
        (b"x-ratelimit-limit", str(limit).encode()),
        (b"x-ratelimit-remaining", str(max(0, remaining)).encode()),
        (b"x-ratelimit-reset", iso_reset(reset).encode()),
    ]
    if remaining < NEAR_LIMIT_FRACTION * limit:
        headers.append((b"x-ratelimit-nearlimit", b"true"))
    return headers


def request_ids() -> Callable[[], bytes]:
    """A source of ``X-AREQUESTID`` values for responses made by middleware (they end in
    ``x0``; the core app's end in ``x1``)."""
    counter = itertools.count(1)

    def next_id() -> bytes:
        n = next(counter)
        return f"{n % 1440}x{n}x0".encode()

    return next_id


async def send_rate_limited(
    send: Send,
    *,
    retry_after: int,
    limit: int,
    reset: datetime,
    reason: str = BURST_REASON,
    request_id: bytes = b"0x0x0",
) -> None:
    """Send Jira's 429: body, ``Retry-After``, ``X-RateLimit-*``, ``RateLimit-Reason``."""
    body = json.dumps({"errorMessages": [RATE_LIMIT_MESSAGE], "errors": {}}).encode()
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, retry_after)).encode()),
        *rate_limit_headers(limit, 0, reset),
        (b"ratelimit-reason", reason.encode()),
        (b"x-arequestid", request_id),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; time is passed in (seconds)."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = float(capacity)
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(float(self.capacity), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)

    def available(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= 1.0

    def take(self) -> None:
        self.tokens -= 1.0

    def wait(self) -> float:
        """Seconds until one token is available (0 if one is)."""
        return max(0.0, (1.0 - self.tokens) / self.rate)

    def full_in(self) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, (self.capacity - self.tokens) / self.rate)

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens + 1e-9))


@dataclass(frozen=True)
class _Verdict:
    bucket: TokenBucket
    allowed: bool
    reason: str


class RateLimitMiddleware:
    """Token bucket per tenant + endpoint template + method; Jira's 429s and headers.

    ``rate``: tokens per second per bucket; ``burst``: bucket size (default
    ``max(1, round(rate))``); ``per_issue_writes``: writes per second allowed to one issue
    (None: no per-issue limit); ``paths``: path prefixes that are limited (others, like
    the OAuth endpoints, pass untouched).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float,
        burst: int | None = None,
        clock: Clock | None = None,
        per_issue_writes: int | None = None,
        paths: tuple[str, ...] = ("/rest/",),
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0 requests per second, not {rate!r}")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be >= 1, not {burst!r}")
        if per_issue_writes is not None and per_issue_writes < 1:
            raise ValueError(f"per_issue_writes must be >= 1, not {per_issue_writes!r}")
        self.app = app
        self.rate = float(rate)
        self.burst = burst if burst is not None else max(1, round(rate))
        self.per_issue_writes = per_issue_writes
        self.clock: Clock = clock or SystemClock()
        self.paths = paths
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._issue_buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.rejected = 0  # 429s sent, for tests and stats
        self._request_id = request_ids()

    def _check(self, scope: Scope, now: float) -> _Verdict:
        method = str(scope.get("method", "GET")).upper()
        path = str(scope["path"])
        key = (tenant_of(scope), method, endpoint_template(path))
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
            if not bucket.available(now):
                return _Verdict(bucket, False, BURST_REASON)
            issue_bucket = None
            if self.per_issue_writes is not None and method in _WRITE_METHODS:
                match = _ISSUE_WRITE.match(path)
                if match:
                    issue = match.group(1).upper()
                    issue_bucket = self._issue_buckets.get(issue)
                    if issue_bucket is None:
                        n = self.per_issue_writes
                        issue_bucket = self._issue_buckets[issue] = TokenBucket(n, n, now)
                    if not issue_bucket.available(now):
                        return _Verdict(issue_bucket, False, PER_ISSUE_REASON)
                    issue_bucket.take()
            bucket.take()
            return _Verdict(bucket, True, "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.paths):
            await self.app(scope, receive, send)
            return
        when = self.clock.now()
        verdict = self._check(scope, when.timestamp())
        bucket = verdict.bucket
        if not verdict.allowed:
            self.rejected += 1
            retry_after = max(1, math.ceil(bucket.wait()))
            await send_rate_limited(
                send,
                retry_after=retry_after,
                limit=bucket.capacity,
                reset=when + timedelta(seconds=retry_after),
                reason=verdict.reason,
                request_id=self._request_id(),
            )
            return
        extra = rate_limit_headers(
            bucket.capacity, bucket.remaining, when + timedelta(seconds=bucket.full_in())
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
