"""Jira Cloud's hourly points quota for apps, as a pure ASGI middleware.

Since March 2026 Jira Cloud meters Forge, Connect and OAuth 2.0 (3LO) apps in *points*
per hour, besides the per-second burst limits (`jirakit.sandbox.limits`). API-token
traffic keeps only the burst limits. What is emulated here follows Atlassian's published
rules (developer.atlassian.com/cloud/jira/platform/rate-limiting, "Build an app that
respects rate limits", and the headers reported in Atlassian's 2026 points-based rate
limits community thread); docs/sandbox.md lists them with the cost model.

- **Who pays**: requests that an outer `OAuthMiddleware` authenticated (it puts the account
  and the app's ``client_id`` in ``scope["state"]``). Basic/API-token requests pass free.
- **Pools**: ``pool="global"`` (Tier 1) is one pool per app shared by every site (tenant)
  it is installed on: give the same `PointsQuota` to several sandboxes to emulate that.
  ``pool="site"`` (Tier 2) is one pool per app and site.
- **Window**: fixed windows of ``window`` seconds aligned on the clock (3600: on the hour);
  a pool is full again at the start of each window.
- **Cost** (`points_cost`): 1 base point per request, plus 1 per object returned (the
  issues of a search or bulkfetch page, the entries of a changelog page, the items of a
  ``values``/``comments``/``worklogs`` page or of a top-level JSON array; one object for a
  single-resource answer). Writes cost the base point only, as do error answers. Read-only
  POSTs (``search/jql``, ``issue/bulkfetch``, ``changelog/bulkfetch``, ...) count as reads.
- **Headers** on every metered answer: ``Beta-RateLimit-Policy: "global-app-quota";q=Q;w=W``
  (``tenant-app-quota`` for site pools), ``Beta-RateLimit: "...";r=REMAINING;t=SECONDS``,
  the sandbox's own ``X-Jirakit-Points-Cost: N``, and when less than 20% is left
  ``X-Beta-RateLimit-NearLimit: true``, ``X-Beta-RateLimit-Reason`` and
  ``X-Beta-RateLimit-Reset`` (ISO-8601, minute precision).
- **Spent pool**: 429 with Jira's body, ``Retry-After`` (seconds until the window ends),
  ``RateLimit-Reason: jira-quota-global-based`` (or ``jira-quota-tenant-based``), the
  headers above with ``r=0``; a rejected request costs nothing. A request is admitted while
  any point is left and then pays its full cost, so the last one may overdraw (remaining
  never shows below 0).

``GET /_jirakit/points`` (a sandbox extension) answers the pools' state as JSON.

Time comes from an injectable `Clock`, so tests move a `FrozenClock` instead of sleeping.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from jirakit.sandbox.clock import Clock, SystemClock
from jirakit.sandbox.limits import RATE_LIMIT_MESSAGE, iso_reset, request_ids

__all__ = [
    "COST_HEADER",
    "GLOBAL_POLICY",
    "GLOBAL_REASON",
    "NEAR_LIMIT_FRACTION",
    "OAUTH_CLIENT_KEY",
    "POINTS_PATH",
    "TENANT_POLICY",
    "TENANT_REASON",
    "PointsMiddleware",
    "PointsQuota",
    "PoolState",
    "count_objects",
    "points_cost",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PoolMode = Literal["global", "site"]

COST_HEADER = "x-jirakit-points-cost"
GLOBAL_POLICY = "global-app-quota"
TENANT_POLICY = "tenant-app-quota"
GLOBAL_REASON = "jira-quota-global-based"
TENANT_REASON = "jira-quota-tenant-based"
NEAR_LIMIT_FRACTION = 0.2
POINTS_PATH = "/_jirakit/points"
OAUTH_ACCOUNT_KEY = "jirakit.oauth_account"  # same keys as jirakit.sandbox.oauth
OAUTH_CLIENT_KEY = "jirakit.oauth_client"

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that only read: Jira charges them as reads (objects returned), not as writes.
_READ_POSTS = (
    "/search",
    "/search/jql",
    "/search/approximate-count",
    "/issue/bulkfetch",
    "/changelog/bulkfetch",
    "/worklog/list",
    "/comment/list",
    "/jql/match",
    "/jql/parse",
    "/user/bulk",
)
# Collections whose items are the objects of a page.
_COLLECTIONS = ("issues", "values", "comments", "worklogs", "histories", "changelogs")


def count_objects(data: Any) -> int:
    """The objects a JSON answer returns (see the module docstring)."""
    if data is None:
        return 0
    if isinstance(data, list):
        return len(data)
    if not isinstance(data, dict):
        return 1
    logs = data.get("issueChangeLogs")
    if isinstance(logs, list):  # changelog/bulkfetch: every history entry is an object
        return sum(
            len(entry.get("changeHistories") or []) for entry in logs if isinstance(entry, dict)
        )
    for name in _COLLECTIONS:
        items = data.get(name)
        if isinstance(items, list):
            return len(items)
    return 1


def is_read(method: str, path: str) -> bool:
    method = method.upper()
    if method in _READS:
        return True
    return method == "POST" and path.rstrip("/").endswith(_READ_POSTS)


def points_cost(method: str, path: str, status: int, body: bytes | None) -> int:
    """Points one answered request costs: 1 base point, plus 1 per object a successful
    read returns. ``body`` None: not JSON (charged the base point)."""
    if status >= 400 or not is_read(method, path) or not body:
        return 1
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 1
    return 1 + count_objects(data)


@dataclass(frozen=True, slots=True)
class PoolState:
    """One pool in the current window."""

    key: str
    limit: int
    used: int
    window: float
    reset_at: datetime
    requests: int
    rejected: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "pool": self.key,
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "window": self.window,
            "resetIn": max(0.0, (self.reset_at - now).total_seconds()),
            "reset": self.reset_at.isoformat(),
            "requests": self.requests,
            "rejected": self.rejected,
        }


@dataclass(slots=True)
class _Pool:
    start: float
    used: int = 0
    requests: int = 0
    rejected: int = 0


class PointsQuota:
    """Hourly points pools (thread-safe). Share one between sandboxes to make their sites
    one app's global pool.

    ``points``: the quota per window (Jira's default tier: 65,000 per hour); ``window``:
    seconds; ``pool``: ``"global"`` (Tier 1, one pool per app) or ``"site"`` (Tier 2).
    """

    def __init__(
        self,
        points: int,
        *,
        window: float = 3600.0,
        pool: PoolMode = "global",
        clock: Clock | None = None,
    ) -> None:
        if points < 1:
            raise ValueError(f"points must be >= 1 per window, not {points!r}")
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, not {window!r}")
        if pool not in ("global", "site"):
            raise ValueError(f"pool must be 'global' or 'site', not {pool!r}")
        self.points = int(points)
        self.window = float(window)
        self.pool: PoolMode = pool
        self.clock: Clock = clock or SystemClock()
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self.charged = 0  # points charged since creation, for tests and stats
        self.rejected = 0  # quota 429s sent

    @property
    def policy(self) -> str:
        return GLOBAL_POLICY if self.pool == "global" else TENANT_POLICY

    @property
    def reason(self) -> str:
        return GLOBAL_REASON if self.pool == "global" else TENANT_REASON

    def key(self, app: str, site: str) -> str:
        return f"app:{app}" if self.pool == "global" else f"app:{app}/site:{site}"

    def _window_start(self, now: float) -> float:
        return math.floor(now / self.window) * self.window

    def _current(self, key: str, now: float) -> _Pool:
        start = self._window_start(now)
        pool = self._pools.get(key)
        if pool is None or pool.start != start:
            pool = self._pools[key] = _Pool(start)
        return pool

    def _state(self, key: str, pool: _Pool) -> PoolState:
        reset = datetime.fromtimestamp(pool.start + self.window, UTC)
        return PoolState(
            key, self.points, pool.used, self.window, reset, pool.requests, pool.rejected
        )

    def admit(self, key: str, now: datetime) -> PoolState | None:
        """None when the pool has points left (the request may go on); else the spent
        pool's state (the request is rejected and counted)."""
        with self._lock:
            pool = self._current(key, now.timestamp())
            if pool.used < self.points:
                return None
            pool.rejected += 1
            self.rejected += 1
            return self._state(key, pool)

    def charge(self, key: str, cost: int, now: datetime) -> PoolState:
        """Charge an answered request; the pool's state after it."""
        with self._lock:
            pool = self._current(key, now.timestamp())
            pool.used += cost
            pool.requests += 1
            self.charged += cost
            return self._state(key, pool)

    def state(self, key: str) -> PoolState:
        with self._lock:
            return self._state(key, self._current(key, self.clock.now().timestamp()))

    def states(self) -> list[PoolState]:
        """Every pool seen, in its current window."""
        now = self.clock.now().timestamp()
        with self._lock:
            return [self._state(k, self._current(k, now)) for k in sorted(self._pools)]

    def headers(self, state: PoolState, now: datetime) -> list[tuple[bytes, bytes]]:
        seconds = max(0, math.ceil((state.reset_at - now).total_seconds()))
        out = [
            (
                b"beta-ratelimit-policy",
                f'"{self.policy}";q={self.points};w={int(self.window)}'.encode(),
            ),
            (b"beta-ratelimit", f'"{self.policy}";r={state.remaining};t={seconds}'.encode()),
        ]
        if state.remaining < NEAR_LIMIT_FRACTION * self.points:
            out += [
                (b"x-beta-ratelimit-nearlimit", b"true"),
                (b"x-beta-ratelimit-reason", self.reason.encode()),
                (b"x-beta-ratelimit-reset", iso_reset(state.reset_at).encode()),
            ]
        return out


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return bytes(value)
    return b""


class PointsMiddleware:
    """Meters OAuth (3LO) requests of one site against a `PointsQuota`.

    ``site``: the site's name in the pool key (its cloudId); ``paths``: the metered path
    prefixes (``/rest/``: the OAuth endpoints themselves are free).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        quota: PointsQuota,
        site: str = "site",
        paths: tuple[str, ...] = ("/rest/",),
    ) -> None:
        self.app = app
        self.quota = quota
        self.site = site
        self.paths = paths
        self._request_id = request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path == POINTS_PATH:
            await self._report(send)
            return
        state = scope.get("state") or {}
        account = state.get(OAUTH_ACCOUNT_KEY)
        if not account or not path.startswith(self.paths):
            await self.app(scope, receive, send)  # API-token traffic: burst limits only
            return
        quota = self.quota
        key = quota.key(str(state.get(OAUTH_CLIENT_KEY) or "app"), self.site)
        spent = quota.admit(key, quota.clock.now())
        if spent is not None:
            await self._reject(send, spent)
            return
        method = str(scope.get("method", "GET"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def metered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                content_type = _header(message.get("headers", ()), b"content-type")
                if b"json" not in content_type.lower():
                    # Not JSON (downloads, empty answers): the base point, headers now.
                    await send(self._with_cost(message, key, 1))
                    start = None
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                cost = points_cost(method, path, int(start["status"]), body)
                await send(self._with_cost(start, key, cost))
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, metered_send)

    def _with_cost(self, start: Message, key: str, cost: int) -> Message:
        """The response start with the request charged and the quota headers added."""
        now = self.quota.clock.now()
        state = self.quota.charge(key, cost, now)
        extra = [*self.quota.headers(state, now), (COST_HEADER.encode(), str(cost).encode())]
        return {**start, "headers": [*start.get("headers", []), *extra]}

    async def _reject(self, send: Send, state: PoolState) -> None:
        now = self.quota.clock.now()
        retry_after = max(1, math.ceil((state.reset_at - now).total_seconds()))
        body = json.dumps({"errorMessages": [RATE_LIMIT_MESSAGE], "errors": {}}).encode()
        headers = [
            (b"content-type", b"application/json;charset=UTF-8"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
            (b"ratelimit-reason", self.quota.reason.encode()),
            *self.quota.headers(state, now),
            (COST_HEADER.encode(), b"0"),
            (b"x-arequestid", self._request_id()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _report(self, send: Send) -> None:
        now = self.quota.clock.now()
        data = {
            "mode": self.quota.pool,
            "points": self.quota.points,
            "window": self.quota.window,
            "charged": self.quota.charged,
            "rejected": self.quota.rejected,
            "pools": [s.as_json(now) for s in self.quota.states()],
        }
        body = json.dumps(data).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
