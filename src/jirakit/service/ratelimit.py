"""Per-tenant rate limit on our API: a token bucket per tenant, per process.

Scaled out to N processes, each enforces the limit on what it serves (the load balancer
spreads a tenant over them); the shared Jira budget is the jobs governor's concern.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TenantLimiter:
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
