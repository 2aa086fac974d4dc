"""The rate-limit governor: one points budget shared by every process, fairly, by priority.

Jira Cloud meters an OAuth app in points per hour, by default in ONE pool for all its
tenants (`jirakit.sandbox.points` emulates it). Every ``jirakit serve`` and ``jirakit
worker`` process spends from that pool, so pacing each client by itself (the client's
`PointsPacer`) overshoots N times with N processes. The governor holds the budget in one
place, atomically: in memory for one process (`MemoryGovernor`), in Postgres for many
(`PostgresGovernor`: one row per app locked with ``SELECT ... FOR UPDATE`` for each
decision; Postgres is already the system of record and the job queue's home, so a
governor there adds no service to run, and one short transaction per request is far
below what it serves).

The decision (`decide`, pure, shared by both stores):

- **Pacing**: a bucket of points refilled at ``(points x (1 - margin) - capacity) / window``
  per second, holding at most ``capacity`` (``burst`` x points). Whatever the alignment of
  Jira's fixed windows, no window can see more than ``capacity + rate x window`` = the
  quota less the margin spent through the governor: no quota 429s, and the pool used at
  ``1 - margin - burst`` (92% by default) while work is waiting.
- **Priorities**: `Priority.INTERACTIVE` > `WEBHOOK` (fetch-on-notify) > `INCREMENTAL` >
  `BACKFILL`. A class may only spend while the bucket holds more than its reserve (a share
  of the capacity: 0, 20%, 40%, 60%), and never while a higher class is waiting. So
  backfills take the steady refill and leave the bucket's top for interactive calls. A
  lower class's answer that cost more than its grant leaves a debt that only the lower
  classes wait out (at the refill rate); interactive calls may also dip half the margin
  below empty (``overdraft``). Nobody goes when Jira says the quota is spent.
  Nothing fails: a denied request is told to ask again after a wait.
- **Fair share**: within a class, when several tenants are waiting, the one that used the
  least recently (usage decays with ``fairness_tau``) goes first; one tenant's backfill
  cannot take a turn while a lighter tenant of the same class waits.
- **Jira's word wins**: after each answer the client reports the budget Jira sent
  (``Beta-RateLimit``: points left, seconds to reset) and, where known, the real cost; the
  bucket is corrected by the real cost and capped so that what it would still hand out
  before the reset fits in what Jira says is left. A quota 429 empties it until the
  reset. Jira's figure predates the requests still in flight (``inflight``: granted, not
  yet answered), which it will charge too: a grant waits while what is left after them
  would not pay for it.

`Governor.handle(tenant, priority)` gives the `jirakit.client.RateGovernor` a client takes
(``Jira(..., governor=handle)``); `Governor.snapshot()` is the per-tenant state (the
service exposes it as an endpoint, the dashboard charts it).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jirakit.client import PointsBudget

if TYPE_CHECKING:
    from jirakit.client import Jira
    from jirakit.sync.destination import Warehouse

__all__ = [
    "GOVERNOR_ENV",
    "WAIT_REASONS",
    "BudgetPolicy",
    "BudgetSnapshot",
    "Governor",
    "GovernorHandle",
    "MemoryGovernor",
    "PoolRow",
    "PostgresGovernor",
    "Priority",
    "TenantRow",
    "UsageRecord",
    "charge",
    "decide",
    "governed_handle",
    "governs",
    "open_governor",
    "process_governor",
    "settle",
    "sync_handle",
    "sync_priority",
    "tenant_budget",
]


class Priority(IntEnum):
    """Who goes first when the budget is short (lower value: higher priority)."""

    INTERACTIVE = 0  # an API call a person waits for
    WEBHOOK = 1  # fetch-on-notify after a webhook
    INCREMENTAL = 2  # a scheduled incremental sync
    BACKFILL = 3  # a first full load: slows down, never fails

    @classmethod
    def parse(cls, value: str | int | Priority) -> Priority:
        if isinstance(value, Priority):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(p.name.lower() for p in cls)
            raise ValueError(f"priority must be one of {names}, not {value!r}") from None


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """The app's quota and how the governor spends it.

    ``points``/``window``: Jira's quota (65,000 per 3600 s by default); ``burst``: the
    bucket's capacity as a share of the quota (at least the largest request: a bulkfetch
    page costs ~101 points); ``margin``: held back for estimates that fall short;
    ``reserves``: per priority, the share of the capacity a class leaves untouched;
    ``fairness_tau``: seconds over which a tenant's usage is remembered; ``active_after``:
    a waiting tenant that has not asked again for that long is no longer waiting;
    ``max_wait``: the longest "ask again" (so a waiter re-checks its turn);
    ``inflight_tau``: seconds over which a grant whose answer never comes (its process
    died) fades from what is counted in flight."""

    points: int = 65_000
    window: float = 3600.0
    burst: float = 0.05
    margin: float = 0.03
    reserves: tuple[float, float, float, float] = (0.0, 0.2, 0.4, 0.6)
    fairness_tau: float = 60.0
    active_after: float = 3.0
    max_wait: float = 2.0
    min_capacity: float = 120.0
    inflight_tau: float = 10.0

    def __post_init__(self) -> None:
        if self.points < 1 or not self.window > 0:
            raise ValueError("points must be >= 1 and window > 0 seconds")
        if not 0 < self.burst < 1 or not 0 <= self.margin < 1 or self.burst + self.margin >= 1:
            raise ValueError("burst and margin must be shares of the quota, burst + margin < 1")

    @property
    def capacity(self) -> float:
        return min(max(self.burst * self.points, self.min_capacity), 0.5 * self.points)

    @property
    def overdraft(self) -> float:
        """How far below empty interactive calls may take the bucket: half the margin."""
        return 0.5 * self.margin * self.points

    @property
    def bucket_seconds(self) -> float:
        """The width of one bucket of the usage history (a 60th of the window, >= 1 s)."""
        return max(1.0, self.window / 60.0)

    @property
    def history_seconds(self) -> float:
        """How far back the usage history goes (two windows)."""
        return 2.0 * self.window

    @property
    def rate(self) -> float:
        """Points per second handed out in the long run."""
        return max(0.0, self.points * (1 - self.margin) - self.capacity) / self.window


@dataclass(slots=True)
class PoolRow:
    """The shared bucket (one per app)."""

    tokens: float
    stamp: float
    granted: float = 0.0  # points granted, all time
    requests: int = 0
    server_remaining: int | None = None
    server_reset_at: float | None = None
    debt: float = 0.0  # what lower classes' answers cost beyond their grants, unpaid
    # estimates granted whose answer was never settled (all time): requests cut off by a
    # transport error or by their process dying (kill -9). Jira may or may not have
    # charged them; ``granted - unsettled`` is what the answers reported.
    unsettled: float = 0.0
    # estimates granted and not yet answered, fading with ``inflight_tau`` (so the grants
    # of a process that died do not hold the pool for ever): what Jira will still charge
    # beyond the ``remaining`` it last reported
    inflight: float = 0.0


@dataclass(slots=True)
class TenantRow:
    """One tenant in one priority class."""

    used: float = 0.0  # decayed points: the fairness measure
    stamp: float = 0.0
    waiting_since: float | None = None
    last_seen: float = 0.0
    granted: float = 0.0  # points, all time
    requests: int = 0
    waited: float = 0.0  # seconds told to wait, all time
    waits: int = 0  # times told to wait, all time
    reason: str | None = None  # why it was last told to wait (see `WAIT_REASONS`)


TenantKey = tuple[str, int]

IN_FLIGHT_RECHECK = 0.1
"""Seconds before a request held back by the requests in flight asks again."""

WAIT_REASONS = {
    "refill": "the shared pool is empty: waiting for it to refill",
    "reserve": "the pool is low: its top is kept for higher-priority calls",
    "priority": "a higher-priority class is waiting and goes first",
    "fair_share": "a tenant of the same class that used less recently goes first",
    "quota_spent": "Jira said the app's points quota is spent until the reset",
    "in_flight": "what Jira said is left is held by requests in flight: their answers first",
}
"""Why a request was told to wait, by the code a tenant's row and the budget view carry."""


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One bucket of the usage history: what ``tenant``'s ``priority`` class was granted
    and told to wait in the bucket starting at ``start`` (epoch seconds)."""

    tenant: str
    priority: int
    start: float
    points: float
    requests: float
    waits: float
    waited: float


def _copy(row: TenantRow | None) -> TenantRow | None:
    return None if row is None else replace(row)


def _delta(
    before: TenantRow | None, after: TenantRow | None
) -> tuple[float, float, float, float] | None:
    """What changed in a tenant row's all-time counters (None: nothing)."""
    if after is None:
        return None
    b = before or TenantRow()
    delta = (
        after.granted - b.granted,
        float(after.requests - b.requests),
        float(after.waits - b.waits),
        after.waited - b.waited,
    )
    return delta if any(delta) else None


def _refill(policy: BudgetPolicy, pool: PoolRow, now: float) -> None:
    if now > pool.stamp:
        pool.inflight *= math.exp(-(now - pool.stamp) / policy.inflight_tau)
        added = (now - pool.stamp) * policy.rate
        pool.tokens = min(policy.capacity, pool.tokens + added)
        pool.debt = max(0.0, pool.debt - added)  # lower classes repay it by waiting
        pool.stamp = now


def _decay(policy: BudgetPolicy, row: TenantRow, now: float) -> float:
    if now > row.stamp:
        row.used *= math.exp(-(now - row.stamp) / policy.fairness_tau)
        row.stamp = now
    return row.used


def charge(policy: BudgetPolicy, priority: Priority, points: float) -> float:
    """What a grant takes from the bucket: the estimate, at most what the class may take
    from a full bucket; the rest of a lower class's large request becomes debt, which
    only the lower classes wait out (a page of 1,000 points does not stall a person's
    call, and the backfills still spend no faster than the refill). Interactive calls
    take all they ask from the bucket."""
    points = max(0.0, points)
    if priority == Priority.INTERACTIVE:
        return points
    return min(points, policy.capacity * (1 - policy.reserves[priority]))


def decide(
    policy: BudgetPolicy,
    pool: PoolRow,
    tenants: dict[TenantKey, TenantRow],
    tenant: str,
    priority: Priority,
    points: float,
    now: float,
) -> float:
    """Grant ``points`` to ``tenant`` now (0.0; the rows are charged) or say how long to
    wait before asking again (> 0; the tenant is marked waiting). Mutates the rows."""
    points = max(0.0, points)
    take = charge(policy, priority, points)
    _refill(policy, pool, now)
    key = (tenant, int(priority))
    me = tenants.setdefault(key, TenantRow(stamp=now))
    me.last_seen = now
    mine = _decay(policy, me, now)

    def waiting(row: TenantRow) -> bool:
        return row.waiting_since is not None and now - row.last_seen <= policy.active_after

    spent = pool.server_remaining == 0 and (pool.server_reset_at or 0.0) > now
    floor = policy.reserves[priority] * policy.capacity
    if priority == Priority.INTERACTIVE and not spent:
        # A backfill's request that cost more than guessed leaves a debt; a person's call
        # does not wait behind it, but may dip into half the margin (Jira's word still
        # caps the bucket: see `settle`).
        floor = -policy.overdraft
    needed = floor + min(points, policy.capacity - floor)
    wait = 0.0
    reason = None
    # Interactive calls see the bucket; lower classes see it less their unpaid debt.
    available = pool.tokens - (pool.debt if priority != Priority.INTERACTIVE else 0.0)
    if available < needed:
        wait = (needed - available) / policy.rate if policy.rate > 0 else policy.max_wait
        if spent:
            reason = "quota_spent"
        else:
            reason = "refill" if available < min(points, policy.capacity) else "reserve"
    elif (
        pool.server_remaining is not None
        and (pool.server_reset_at or 0.0) > now
        and pool.server_remaining - pool.inflight - take < 0
    ):
        # Jira's last figure is from before the requests still in flight, which it will
        # charge too (when answers are slow, pages granted near a window's end land after
        # it): what is left after them would not pay for this one. Their answers renew
        # the figure (a grant never answered fades from ``inflight``).
        wait = IN_FLIGHT_RECHECK
        reason = "in_flight"
    if any(p < priority and waiting(r) for (t, p), r in tenants.items()):
        wait = max(wait, 0.05)  # a higher class is waiting: it goes first
        reason = reason or "priority"
    else:
        slack = max(points, 1.0)
        if any(
            p == priority and t != tenant and waiting(r) and _decay(policy, r, now) + slack < mine
            for (t, p), r in tenants.items()
        ):
            wait = max(wait, 0.05)  # a lighter tenant of this class is waiting: its turn
            reason = reason or "fair_share"
    if wait > 0:
        if me.waiting_since is None:
            me.waiting_since = now
        wait = min(max(wait, 0.005), policy.max_wait)
        me.waited += wait
        me.waits += 1
        me.reason = reason
        return wait
    pool.tokens -= take
    pool.debt += points - take  # the rest of a large guess: the lower classes wait it out
    pool.granted += points
    pool.unsettled += points
    pool.inflight += points
    pool.requests += 1
    me.used += points
    me.granted += points
    me.requests += 1
    me.waiting_since = None
    return 0.0


def settle(
    policy: BudgetPolicy,
    pool: PoolRow,
    row: TenantRow | None,
    estimate: float,
    budget: PointsBudget | None,
    now: float,
    priority: Priority = Priority.INTERACTIVE,
) -> None:
    """After an answer: charge the real cost's difference, adopt Jira's view of the pool.

    A lower class's answer that cost more than its grant is its ``debt``: its classes wait
    it out at the refill rate while interactive calls go on (Jira's word still caps all)."""
    _refill(policy, pool, now)
    pool.unsettled = max(0.0, pool.unsettled - max(0.0, estimate))
    pool.inflight = max(0.0, pool.inflight - max(0.0, estimate))
    if budget is None:
        return
    if budget.cost is not None:
        extra = budget.cost - estimate
        if priority == Priority.INTERACTIVE:
            pool.tokens -= extra
        elif extra > 0:
            pool.debt += extra
        else:  # it cost less than guessed: the debt first, then the bucket
            repaid = min(pool.debt, -extra)
            pool.debt -= repaid
            pool.tokens += -extra - repaid
        pool.granted += extra
        if row is not None:
            _decay(policy, row, now)
            row.used += extra
            row.granted += extra
    if budget.remaining is not None and budget.reset_in is not None:
        pool.server_remaining = budget.remaining
        pool.server_reset_at = now + budget.reset_in
        if budget.spent:
            pool.tokens = min(pool.tokens, -policy.rate * budget.reset_in)
        else:
            # what the bucket would still hand out before the reset must fit in what is left
            # ... less the half of the margin interactive calls may not dip into
            ceiling = budget.remaining - policy.overdraft - policy.rate * budget.reset_in
            pool.tokens = min(pool.tokens, max(ceiling, -policy.rate * budget.reset_in))


@dataclass(frozen=True)
class BudgetSnapshot:
    """The budget's state: the pool and each tenant (per priority class)."""

    app: str
    points: int
    window: float
    rate: float
    capacity: float
    tokens: float
    granted: float
    requests: int
    server_remaining: int | None
    server_reset_in: float | None
    tenants: list[dict[str, Any]] = field(default_factory=list)
    debt: float = 0.0
    unsettled: float = 0.0
    inflight: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _snapshot(
    app: str,
    policy: BudgetPolicy,
    pool: PoolRow,
    tenants: dict[TenantKey, TenantRow],
    now: float,
) -> BudgetSnapshot:
    _refill(policy, pool, now)
    rows = []
    for (tenant, priority), row in sorted(tenants.items()):
        _decay(policy, row, now)
        rows.append(
            {
                "tenant": tenant,
                "priority": Priority(priority).name.lower(),
                "recent_points": round(row.used, 3),
                "granted_points": round(row.granted, 3),
                "requests": row.requests,
                "waited_seconds": round(row.waited, 3),
                "waiting": row.waiting_since is not None
                and now - row.last_seen <= policy.active_after,
                "last_seen_ago": round(now - row.last_seen, 3),
                "waits": row.waits,
                "last_wait_reason": row.reason,
            }
        )
    reset_in = None if pool.server_reset_at is None else max(0.0, pool.server_reset_at - now)
    return BudgetSnapshot(
        app=app,
        points=policy.points,
        window=policy.window,
        rate=policy.rate,
        capacity=policy.capacity,
        tokens=pool.tokens,
        granted=pool.granted,
        requests=pool.requests,
        server_remaining=pool.server_remaining,
        server_reset_in=reset_in,
        tenants=rows,
        debt=pool.debt,
        unsettled=pool.unsettled,
        inflight=pool.inflight,
    )


class Governor(ABC):
    """The budget of one app, shared by the handles it gives out."""

    def __init__(self, policy: BudgetPolicy, *, app: str, clock: Callable[[], float]) -> None:
        self.policy = policy
        self.app = app
        self.clock = clock

    def handle(
        self, tenant: str, priority: Priority | str = Priority.INTERACTIVE
    ) -> GovernorHandle:
        """A `jirakit.client.RateGovernor` for one tenant's requests of one class."""
        return GovernorHandle(self, tenant, Priority.parse(priority))

    @abstractmethod
    def acquire(self, tenant: str, priority: Priority, points: float) -> float: ...

    @abstractmethod
    def settle(
        self, tenant: str, priority: Priority, estimate: float, budget: PointsBudget | None
    ) -> None: ...

    @abstractmethod
    def snapshot(self) -> BudgetSnapshot: ...

    @abstractmethod
    def usage(self, since: float) -> list[UsageRecord]:
        """The usage history (every tenant, every class) in buckets starting at or after
        ``since`` (epoch seconds)."""

    def close(self) -> None:  # noqa: B027  (nothing to close by default)
        pass

    def tenant_view(self, tenant: str) -> dict[str, Any]:
        """``tenant``'s budget: see `tenant_budget`."""
        return tenant_budget(self, tenant)


class GovernorHandle:
    """What a client holds: the governor, bound to a tenant and a priority."""

    def __init__(self, governor: Governor, tenant: str, priority: Priority) -> None:
        self.governor = governor
        self.tenant = tenant
        self.priority = priority

    def acquire(self, points: float) -> float:
        return self.governor.acquire(self.tenant, self.priority, points)

    def settle(self, estimate: float, budget: PointsBudget | None) -> None:
        self.governor.settle(self.tenant, self.priority, estimate, budget)

    async def aacquire(self, points: float) -> float:
        if isinstance(self.governor, MemoryGovernor):
            return self.acquire(points)  # a lock held for microseconds: no thread needed
        return await asyncio.to_thread(self.acquire, points)

    async def asettle(self, estimate: float, budget: PointsBudget | None) -> None:
        if isinstance(self.governor, MemoryGovernor):
            self.settle(estimate, budget)
        else:
            await asyncio.to_thread(self.settle, estimate, budget)

    def __repr__(self) -> str:
        return f"GovernorHandle(tenant={self.tenant!r}, priority={self.priority.name})"


class MemoryGovernor(Governor):
    """The budget for the processes of one... process: a lock over the rows."""

    def __init__(
        self,
        policy: BudgetPolicy,
        *,
        app: str = "app",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(policy, app=app, clock=clock)
        self._lock = threading.Lock()
        self._pool = PoolRow(tokens=policy.capacity, stamp=clock())
        self._tenants: dict[TenantKey, TenantRow] = {}
        self._usage: dict[tuple[str, int, int], list[float]] = {}
        self._oldest = 0

    def _record(self, key: TenantKey, before: TenantRow | None, now: float) -> None:
        delta = _delta(before, self._tenants.get(key))
        if delta is None:
            return
        bucket = int(now // self.policy.bucket_seconds)
        cell = self._usage.setdefault((key[0], key[1], bucket), [0.0, 0.0, 0.0, 0.0])
        for i, d in enumerate(delta):
            cell[i] += d
        oldest = bucket - int(self.policy.history_seconds // self.policy.bucket_seconds) - 1
        if oldest > self._oldest:
            self._oldest = oldest
            for k in [k for k in self._usage if k[2] < oldest]:
                del self._usage[k]

    def acquire(self, tenant: str, priority: Priority, points: float) -> float:
        key = (tenant, int(priority))
        with self._lock:
            now = self.clock()
            before = _copy(self._tenants.get(key))
            wait = decide(self.policy, self._pool, self._tenants, tenant, priority, points, now)
            self._record(key, before, now)
            return wait

    def settle(
        self, tenant: str, priority: Priority, estimate: float, budget: PointsBudget | None
    ) -> None:
        key = (tenant, int(priority))
        with self._lock:
            now = self.clock()
            row = self._tenants.get(key)
            before = _copy(row)
            settle(self.policy, self._pool, row, estimate, budget, now, priority)
            self._record(key, before, now)

    def snapshot(self) -> BudgetSnapshot:
        with self._lock:
            return _snapshot(self.app, self.policy, self._pool, self._tenants, self.clock())

    def usage(self, since: float) -> list[UsageRecord]:
        first = int(since // self.policy.bucket_seconds)
        width = self.policy.bucket_seconds
        with self._lock:
            return [
                UsageRecord(t, p, b * width, *cell)
                for (t, p, b), cell in sorted(self._usage.items())
                if b >= first
            ]


_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.jirakit_budget_pool (
    app text PRIMARY KEY,
    tokens double precision NOT NULL,
    stamp double precision NOT NULL,
    granted double precision NOT NULL DEFAULT 0,
    requests bigint NOT NULL DEFAULT 0,
    server_remaining integer,
    server_reset_at double precision
);
CREATE TABLE IF NOT EXISTS {schema}.jirakit_budget_tenant (
    app text NOT NULL,
    tenant text NOT NULL,
    priority smallint NOT NULL,
    used double precision NOT NULL DEFAULT 0,
    stamp double precision NOT NULL DEFAULT 0,
    waiting_since double precision,
    last_seen double precision NOT NULL DEFAULT 0,
    granted double precision NOT NULL DEFAULT 0,
    requests bigint NOT NULL DEFAULT 0,
    waited double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (app, tenant, priority)
);
ALTER TABLE {schema}.jirakit_budget_pool ADD COLUMN IF NOT EXISTS debt double precision NOT NULL DEFAULT 0;
ALTER TABLE {schema}.jirakit_budget_pool ADD COLUMN IF NOT EXISTS unsettled double precision NOT NULL DEFAULT 0;
ALTER TABLE {schema}.jirakit_budget_pool ADD COLUMN IF NOT EXISTS inflight double precision NOT NULL DEFAULT 0;
ALTER TABLE {schema}.jirakit_budget_tenant ADD COLUMN IF NOT EXISTS waits bigint NOT NULL DEFAULT 0;
ALTER TABLE {schema}.jirakit_budget_tenant ADD COLUMN IF NOT EXISTS reason text;
CREATE TABLE IF NOT EXISTS {schema}.jirakit_budget_usage (
    app text NOT NULL,
    tenant text NOT NULL,
    priority smallint NOT NULL,
    bucket bigint NOT NULL,
    points double precision NOT NULL DEFAULT 0,
    requests double precision NOT NULL DEFAULT 0,
    waits double precision NOT NULL DEFAULT 0,
    waited double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (app, bucket, tenant, priority)
);
"""


class PostgresGovernor(Governor):
    """The budget in Postgres, shared by every process that opens it.

    Each decision is one transaction: the app's pool row locked ``FOR UPDATE`` (so
    decisions are serialised across processes), its tenant rows read, `decide` run, the
    changed rows written back. ``dsn``: a libpq connection string or URL; ``schema``: where
    the two tables live (created if missing). Thread-safe (one connection, one lock).
    """

    def __init__(
        self,
        dsn: str,
        policy: BudgetPolicy,
        *,
        app: str = "app",
        schema: str = "jirakit",
        clock: Callable[[], float] = time.time,
    ) -> None:
        import psycopg

        if not _IDENT.match(schema):
            raise ValueError(f"schema must be a plain lower-case identifier, not {schema!r}")
        super().__init__(policy, app=app, clock=clock)
        self.schema = schema
        self._pruned = -1
        self._lock = threading.Lock()
        self._conn = psycopg.connect(dsn, autocommit=False)
        with self._conn.transaction():
            # processes starting together would race on CREATE ... IF NOT EXISTS
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('jirakit_budget_schema'))")
            self._conn.execute(SCHEMA_SQL.format(schema=schema))
            self._conn.execute(
                f"INSERT INTO {schema}.jirakit_budget_pool (app, tokens, stamp) "
                "VALUES (%s, %s, %s) ON CONFLICT (app) DO NOTHING",
                (app, policy.capacity, clock()),
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PostgresGovernor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _rows(self) -> Iterator[tuple[PoolRow, dict[TenantKey, TenantRow]]]:
        s = self.schema
        with self._lock, self._conn.transaction():
            cur = self._conn.execute(
                f"SELECT tokens, stamp, granted, requests, server_remaining, server_reset_at, "
                f"debt, unsettled, inflight FROM {s}.jirakit_budget_pool WHERE app = %s FOR UPDATE",
                (self.app,),
            )
            found = cur.fetchone()
            if found is None:
                raise RuntimeError(f"the budget pool of app {self.app!r} is gone")
            pool = PoolRow(*found)
            rows = self._conn.execute(
                f"SELECT tenant, priority, used, stamp, waiting_since, last_seen, granted, "
                f"requests, waited, waits, reason FROM {s}.jirakit_budget_tenant WHERE app = %s",
                (self.app,),
            ).fetchall()
            tenants = {(r[0], int(r[1])): TenantRow(*r[2:]) for r in rows}
            before = {k: replace(v) for k, v in tenants.items()}
            yield pool, tenants
            self._conn.execute(
                f"UPDATE {s}.jirakit_budget_pool SET tokens = %s, stamp = %s, granted = %s, "
                "requests = %s, server_remaining = %s, server_reset_at = %s, debt = %s, "
                "unsettled = %s, inflight = %s WHERE app = %s",
                (
                    pool.tokens,
                    pool.stamp,
                    pool.granted,
                    pool.requests,
                    pool.server_remaining,
                    pool.server_reset_at,
                    pool.debt,
                    pool.unsettled,
                    pool.inflight,
                    self.app,
                ),
            )
            changed = [(k, v) for k, v in tenants.items() if before.get(k) != v]
            if changed:
                with self._conn.cursor() as cur2:
                    cur2.executemany(
                        f"INSERT INTO {s}.jirakit_budget_tenant (app, tenant, priority, used, "
                        "stamp, waiting_since, last_seen, granted, requests, waited, waits, "
                        "reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (app, tenant, priority) DO UPDATE SET used = EXCLUDED.used, "
                        "stamp = EXCLUDED.stamp, waiting_since = EXCLUDED.waiting_since, "
                        "last_seen = EXCLUDED.last_seen, granted = EXCLUDED.granted, "
                        "requests = EXCLUDED.requests, waited = EXCLUDED.waited, "
                        "waits = EXCLUDED.waits, reason = EXCLUDED.reason",
                        [
                            (
                                self.app,
                                t,
                                p,
                                r.used,
                                r.stamp,
                                r.waiting_since,
                                r.last_seen,
                                r.granted,
                                r.requests,
                                r.waited,
                                r.waits,
                                r.reason,
                            )
                            for (t, p), r in changed
                        ],
                    )
                self._record(before, changed)

    def _record(
        self, before: dict[TenantKey, TenantRow], changed: list[tuple[TenantKey, TenantRow]]
    ) -> None:
        """Add what the decision changed to the usage history (inside its transaction)."""
        now = self.clock()
        bucket = int(now // self.policy.bucket_seconds)
        rows = []
        for (tenant, priority), row in changed:
            delta = _delta(before.get((tenant, priority)), row)
            if delta is not None:
                rows.append((self.app, tenant, priority, bucket, *delta))
        if not rows:
            return
        s = self.schema
        with self._conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {s}.jirakit_budget_usage AS u (app, tenant, priority, bucket, "
                "points, requests, waits, waited) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (app, bucket, tenant, priority) DO UPDATE SET "
                "points = u.points + EXCLUDED.points, requests = u.requests + EXCLUDED.requests, "
                "waits = u.waits + EXCLUDED.waits, waited = u.waited + EXCLUDED.waited",
                rows,
            )
        if bucket != self._pruned:
            self._pruned = bucket
            oldest = bucket - int(self.policy.history_seconds // self.policy.bucket_seconds) - 1
            self._conn.execute(
                f"DELETE FROM {s}.jirakit_budget_usage WHERE app = %s AND bucket < %s",
                (self.app, oldest),
            )

    def usage(self, since: float) -> list[UsageRecord]:
        width = self.policy.bucket_seconds
        with self._lock, self._conn.transaction():
            rows = self._conn.execute(
                f"SELECT tenant, priority, bucket, points, requests, waits, waited "
                f"FROM {self.schema}.jirakit_budget_usage WHERE app = %s AND bucket >= %s "
                "ORDER BY tenant, priority, bucket",
                (self.app, int(since // width)),
            ).fetchall()
        return [UsageRecord(r[0], int(r[1]), int(r[2]) * width, *r[3:]) for r in rows]

    def acquire(self, tenant: str, priority: Priority, points: float) -> float:
        with self._rows() as (pool, tenants):
            return decide(self.policy, pool, tenants, tenant, priority, points, self.clock())

    def settle(
        self, tenant: str, priority: Priority, estimate: float, budget: PointsBudget | None
    ) -> None:
        with self._rows() as (pool, tenants):
            row = tenants.get((tenant, int(priority)))
            settle(self.policy, pool, row, estimate, budget, self.clock(), priority)

    def snapshot(self) -> BudgetSnapshot:
        with self._rows() as (pool, tenants):
            return _snapshot(self.app, self.policy, pool, tenants, self.clock())


# -- the budget as one tenant sees it --------------------------------------------------


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _sums(records: list[UsageRecord]) -> dict[str, float]:
    return {
        "points": round(sum(r.points for r in records), 3),
        "requests": int(sum(r.requests for r in records)),
        "waits": int(sum(r.waits for r in records)),
        "waited_seconds": round(sum(r.waited for r in records), 3),
    }


def tenant_budget(governor: Governor, tenant: str) -> dict[str, Any]:
    """The budget as ``tenant`` may see it: its own use and the pool's totals, never another
    tenant's numbers (plain JSON data; the service's ``GET /budget`` answers it and the
    dashboard charts ``series``).

    - ``pool``: the quota (``points`` per ``window_seconds``), the governor's pace
      (``rate_per_second``, ``capacity``, ``available`` in the bucket now), ``used`` in the
      last window by every tenant together, ``remaining`` in Jira's window (Jira's own
      figure when an answer carried one, else the quota less what the governor granted in
      the last window: ``remaining_source`` says which), and ``reset_in_seconds``/``reset_at``
      when Jira reported its reset.
    - ``windows``: for the last minute (when the window is longer) and the last window,
      the tenant's ``points``,
      ``requests``, ``waits`` (times told to wait) and ``waited_seconds``, and
      ``pool_points`` (all tenants).
    - ``priorities``: per class the tenant used (interactive, webhook, incremental,
      backfill): all-time ``granted_points``/``requests``/``waits``/``waited_seconds``,
      ``waiting`` now, and ``last_wait_reason`` (a code of `WAIT_REASONS`).
    - ``waiting``: whether any of its requests waits now, and why (``reason``/``explanation``).
    - ``series``: the last window in buckets (``start``, ``points``, ``pool_points``,
      ``waits``, ``waited_seconds``).
    """
    policy = governor.policy
    snap = governor.snapshot()
    now = governor.clock()
    width = policy.bucket_seconds
    history = governor.usage(now - policy.history_seconds)
    mine = [r for r in history if r.tenant == tenant]

    def since(records: list[UsageRecord], span: float) -> list[UsageRecord]:
        return [r for r in records if r.start + width > now - span]

    pool_used = sum(r.points for r in since(history, policy.window))
    if snap.server_remaining is not None and snap.server_reset_in is not None:
        remaining, source = float(snap.server_remaining), "jira"
    else:
        remaining, source = max(0.0, policy.points - pool_used), "estimate"
    windows = []
    for span in sorted({min(60.0, policy.window), policy.window}):
        row: dict[str, Any] = {"window_seconds": span, **_sums(since(mine, span))}
        row["pool_points"] = round(sum(r.points for r in since(history, span)), 3)
        windows.append(row)
    classes = [r for r in snap.tenants if r["tenant"] == tenant]
    waiting = [r for r in classes if r["waiting"]]
    reason = waiting[0]["last_wait_reason"] if waiting else None
    first = int((now - policy.window) // width) + 1
    last = int(now // width)
    by_bucket: dict[int, list[UsageRecord]] = {}
    pool_by_bucket: dict[int, float] = {}
    for r in history:
        b = round(r.start / width)
        pool_by_bucket[b] = pool_by_bucket.get(b, 0.0) + r.points
        if r.tenant == tenant:
            by_bucket.setdefault(b, []).append(r)
    series = [
        {
            "start": _iso(b * width),
            **{k: v for k, v in _sums(by_bucket.get(b, [])).items() if k != "requests"},
            "pool_points": round(pool_by_bucket.get(b, 0.0), 3),
        }
        for b in range(first, last + 1)
    ]
    return {
        "tenant": tenant,
        "as_of": _iso(now),
        "pool": {
            "app": snap.app,
            "points": snap.points,
            "window_seconds": snap.window,
            "rate_per_second": round(snap.rate, 3),
            "capacity": round(snap.capacity, 3),
            "available": round(max(0.0, snap.tokens), 3),
            "used": round(pool_used, 3),
            "remaining": round(remaining, 3),
            "remaining_source": source,
            "reset_in_seconds": None
            if snap.server_reset_in is None
            else round(snap.server_reset_in, 3),
            "reset_at": None if snap.server_reset_in is None else _iso(now + snap.server_reset_in),
        },
        "windows": windows,
        "priorities": [
            {
                "priority": r["priority"],
                "granted_points": r["granted_points"],
                "requests": r["requests"],
                "waits": r["waits"],
                "waited_seconds": r["waited_seconds"],
                "waiting": r["waiting"],
                "last_wait_reason": r["last_wait_reason"],
            }
            for r in classes
        ],
        "waiting": {
            "now": bool(waiting),
            "reason": reason,
            "explanation": WAIT_REASONS.get(reason) if reason else None,
        },
        "series": series,
    }


# -- one setting: which governor a process uses --------------------------------------

GOVERNOR_ENV = "JIRAKIT_GOVERNOR"
"""``memory`` (the default: one budget per process), ``postgresql://...`` (one budget shared
by every ``jirakit serve`` and ``jirakit worker`` given the same URL), or ``off``."""


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def open_governor(
    spec: str | None = None,
    *,
    points: int | None = None,
    window: float | None = None,
    app: str | None = None,
    schema: str | None = None,
) -> Governor | None:
    """The governor ``spec`` names (else ``JIRAKIT_GOVERNOR``): ``memory`` (default),
    ``off`` (None: clients pace themselves), or a ``postgresql://`` URL. The quota is
    ``points`` per ``window`` seconds (else ``JIRAKIT_GOVERNOR_POINTS``, 65000, and
    ``JIRAKIT_GOVERNOR_WINDOW``, 3600: Jira's default tier; ``JIRAKIT_GOVERNOR_BURST`` and
    ``_MARGIN`` override `BudgetPolicy`'s shares); ``app`` names the pool
    (``JIRAKIT_GOVERNOR_APP``; one per OAuth app), ``schema`` where its tables live
    (``JIRAKIT_GOVERNOR_SCHEMA``, default ``jirakit``)."""
    raw = spec if spec is not None else os.environ.get(GOVERNOR_ENV, "")
    kind = raw.strip() or "memory"
    defaults = BudgetPolicy()
    policy = BudgetPolicy(
        points=int(points if points is not None else _env_number(f"{GOVERNOR_ENV}_POINTS", 65000)),
        window=window if window is not None else _env_number(f"{GOVERNOR_ENV}_WINDOW", 3600.0),
        burst=_env_number(f"{GOVERNOR_ENV}_BURST", defaults.burst),
        margin=_env_number(f"{GOVERNOR_ENV}_MARGIN", defaults.margin),
    )
    app = app or os.environ.get(f"{GOVERNOR_ENV}_APP", "").strip() or "app"
    if kind.lower() in ("off", "none"):
        return None
    if kind.lower() == "memory":
        return MemoryGovernor(policy, app=app)
    if kind.startswith(("postgresql://", "postgres://")):
        schema = schema or os.environ.get(f"{GOVERNOR_ENV}_SCHEMA", "").strip() or "jirakit"
        return PostgresGovernor(
            kind.replace("postgres://", "postgresql://", 1), policy, app=app, schema=schema
        )
    raise ValueError(
        f"{GOVERNOR_ENV}: use memory, off or postgresql://user@host/db, not {kind.split(':')[0]!r}"
    )


_process: dict[str, Governor | None] = {}
_process_lock = threading.Lock()


def process_governor() -> Governor | None:
    """This process's governor, opened once from the environment (`open_governor`)."""
    key = "|".join(
        os.environ.get(f"{GOVERNOR_ENV}{suffix}", "")
        for suffix in ("", "_POINTS", "_WINDOW", "_BURST", "_MARGIN", "_APP", "_SCHEMA")
    )
    with _process_lock:
        if key not in _process:
            for old in _process.values():
                if old is not None:
                    old.close()
            _process.clear()
            _process[key] = open_governor()
        return _process[key]


def governs(url: str) -> bool:
    """Whether requests to ``url`` spend the points quota: an OAuth app's, which reach
    Jira Cloud as ``https://api.atlassian.com/ex/jira/{cloudId}`` (API tokens and Data
    Center keep only burst limits, so a governor would only slow them down)."""
    return "/ex/jira/" in urlsplit(url).path + "/"


def governed_handle(tenant: str, url: str, priority: Priority) -> GovernorHandle | None:
    """This process's handle for ``tenant``'s requests to ``url`` at ``priority``; None
    when they do not spend the points budget (`governs`) or the governor is off."""
    if not governs(url):
        return None
    governor = process_governor()
    return None if governor is None else governor.handle(tenant, priority)


def sync_handle(tenant: str, url: str) -> GovernorHandle | None:
    """The handle a sync of ``tenant``'s site at ``url`` takes (None: not governed).
    Its priority starts as ``BACKFILL``; `sync_priority` tells once the warehouse is read."""
    return governed_handle(tenant, url, Priority.BACKFILL)


def sync_priority(jira: Jira, warehouse: Warehouse) -> Priority:
    """``INCREMENTAL`` when the warehouse holds a committed load with issues of this site,
    else ``BACKFILL`` (a first or full load: it slows down rather than fails)."""
    from jirakit.sync import state as sync_state

    site = sync_state.site_identity(jira.base_url)
    seen = sync_state.inspect(warehouse, sync_state.pipeline_name(site, warehouse))
    if not seen.known or (seen.committed and seen.issues):
        return Priority.INCREMENTAL
    return Priority.BACKFILL
