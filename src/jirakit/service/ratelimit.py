"""Per-tenant rate limit on our API: a token bucket per tenant.

One machine (SQLite) keeps the buckets in the process (`TenantLimiter`). Scaled out on
Postgres, every `jirakit serve` takes from one bucket per tenant in the database
(`SharedTenantLimiter`): a tenant the load balancer spreads over N processes gets the
limit once, not N times. The shared Jira budget is the jobs governor's concern.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError


class TenantLimiter:
    """The buckets in this process. ``blocking``: `take` makes no I/O."""

    blocking = False

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, tenant_id: str) -> float:
        """0 if the request may go ahead, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(tenant_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[tenant_id] = (tokens - 1, now)
                return 0.0
            self._buckets[tenant_id] = (tokens, now)
            return (1 - tokens) / self.rate


# One statement per request: refill by the time since the bucket's last request, by the
# database's clock (processes on machines whose clocks differ still agree), then take a
# token if there is one. The row lock ON CONFLICT takes serializes a tenant's requests
# across processes; other tenants' rows are not touched.
_TAKE = text(
    """
    WITH now AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS s)
    INSERT INTO api_rate_buckets AS b (tenant_id, tokens, at, allowed)
    SELECT :tenant, :burst - 1, now.s, true FROM now
    ON CONFLICT (tenant_id) DO UPDATE SET (tokens, at, allowed) = (
        SELECT CASE WHEN r >= 1 THEN r - 1 ELSE r END, s, r >= 1
        FROM (
            SELECT least(:burst, b.tokens + greatest(0, now.s - b.at) * :rate) AS r, now.s
            FROM now
        ) AS refill
    )
    RETURNING tokens, allowed
    """
)


class SharedTenantLimiter:
    """The buckets in the service's Postgres database (`models.RateBucket`), shared by
    every process on it. ``blocking``: `take` makes a round trip (run it off the loop)."""

    blocking = True

    def __init__(self, engine: Engine, rate: float, burst: float | None = None) -> None:
        self.engine = engine
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)

    def take(self, tenant_id: str) -> float:
        """0 if the request may go ahead, else the seconds until it may. Raises
        `UnknownTenant` when the tenant is gone (deleted while its key was cached)."""
        if self.rate <= 0:
            return 0.0
        try:
            with self.engine.begin() as conn:
                # A bucket lost in a crash costs a few requests' worth of tokens, not data:
                # this commit need not wait for the disk.
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                tokens, allowed = conn.execute(
                    _TAKE, {"tenant": tenant_id, "burst": self.burst, "rate": self.rate}
                ).one()
        except IntegrityError as exc:  # the foreign key: no such tenant any more
            raise UnknownTenant(tenant_id) from exc
        return 0.0 if allowed else (1 - float(tokens)) / self.rate


class UnknownTenant(LookupError):
    """The tenant a cached API key named no longer exists."""


def limiter_for(engine: Engine, rate: float) -> TenantLimiter | SharedTenantLimiter:
    """The shared buckets on Postgres (scale-out), the process's own on SQLite."""
    if engine.dialect.name == "postgresql":
        return SharedTenantLimiter(engine, rate)
    return TenantLimiter(rate)
