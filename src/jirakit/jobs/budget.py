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
  backfills take the steady refill and leave the bucket's top for interactive calls.
  Nothing fails: a denied request is told to ask again after a wait.
- **Fair share**: within a class, when several tenants are waiting, the one that used the
  least recently (usage decays with ``fairness_tau``) goes first; one tenant's backfill
  cannot take a turn while a lighter tenant of the same class waits.
- **Jira's word wins**: after each answer the client reports the budget Jira sent
  (``Beta-RateLimit``: points left, seconds to reset) and, where known, the real cost; the
  bucket is corrected by the real cost and capped so that what it would still hand out
  before the reset fits in what Jira says is left. A quota 429 empties it until the reset.

`Governor.handle(tenant, priority)` gives the `jirakit.client.RateGovernor` a client takes
(``Jira(..., governor=handle)``); `Governor.snapshot()` is the per-tenant state (the
service exposes it as an endpoint, the dashboard charts it).
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

from jirakit.client import PointsBudget

__all__ = [
    "BudgetPolicy",
    "BudgetSnapshot",
    "Governor",
    "GovernorHandle",
    "MemoryGovernor",
    "PoolRow",
    "PostgresGovernor",
    "Priority",
    "TenantRow",
    "decide",
    "settle",
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
    ``max_wait``: the longest "ask again" (so a waiter re-checks its turn)."""

    points: int = 65_000
    window: float = 3600.0
    burst: float = 0.05
    margin: float = 0.03
    reserves: tuple[float, float, float, float] = (0.0, 0.2, 0.4, 0.6)
    fairness_tau: float = 60.0
    active_after: float = 3.0
    max_wait: float = 2.0
    min_capacity: float = 120.0

    def __post_init__(self) -> None:
        if self.points < 1 or not self.window > 0:
            raise ValueError("points must be >= 1 and window > 0 seconds")
        if not 0 < self.burst < 1 or not 0 <= self.margin < 1 or self.burst + self.margin >= 1:
            raise ValueError("burst and margin must be shares of the quota, burst + margin < 1")

    @property
    def capacity(self) -> float:
        return min(max(self.burst * self.points, self.min_capacity), 0.5 * self.points)

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


TenantKey = tuple[str, int]


def _refill(policy: BudgetPolicy, pool: PoolRow, now: float) -> None:
    if now > pool.stamp:
        pool.tokens = min(policy.capacity, pool.tokens + (now - pool.stamp) * policy.rate)
        pool.stamp = now


def _decay(policy: BudgetPolicy, row: TenantRow, now: float) -> float:
    if now > row.stamp:
        row.used *= math.exp(-(now - row.stamp) / policy.fairness_tau)
        row.stamp = now
    return row.used


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
    _refill(policy, pool, now)
    key = (tenant, int(priority))
    me = tenants.setdefault(key, TenantRow(stamp=now))
    me.last_seen = now
    mine = _decay(policy, me, now)

    def waiting(row: TenantRow) -> bool:
        return row.waiting_since is not None and now - row.last_seen <= policy.active_after

    floor = policy.reserves[priority] * policy.capacity
    needed = floor + min(points, policy.capacity - floor)
    wait = 0.0
    if pool.tokens < needed:
        wait = (needed - pool.tokens) / policy.rate if policy.rate > 0 else policy.max_wait
    if any(p < priority and waiting(r) for (t, p), r in tenants.items()):
        wait = max(wait, 0.05)  # a higher class is waiting: it goes first
    else:
        slack = max(points, 1.0)
        if any(
            p == priority and t != tenant and waiting(r) and _decay(policy, r, now) + slack < mine
            for (t, p), r in tenants.items()
        ):
            wait = max(wait, 0.05)  # a lighter tenant of this class is waiting: its turn
    if wait > 0:
        if me.waiting_since is None:
            me.waiting_since = now
        wait = min(max(wait, 0.005), policy.max_wait)
        me.waited += wait
        return wait
    pool.tokens -= points
    pool.granted += points
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
) -> None:
    """After an answer: charge the real cost's difference, adopt Jira's view of the pool."""
    _refill(policy, pool, now)
    if budget is None:
        return
    if budget.cost is not None:
        extra = budget.cost - estimate
        pool.tokens -= extra
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
            ceiling = budget.remaining - policy.rate * budget.reset_in
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

    def acquire(self, tenant: str, priority: Priority, points: float) -> float:
        with self._lock:
            return decide(
                self.policy, self._pool, self._tenants, tenant, priority, points, self.clock()
            )

    def settle(
        self, tenant: str, priority: Priority, estimate: float, budget: PointsBudget | None
    ) -> None:
        with self._lock:
            row = self._tenants.get((tenant, int(priority)))
            settle(self.policy, self._pool, row, estimate, budget, self.clock())

    def snapshot(self) -> BudgetSnapshot:
        with self._lock:
            return _snapshot(self.app, self.policy, self._pool, self._tenants, self.clock())


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
                f"SELECT tokens, stamp, granted, requests, server_remaining, server_reset_at "
                f"FROM {s}.jirakit_budget_pool WHERE app = %s FOR UPDATE",
                (self.app,),
            )
            found = cur.fetchone()
            if found is None:
                raise RuntimeError(f"the budget pool of app {self.app!r} is gone")
            pool = PoolRow(*found)
            rows = self._conn.execute(
                f"SELECT tenant, priority, used, stamp, waiting_since, last_seen, granted, "
                f"requests, waited FROM {s}.jirakit_budget_tenant WHERE app = %s",
                (self.app,),
            ).fetchall()
            tenants = {(r[0], int(r[1])): TenantRow(*r[2:]) for r in rows}
            before = {k: asdict(v) for k, v in tenants.items()}
            yield pool, tenants
            self._conn.execute(
                f"UPDATE {s}.jirakit_budget_pool SET tokens = %s, stamp = %s, granted = %s, "
                "requests = %s, server_remaining = %s, server_reset_at = %s WHERE app = %s",
                (
                    pool.tokens,
                    pool.stamp,
                    pool.granted,
                    pool.requests,
                    pool.server_remaining,
                    pool.server_reset_at,
                    self.app,
                ),
            )
            changed = [(k, v) for k, v in tenants.items() if before.get(k) != asdict(v)]
            if changed:
                with self._conn.cursor() as cur2:
                    cur2.executemany(
                        f"INSERT INTO {s}.jirakit_budget_tenant (app, tenant, priority, used, "
                        "stamp, waiting_since, last_seen, granted, requests, waited) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (app, tenant, priority) DO UPDATE SET used = EXCLUDED.used, "
                        "stamp = EXCLUDED.stamp, waiting_since = EXCLUDED.waiting_since, "
                        "last_seen = EXCLUDED.last_seen, granted = EXCLUDED.granted, "
                        "requests = EXCLUDED.requests, waited = EXCLUDED.waited",
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
                            )
                            for (t, p), r in changed
                        ],
                    )

    def acquire(self, tenant: str, priority: Priority, points: float) -> float:
        with self._rows() as (pool, tenants):
            return decide(self.policy, pool, tenants, tenant, priority, points, self.clock())

    def settle(
        self, tenant: str, priority: Priority, estimate: float, budget: PointsBudget | None
    ) -> None:
        if budget is None:
            return
        with self._rows() as (pool, tenants):
            row = tenants.get((tenant, int(priority)))
            settle(self.policy, pool, row, estimate, budget, self.clock())

    def snapshot(self) -> BudgetSnapshot:
        with self._rows() as (pool, tenants):
            return _snapshot(self.app, self.policy, pool, tenants, self.clock())
